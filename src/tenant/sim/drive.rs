//! OneDrive (docs/microsoft-365-api.md §6): drives, delta paging with opaque links, downloads of
//! content generated deterministically from item id and size, and idempotent invites.

use super::errors;
use super::state::{DriveState, ItemState, State};
use crate::ids::{DriveId, UserId};
use crate::tenant::{
    DeltaPage, Drive, DriveItem, DrivePermission, FileHashes, TenantError, TenantResult,
};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// The content of a simulated file: SHA-256 blocks of (item id, block number), cut to `size`.
pub fn content(item_id: &str, size: u64) -> Vec<u8> {
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(size.min(64 * 1024 * 1024));
    let mut block: u64 = 0;
    while out.len() < size {
        let mut h = Sha256::new();
        h.update(item_id.as_bytes());
        h.update(block.to_le_bytes());
        let digest = h.finalize();
        let take = (size - out.len()).min(digest.len());
        out.extend_from_slice(&digest[..take]);
        block += 1;
    }
    out
}

/// Lower-case hex SHA-256 of `content(item_id, size)`.
pub fn content_sha256(item_id: &str, size: u64) -> String {
    hex::encode(Sha256::digest(content(item_id, size)))
}

fn link(drive: &DriveId, token: &str) -> String {
    format!(
        "https://graph.microsoft.com/v1.0/drives/{drive}/root/delta?token={}",
        hex::encode(token)
    )
}

/// The token inside a link this tenant issued: `(kind, offset)`.
fn parse_link(drive: &DriveId, link: &str) -> Option<(String, usize)> {
    let token = link.split("token=").nth(1)?;
    let raw = String::from_utf8(hex::decode(token).ok()?).ok()?;
    let mut parts = raw.rsplitn(3, '|');
    let offset = parts.next()?.parse().ok()?;
    let kind = parts.next()?.to_string();
    (parts.next()? == drive.as_str()).then_some((kind, offset))
}

fn item_view(i: &ItemState) -> DriveItem {
    DriveItem {
        id: i.id.clone(),
        name: i.name.clone(),
        parent_id: i.parent_id.clone(),
        size: i.size,
        is_folder: i.is_folder,
        is_root: i.parent_id.is_none(),
        deleted: false,
        hashes: FileHashes {
            quick_xor_hash: None,
            sha256_hash: i.sha256.clone(),
        },
    }
}

impl State {
    fn drive_ref(&self, drive: &DriveId) -> TenantResult<&DriveState> {
        self.drives
            .get(drive)
            .ok_or_else(|| TenantError::not_found(drive.as_str()))
    }

    pub fn get_drive(&self, user: &UserId) -> TenantResult<Drive> {
        let id = self.active_id(user.as_str())?;
        let d = self.drive_of(&id).ok_or_else(errors::drive_not_found)?;
        Ok(Drive {
            id: d.id.clone(),
            owner: d.owner.clone(),
            web_url: d.web_url.clone(),
            quota_used: d.items.iter().map(|i| i.size).sum(),
        })
    }

    /// §6.2: pages of `delta_page_size`; the last page carries a delta link, and a delta
    /// link returns the (here: no) changes since.
    pub fn drive_delta(&self, drive: &DriveId, link_in: Option<&str>) -> TenantResult<DeltaPage> {
        let d = self.drive_ref(drive)?;
        let (kind, offset) = match link_in {
            None => ("page".to_string(), 0),
            Some(l) => parse_link(drive, l).ok_or_else(|| {
                TenantError::new(
                    crate::tenant::ErrorKind::BadRequest,
                    "resyncRequired",
                    "The provided delta token is invalid or has expired; start a new enumeration.",
                )
            })?,
        };
        if kind == "delta" {
            return Ok(DeltaPage {
                items: Vec::new(),
                next_link: None,
                delta_link: Some(link(drive, &format!("{drive}|delta|{}", d.items.len()))),
            });
        }
        let size = self.delta_page_size.max(1);
        let end = (offset + size).min(d.items.len());
        let items = d.items.get(offset..end).unwrap_or_default();
        let (next_link, delta_link) = if end < d.items.len() {
            (Some(link(drive, &format!("{drive}|page|{end}"))), None)
        } else {
            (None, Some(link(drive, &format!("{drive}|delta|{end}"))))
        };
        Ok(DeltaPage {
            items: items.iter().map(item_view).collect(),
            next_link,
            delta_link,
        })
    }

