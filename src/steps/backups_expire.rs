//! `backups.expire`: deletes the OneDrive backups `onedrive.backup` wrote
//! (`<backup_dir>/<userId>/<driveId>/` with a `manifest.json` naming that user and drive)
//! once they are older than `retention` (default 365 days). Nothing else under the backup
//! folder is touched: folders without a readable manifest (a backup in progress, someone
//! else's files) stay. An expired backup is first renamed into `<backup_dir>/.expired/`, then
//! deleted, so a crash half-way is finished by the next run; its `backup/{userId}` fact goes.

use super::backup_files::Manifest;
use super::drive_walk::safe_component;
use super::retention::{BackupFact, backup_key, ledger_retry};
use super::{FactWrite, StepContext, StepOutcome, StepReport, param};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const PARAMS: &[&str] = &["retention"];

const DEFAULT_RETENTION: Duration = Duration::from_secs(365 * 24 * 3600);
/// Where expired backups wait for deletion (never a user id: those are GUIDs).
const TRASH: &str = ".expired";

/// A completed backup found on disk.
#[derive(Debug, Clone)]
struct Found {
    /// `<userId>/<driveId>` relative to the backup folder.
    rel: (String, String),
    completed_at: DateTime<Utc>,
}

/// An expired backup, deleted.
#[derive(Debug, Clone)]
struct Removed {
    location: PathBuf,
    manifest: Option<Manifest>,
    completed_at: Option<DateTime<Utc>>,
    files: u64,
    bytes: u64,
}

#[derive(Debug, Default)]
struct Sweep {
    kept: usize,
    skipped: Vec<String>,
    removed: Vec<Removed>,
}

pub async fn run(ctx: &StepContext<'_>, _tenant: &dyn crate::tenant::Tenant) -> StepOutcome {
    let retention = match param::duration(ctx, "retention", DEFAULT_RETENTION) {
        Ok(d) => d,
        Err(e) => return StepOutcome::failed(format!("{e}; fix the workflow file")),
    };
    let Ok(retention_c) = chrono::Duration::from_std(retention) else {
        return StepOutcome::failed("parameter `retention` is too long");
    };
    let cutoff = ctx.now - retention_c;
    let root = ctx.env.backup_dir.clone();
    let work = {
        let root = root.clone();
        tokio::task::spawn_blocking(move || expire(&root, cutoff))
    };
    let sweep = match work.await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return StepOutcome::failed(format!(
                "expiring backups under {}: {e}. Check the folder's permissions, then restart the step",
                root.display()
            ));
        }
        Err(e) => return StepOutcome::failed(format!("the backup expiry task stopped: {e}")),
    };

    let mut facts = Vec::new();
    let mut changed = Vec::new();
    let mut removed = Vec::new();
    for r in &sweep.removed {
        let original = r.manifest.as_ref().map(|m| {
            root.join(safe_component(&m.user_id))
                .join(safe_component(&m.drive_id))
        });
        if let Some(m) = &r.manifest {
            let key = backup_key(&crate::ids::UserId::new(m.user_id.clone()));
            let fact = match ctx.ledger.fact(&key) {
                Ok(f) => f.and_then(|v| serde_json::from_value::<BackupFact>(v).ok()),
                Err(e) => return ledger_retry(&format!("reading {key}"), e),
            };
            let same = fact.is_some_and(|f| {
                original
                    .as_ref()
                    .is_some_and(|o| f.location.as_deref() == Some(&o.display().to_string()))
            });
            if same {
                facts.push(FactWrite::remove(key));
            }
        }
        let shown = original.unwrap_or_else(|| r.location.clone());
        changed.push(format!(
            "deleted the backup {} ({} files, {} bytes)",
            shown.display(),
            r.files,
            r.bytes
        ));
        removed.push(json!({
            "userId": r.manifest.as_ref().map(|m| m.user_id.clone()),
            "driveId": r.manifest.as_ref().map(|m| m.drive_id.clone()),
            "location": shown.display().to_string(),
            "completedAt": r.completed_at,
            "files": r.files,
            "bytesFreed": r.bytes,
        }));
    }
    let freed: u64 = sweep.removed.iter().map(|r| r.bytes).sum();
    StepOutcome::Done(StepReport {
        observed: json!({"backupDir": root.display().to_string(), "cutoff": cutoff,
            "kept": sweep.kept, "skipped": sweep.skipped}),
        changed,
        verified: json!({"removed": removed.len()}),
        output: json!({
            "retention": humantime::format_duration(retention).to_string(),
            "cutoff": cutoff,
            "removed": removed,
            "bytesFreed": freed,
            "kept": sweep.kept,
            "skipped": sweep.skipped,
        }),
        facts,
        ..StepReport::default()
    })
}

