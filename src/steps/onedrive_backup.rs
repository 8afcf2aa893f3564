//! `onedrive.backup`: copies every file of the user's OneDrive to
//! `<backup_dir>/<userId>/<driveId>/files/`, resuming after a crash without downloading a file
//! twice, writes `manifest.json` and verifies every entry on disk (R6: before any delete).
//! A verified backup (or the verified absence of a OneDrive) is recorded as the fact
//! `backup/{userId}`, which the retention sweep reads.

use super::backup_files::{BackupDir, Manifest, ManifestEntry, sha256_hex};
use super::drive_walk::{enumerate, file_paths, safe_component};
use super::plan::size_text;
use super::retention::{BackupFact, backup_key};
use super::subject::{base_output, drive_of, resolve_user};
use super::{FactWrite, StepContext, StepOutcome, StepPlan, StepReport};
use crate::tenant::Tenant;
use serde_json::{Value, json};

pub const PARAMS: &[&str] = &[];

/// Runs blocking file work off the async threads; a panic or I/O error becomes a message.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(format!("the file task stopped: {e}")),
    }
}

pub async fn run(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
    let user = match resolve_user(ctx, tenant).await {
        Ok(u) => u,
        Err(o) => return o,
    };
    let upn = user.user_principal_name.clone();
    let mut output = base_output(&user);
    let drive = match drive_of(tenant, &user).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            output.insert("driveId".into(), Value::Null);
            let fact = BackupFact {
                verified: true,
                location: None,
                drive_id: None,
                files: 0,
                bytes: 0,
                at: ctx.now,
            };
            return StepOutcome::Done(StepReport {
                observed: json!({"drive": null}),
                changed: Vec::new(),
                verified: json!({"note": format!("{upn} has no OneDrive to back up")}),
                output: Value::Object(output),
                facts: vec![FactWrite::put(backup_key(&user.id), json!(fact))],
                ..StepReport::default()
            });
        }
        Err(o) => return o,
    };
    let items = match enumerate(tenant, &drive.id, &upn).await {
        Ok(i) => i,
        Err(o) => return o,
    };
    let files = match file_paths(&items) {
        Ok(f) => f,
        Err(why) => {
            return StepOutcome::Retry {
                after: None,
                reason: format!("listing the OneDrive of {upn}: {why}; listing again"),
            };
        }
    };
    let dir = BackupDir::new(
        &ctx.env.backup_dir,
        &safe_component(user.id.as_str()),
        &safe_component(drive.id.as_str()),
    );
    let fail_io = |what: String| {
        StepOutcome::failed(format!(
            "backing up the OneDrive of {upn}: {what}. Check that {} is writable and has space, then restart the step",
            ctx.env.backup_dir.display()
        ))
    };
    let log = {
        let d = dir.clone();
        match blocking(move || d.read_log().map_err(|e| format!("reading writes.log: {e}"))).await {
            Ok(l) => l,
            Err(e) => return fail_io(e),
        }
    };

    let mut entries = Vec::with_capacity(files.len());
    let mut downloaded = 0u64;
    let mut skipped = 0u64;
    for f in files {
        let expected = f
            .item
            .hashes
            .sha256_hash
            .clone()
            .map(|h| h.to_ascii_lowercase())
            .or_else(|| {
                log.get(&f.path)
                    .filter(|(size, _)| *size == f.item.size)
                    .map(|(_, sha)| sha.clone())
            });
        if let Some(sha) = &expected {
            let (d, rel, size, sha2) = (dir.clone(), f.path.clone(), f.item.size, sha.clone());
            let present = blocking(move || {
                d.file_matches(&rel, size, &sha2)
                    .map_err(|e| format!("checking {rel}: {e}"))
            })
            .await;
            match present {
                Ok(true) => {
                    skipped += 1;
                    entries.push(ManifestEntry {
                        path: f.path,
                        item_id: f.item.id,
                        size: f.item.size,
                        sha256: sha.clone(),
                    });
                    continue;
                }
                Ok(false) => {}
                Err(e) => return fail_io(e),
            }
        }
        let bytes = match tenant.download(&drive.id, &f.item.id).await {
            Ok(b) => b,
            Err(e) => {
                return StepOutcome::from_error(
                    &format!("downloading {} from the OneDrive of {upn}", f.path),
                    e,
                );
            }
        };
        let sha = sha256_hex(&bytes);
        if bytes.len() as u64 != f.item.size
            || f.item
                .hashes
                .sha256_hash
                .as_ref()
                .is_some_and(|h| !h.eq_ignore_ascii_case(&sha))
        {
            return StepOutcome::Retry {
                after: None,
                reason: format!(
                    "the download of {} from the OneDrive of {upn} was {} bytes sha256 {sha}, the listing says {} bytes sha256 {}; downloading again",
                    f.path,
                    bytes.len(),
                    f.item.size,
                    f.item
                        .hashes
                        .sha256_hash
                        .as_deref()
                        .unwrap_or("(not given)")
                ),
            };
        }
        let (d, rel, id, sha2) = (dir.clone(), f.path.clone(), f.item.id.clone(), sha.clone());
        let stored = blocking(move || {
            d.store_file(&rel, &id, &bytes, &sha2)
                .map_err(|e| format!("writing {rel}: {e}"))
        })
        .await;
        if let Err(e) = stored {
            return fail_io(e);
        }
        downloaded += 1;
        entries.push(ManifestEntry {
            path: f.path,
            item_id: f.item.id,
            size: f.item.size,
            sha256: sha,
        });
    }

    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let manifest = Manifest {
        user_id: user.id.to_string(),
        drive_id: drive.id.to_string(),
        total_files: entries.len() as u64,
        total_bytes: entries.iter().map(|e| e.size).sum(),
        files: entries,
        completed_at: Some(ctx.now),
    };
    let (d, m) = (dir.clone(), manifest.clone());
    let verified = blocking(move || {
        d.write_manifest(&m)
            .map_err(|e| format!("writing manifest.json: {e}"))?;
        d.verify_manifest()
    })
    .await;
    let on_disk = match verified {
        Ok(m) => m,
        Err(e) => return fail_io(format!("verification failed: {e}")),
    };
    if on_disk != manifest {
        return fail_io("manifest.json on disk differs from the one just written".into());
    }

    let mut changed = Vec::new();
    if downloaded > 0 {
        changed.push(format!(
            "downloaded {downloaded} file(s) of the OneDrive of {upn} to {}",
            dir.root.display()
        ));
    }
    output.insert("driveId".into(), json!(drive.id));
    output.insert("files".into(), json!(manifest.total_files));
    output.insert("bytes".into(), json!(manifest.total_bytes));
    output.insert(
        "manifest".into(),
        json!(dir.manifest_path().display().to_string()),
    );
    output.insert("verified".into(), json!(true));
    let fact = BackupFact {
        verified: true,
        location: Some(dir.root.display().to_string()),
        drive_id: Some(drive.id.to_string()),
        files: manifest.total_files,
        bytes: manifest.total_bytes,
        at: ctx.now,
    };
    StepOutcome::Done(StepReport {
        observed: json!({"driveId": drive.id, "items": items.len(), "files": manifest.total_files,
            "alreadyOnDisk": skipped}),
        changed,
        verified: json!({"files": on_disk.total_files, "bytes": on_disk.total_bytes,
            "hashesMatch": true}),
        output: Value::Object(output),
        facts: vec![FactWrite::put(backup_key(&user.id), json!(fact))],
        ..StepReport::default()
    })
}

/// What it would copy: the drive's quota `used` (the drive is not walked), or nothing.
pub async fn plan(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepPlan {
    let user = match resolve_user(ctx, tenant).await {
        Ok(u) => u,
        Err(o) => return StepPlan::stopped("user-not-found", o),
    };
    let upn = &user.user_principal_name;
    match drive_of(tenant, &user).await {
        Ok(Some(d)) => StepPlan::doing(format!(
            "copy every file of the OneDrive of {upn} ({} in use) to {}, then verify each against manifest.json (R6, see docs/rules.md)",
            size_text(d.quota_used),
            ctx.env
                .backup_dir
                .join(safe_component(user.id.as_str()))
                .join(safe_component(d.id.as_str()))
                .display()
        )),
        Ok(None) => StepPlan::doing(format!(
            "nothing to copy: {upn} has no OneDrive (recorded as a verified empty backup)"
        )),
        Err(o) => StepPlan::stopped("cannot-read", o),
    }
}