    pub fn download(
        &mut self,
        drive: &DriveId,
        item_id: &str,
        now: DateTime<Utc>,
    ) -> TenantResult<Vec<u8>> {
        let d = self
            .drives
            .get_mut(drive)
            .ok_or_else(|| TenantError::not_found(drive.as_str()))?;
        let item = d
            .items
            .iter_mut()
            .find(|i| i.id == item_id)
            .ok_or_else(errors::item_not_found)?;
        if item.is_folder {
            return Err(errors::invalid_request(format!(
                "Item '{item_id}' is a folder; only files can be downloaded."
            )));
        }
        item.last_downloaded = Some(now);
        let bytes = content(&item.id, item.size);
        *self
            .downloads
            .entry(format!("{drive}/{item_id}"))
            .or_insert(0) += 1;
        Ok(bytes)
    }

    /// §6.4: the same recipient and role returns the existing permission.
    pub fn invite(
        &mut self,
        drive: &DriveId,
        item_id: &str,
        recipient: &str,
        role: &str,
    ) -> TenantResult<DrivePermission> {
        let recipient = recipient.trim();
        if role != "read" && role != "write" {
            return Err(errors::invalid_request(format!(
                "Invalid role '{role}'; use 'read' or 'write'."
            )));
        }
        if recipient.is_empty() || !recipient.contains('@') {
            return Err(errors::invalid_request(format!(
                "Invalid recipient '{recipient}'; give an email address."
            )));
        }
        let d = self
            .drives
            .get_mut(drive)
            .ok_or_else(|| TenantError::not_found(drive.as_str()))?;
        if !d.items.iter().any(|i| i.id == item_id) {
            return Err(errors::item_not_found());
        }
        let existing = d.permissions.iter().find(|(item, p)| {
            item == item_id
                && p.granted_to.eq_ignore_ascii_case(recipient)
                && p.roles.iter().any(|r| r == role)
        });
        if let Some((_, p)) = existing {
            return Ok(p.clone());
        }
        let seed = format!(
            "{drive}|{item_id}|{}|{role}",
            recipient.to_ascii_lowercase()
        );
        let perm = DrivePermission {
            id: hex::encode(&Sha256::digest(seed.as_bytes())[..18]),
            roles: vec![role.to_string()],
            granted_to: recipient.to_string(),
        };
        d.permissions.push((item_id.to_string(), perm.clone()));
        Ok(perm)
    }

    pub fn list_permissions(
        &self,
        drive: &DriveId,
        item_id: &str,
    ) -> TenantResult<Vec<DrivePermission>> {
        let d = self.drive_ref(drive)?;
        if !d.items.iter().any(|i| i.id == item_id) {
            return Err(errors::item_not_found());
        }
        Ok(d.permissions
            .iter()
            .filter(|(item, _)| item == item_id)
            .map(|(_, p)| p.clone())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_deterministic_and_sized() {
        let a = content("01ABC", 1000);
        assert_eq!(a.len(), 1000);
        assert_eq!(a, content("01ABC", 1000));
        assert_ne!(a, content("01ABD", 1000));
        assert_eq!(
            content_sha256("01ABC", 1000),
            hex::encode(Sha256::digest(&a))
        );
        assert!(content("x", 0).is_empty());
    }

    #[test]
    fn links_round_trip_and_reject_other_drives() {
        let d = DriveId::new("b!one");
        let l = link(&d, "b!one|page|400");
        assert_eq!(parse_link(&d, &l), Some(("page".into(), 400)));
        assert_eq!(parse_link(&DriveId::new("b!two"), &l), None);
        assert_eq!(parse_link(&d, "https://x/?token=zz"), None);
    }
}