/// Finds, moves aside and deletes the backups completed before `cutoff`. Blocking.
fn expire(root: &Path, cutoff: DateTime<Utc>) -> io::Result<Sweep> {
    let mut sweep = Sweep::default();
    if !is_dir(root)? {
        return Ok(sweep);
    }
    let trash = root.join(TRASH);
    for found in scan(root, &mut sweep)? {
        if found.completed_at >= cutoff {
            sweep.kept += 1;
            continue;
        }
        let (user, drive) = &found.rel;
        let from = root.join(user).join(drive);
        let to = trash.join(user).join(drive);
        fs::create_dir_all(trash.join(user))?;
        if is_dir(&to)? {
            // a leftover of an earlier crash under the same name: it was expired too
            fs::remove_dir_all(&to)?;
        }
        fs::rename(&from, &to)?;
        let _ = fs::remove_dir(root.join(user)); // only when empty
    }
    // Delete everything in the trash: this run's and any an interrupted run left.
    if is_dir(&trash)? {
        for user in subdirs(&trash)? {
            for drive in subdirs(&user)? {
                let manifest = read_manifest(&drive.join("manifest.json")).ok();
                let completed_at = manifest.as_ref().and_then(|m| m.completed_at);
                let (files, bytes) = size_of(&drive)?;
                fs::remove_dir_all(&drive)?;
                sweep.removed.push(Removed {
                    location: drive,
                    manifest,
                    completed_at,
                    files,
                    bytes,
                });
            }
            let _ = fs::remove_dir(&user); // only when empty
        }
        let _ = fs::remove_dir(&trash);
    }
    sweep.removed.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(sweep)
}

/// Completed backups where offboard writes them: the manifest names the user and drive of
/// the folder it is in.
fn scan(root: &Path, sweep: &mut Sweep) -> io::Result<Vec<Found>> {
    let mut out = Vec::new();
    for user in subdirs(root)? {
        let Some(user_name) = name_of(&user) else {
            continue;
        };
        if user_name.starts_with('.') {
            continue;
        }
        for drive in subdirs(&user)? {
            let Some(drive_name) = name_of(&drive) else {
                continue;
            };
            let path = drive.join("manifest.json");
            let manifest = match read_manifest(&path) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    sweep.skipped.push(format!(
                        "{}: no manifest.json (a backup in progress, or not offboard's)",
                        drive.display()
                    ));
                    continue;
                }
                Err(e) => {
                    sweep.skipped.push(format!("{}: {e}", path.display()));
                    continue;
                }
            };
            if safe_component(&manifest.user_id) != user_name
                || safe_component(&manifest.drive_id) != drive_name
            {
                sweep.skipped.push(format!(
                    "{}: names user {} and drive {}, not the folder it is in",
                    path.display(),
                    manifest.user_id,
                    manifest.drive_id
                ));
                continue;
            }
            let completed_at = match manifest.completed_at {
                Some(t) => t,
                None => DateTime::<Utc>::from(fs::metadata(&path)?.modified()?),
            };
            out.push(Found {
                rel: (user_name.clone(), drive_name),
                completed_at,
            });
        }
    }
    Ok(out)
}

fn read_manifest(path: &Path) -> io::Result<Manifest> {
    let bytes = fs::read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not a backup manifest: {e}"),
        )
    })
}

fn is_dir(p: &Path) -> io::Result<bool> {
    match fs::symlink_metadata(p) {
        Ok(m) => Ok(m.is_dir()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Real sub-folders (symbolic links are not followed), sorted.
fn subdirs(p: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in fs::read_dir(p)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            out.push(e.path());
        }
    }
    out.sort();
    Ok(out)
}

fn name_of(p: &Path) -> Option<String> {
    p.file_name().and_then(|n| n.to_str()).map(str::to_string)
}

/// Files and bytes under `p`, not following symbolic links.
fn size_of(p: &Path) -> io::Result<(u64, u64)> {
    let (mut files, mut bytes) = (0u64, 0u64);
    let mut stack = vec![p.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir)? {
            let e = e?;
            let t = e.file_type()?;
            if t.is_dir() {
                stack.push(e.path());
            } else {
                files += 1;
                bytes += e.metadata()?.len();
            }
        }
    }
    Ok((files, bytes))
}
