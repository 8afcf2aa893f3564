//! Enumerating a OneDrive with delta (every page, last occurrence of an item wins) and
//! turning parent ids into safe relative paths: a name can never escape the backup folder.

use super::StepOutcome;
use crate::ids::DriveId;
use crate::tenant::{DriveItem, Tenant};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Upper bound on delta pages, so a service that never ends paging cannot loop us forever.
const MAX_PAGES: usize = 100_000;
/// Upper bound on folder depth (cycles in parent ids end here).
const MAX_DEPTH: usize = 512;

/// Every live item of the drive (deleted ones dropped), by id.
pub(crate) async fn enumerate(
    tenant: &dyn Tenant,
    drive: &DriveId,
    upn: &str,
) -> Result<HashMap<String, DriveItem>, StepOutcome> {
    let mut items: HashMap<String, DriveItem> = HashMap::new();
    let mut link: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = match tenant.drive_delta(drive, link.as_deref()).await {
            Ok(p) => p,
            Err(e) => {
                return Err(StepOutcome::from_error(
                    &format!("listing the OneDrive of {upn} (drive {drive})"),
                    e,
                ));
            }
        };
        for item in page.items {
            if item.deleted {
                items.remove(&item.id);
            } else {
                items.insert(item.id.clone(), item);
            }
        }
        match (page.next_link, page.delta_link) {
            (Some(next), _) if Some(&next) != link.as_ref() => link = Some(next),
            (Some(_), _) => {
                return Err(StepOutcome::Retry {
                    after: None,
                    reason: format!(
                        "listing the OneDrive of {upn}: the service returned the same next page twice"
                    ),
                });
            }
            (None, _) => return Ok(items),
        }
    }
    Err(StepOutcome::failed(format!(
        "listing the OneDrive of {upn}: more than {MAX_PAGES} delta pages; back it up by hand"
    )))
}

/// The id of the drive's root item.
pub(crate) fn root_id(items: &HashMap<String, DriveItem>) -> Option<String> {
    items.values().find(|i| i.is_root).map(|i| i.id.clone())
}

/// Whether the drive holds at least one file.
pub(crate) fn has_files(items: &HashMap<String, DriveItem>) -> bool {
    items.values().any(|i| !i.is_folder && !i.is_root)
}

/// One path component made safe: no separators, NUL, control characters, `.` or `..`.
pub(crate) fn safe_component(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned.trim();
    match trimmed {
        "" => "_".to_string(),
        "." | ".." => format!("_{trimmed}"),
        _ => cleaned,
    }
}

/// A file to back up with its relative path (components joined by `/`).
#[derive(Debug, Clone)]
pub(crate) struct FileEntry {
    pub path: String,
    pub item: DriveItem,
}

/// Relative paths for every file, built from parent ids. Paths are unique: when two items
/// map to the same path, the later ones (by item id) get ` (<item id>)` appended.
pub(crate) fn file_paths(items: &HashMap<String, DriveItem>) -> Result<Vec<FileEntry>, String> {
    let mut by_path: BTreeMap<String, Vec<&DriveItem>> = BTreeMap::new();
    for item in items.values().filter(|i| !i.is_folder && !i.is_root) {
        let mut parts = vec![safe_component(&item.name)];
        let mut parent = item.parent_id.clone();
        let mut depth = 0;
        while let Some(pid) = parent {
            let p = items.get(&pid).ok_or_else(|| {
                format!(
                    "item {} ({}) has a parent {pid} the listing does not contain",
                    item.id, item.name
                )
            })?;
            if p.is_root {
                break;
            }
            depth += 1;
            if depth > MAX_DEPTH {
                return Err(format!(
                    "item {} is nested deeper than {MAX_DEPTH} folders (or in a cycle)",
                    item.id
                ));
            }
            parts.push(safe_component(&p.name));
            parent = p.parent_id.clone();
        }
        parts.reverse();
        by_path.entry(parts.join("/")).or_default().push(item);
    }
    let mut taken: BTreeSet<String> = by_path.keys().cloned().collect();
    let mut out = Vec::new();
    for (path, mut list) in by_path {
        list.sort_by(|a, b| a.id.cmp(&b.id));
        for (n, item) in list.into_iter().enumerate() {
            let p = if n == 0 {
                path.clone()
            } else {
                let alt = format!("{path} ({})", safe_component(&item.id));
                if !taken.insert(alt.clone()) {
                    return Err(format!("two files would both be saved as {alt}"));
                }
                alt
            };
            out.push(FileEntry {
                path: p,
                item: item.clone(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, name: &str, parent: Option<&str>, folder: bool) -> DriveItem {
        DriveItem {
            id: id.into(),
            name: name.into(),
            parent_id: parent.map(Into::into),
            size: 1,
            is_folder: folder,
            is_root: id == "root",
            deleted: false,
            hashes: Default::default(),
        }
    }

    #[test]
    fn unsafe_names_stay_inside_and_collisions_get_unique_paths() {
        let list = [
            item("root", "root", None, true),
            item("f", "..", Some("root"), true),
            item("a", "../../etc/passwd", Some("f"), false),
            item("b", "x\0y", Some("root"), false),
            item("c", "a_b", Some("root"), false),
            item("d", "a/b", Some("root"), false),
        ];
        let map: HashMap<_, _> = list.into_iter().map(|i| (i.id.clone(), i)).collect();
        let mut paths: Vec<String> = file_paths(&map)
            .unwrap()
            .into_iter()
            .map(|e| e.path)
            .collect();
        paths.sort();
        assert_eq!(paths, vec!["_../.._.._etc_passwd", "a_b", "a_b (d)", "x_y"]);
        for p in &paths {
            assert!(p.split('/').all(|c| c != ".." && c != "." && !c.is_empty()));
        }
    }

    #[test]
    fn missing_parent_is_an_error() {
        let map: HashMap<_, _> = [item("a", "x", Some("gone"), false)]
            .into_iter()
            .map(|i| (i.id.clone(), i))
            .collect();
        assert!(file_paths(&map).is_err());
    }
}
