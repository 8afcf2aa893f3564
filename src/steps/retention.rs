//! What the retention steps share: the 30-day recycle bin (R1) and the two facts they keep —
//! `backup/{userId}` (written by `onedrive.backup` when its backup is verified) and
//! `purge/{userId}` (written by `user.delete` when the leaver asked for a purge). No tenant
//! writes here.

use super::{Emit, Ledger, LedgerError, StepOutcome};
use crate::ids::UserId;
use crate::tenant::DeletedUser;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::Path;

/// Days a soft-deleted user stays restorable before Microsoft purges it (R1).
pub(crate) const RETENTION_DAYS: i64 = 30;
/// The outcome published for a soft-deleted user at risk, or a purge refused.
pub(crate) const WARNING: &str = "retention.warning";

pub(crate) fn backup_key(user: &UserId) -> String {
    format!("backup/{user}")
}

pub(crate) const PURGE_PREFIX: &str = "purge/";

pub(crate) fn purge_key(user: &UserId) -> String {
    format!("{PURGE_PREFIX}{user}")
}

/// When Microsoft purges a user deleted at `deleted` (R1).
pub(crate) fn purge_date(deleted: DateTime<Utc>) -> DateTime<Utc> {
    deleted + Duration::days(RETENTION_DAYS)
}

/// `backup/{userId}`: a verified OneDrive backup (or the verified absence of a OneDrive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BackupFact {
    pub verified: bool,
    /// The backup folder (`<backup_dir>/<userId>/<driveId>`); `None` when there is no drive.
    pub location: Option<String>,
    pub drive_id: Option<String>,
    pub files: u64,
    pub bytes: u64,
    pub at: DateTime<Utc>,
}

/// `purge/{userId}`: the leaver asked for a permanent delete `purge_after_days` after the
/// soft delete at `deleted_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PurgeFact {
    pub upn: String,
    pub deleted_at: DateTime<Utc>,
    pub purge_after_days: i64,
    /// The leaver asked for a OneDrive backup: purge only once it is verified.
    #[serde(default)]
    pub backup_required: bool,
}

/// What offboard knows about a user's OneDrive backup.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BackupStatus {
    Verified(BackupFact),
    /// Recorded but not verified, unreadable, or no longer on disk; the string says which.
    Unverified(String),
    /// offboard never finished a backup of this user.
    Missing,
}

impl BackupStatus {
    pub fn label(&self) -> &'static str {
        match self {
            BackupStatus::Verified(_) => "verified",
            BackupStatus::Unverified(_) => "unverified",
            BackupStatus::Missing => "missing",
        }
    }

    pub fn is_verified(&self) -> bool {
        matches!(self, BackupStatus::Verified(_))
    }

    /// A sentence for reports.
    pub fn describe(&self) -> String {
        match self {
            BackupStatus::Verified(f) => match &f.location {
                Some(l) => format!(
                    "backup verified at {} ({} files, {} bytes) in {l}",
                    f.at, f.files, f.bytes
                ),
                None => format!("no OneDrive to back up (checked {})", f.at),
            },
            BackupStatus::Unverified(why) => format!("backup not verified: {why}"),
            BackupStatus::Missing => "offboard never completed a OneDrive backup".into(),
        }
    }
}

/// A store read that failed: retry the step (the store is local; this is rare and passing).
pub(crate) fn ledger_retry(doing: &str, e: LedgerError) -> StepOutcome {
    StepOutcome::Retry {
        after: None,
        reason: format!("{doing}: {e}"),
    }
}

/// The backup status of `user`: the `backup/{userId}` fact, which `onedrive.backup` writes
/// atomically with its verified result, plus a check that the recorded manifest still exists
/// (an expired or hand-deleted backup is no backup). Re-hashing every backed-up file daily
/// is the backup step's job, not the sweep's.
pub(crate) async fn backup_status(
    ledger: &dyn Ledger,
    user: &UserId,
) -> Result<BackupStatus, StepOutcome> {
    let key = backup_key(user);
    let value = ledger
        .fact(&key)
        .map_err(|e| ledger_retry(&format!("reading the backup record of {user}"), e))?;
    let Some(value) = value else {
        return Ok(BackupStatus::Missing);
    };
    let fact: BackupFact = match serde_json::from_value(value) {
        Ok(f) => f,
        Err(e) => {
            return Ok(BackupStatus::Unverified(format!(
                "the record {key} is unreadable ({e})"
            )));
        }
    };
    if !fact.verified {
        return Ok(BackupStatus::Unverified(format!(
            "the backup of {} was recorded without verification",
            fact.at
        )));
    }
    if let Some(loc) = &fact.location {
        let manifest = Path::new(loc).join("manifest.json");
        match tokio::fs::try_exists(&manifest).await {
            Ok(true) => {}
            Ok(false) => {
                return Ok(BackupStatus::Unverified(format!(
                    "{} is gone (expired or deleted)",
                    manifest.display()
                )));
            }
            Err(e) => {
                return Ok(BackupStatus::Unverified(format!(
                    "cannot check {}: {e}",
                    manifest.display()
                )));
            }
        }
    }
    Ok(BackupStatus::Verified(fact))
}

/// The UPN a user had before deletion: Graph lists soft-deleted users as
/// `{objectIdWithoutHyphens}{originalUPN}` (docs/microsoft-365-api.md §3.6).
pub(crate) fn original_upn(d: &DeletedUser) -> String {
    let prefix = d.id.as_str().replace('-', "");
    let upn = &d.user_principal_name;
    match upn.get(..prefix.len()) {
        Some(p) if !prefix.is_empty() && p.eq_ignore_ascii_case(&prefix) => {
            upn[prefix.len()..].to_string()
        }
        _ => upn.clone(),
    }
}

/// A `retention.warning` outcome about one soft-deleted user.
pub(crate) fn warning(
    kind: &str,
    user: &UserId,
    upn: &str,
    deleted: DateTime<Utc>,
    backup: &BackupStatus,
    reason: &str,
) -> Emit {
    Emit::new(
        WARNING,
        json!({
            "kind": kind,
            "userId": user,
            "upn": upn,
            "deletedDateTime": deleted,
            "purgeDate": purge_date(deleted),
            "backup": backup.label(),
            "reason": reason,
        }),
    )
}

/// `{"userId", "upn", ...}` for the output lists.
pub(crate) fn entry(user: &UserId, upn: &str, fields: Value) -> Value {
    let mut v = json!({"userId": user, "upn": upn});
    if let (Value::Object(m), Value::Object(extra)) = (&mut v, fields) {
        m.extend(extra);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_original_upn_comes_back_from_the_deleted_form() {
        let d = DeletedUser {
            id: UserId::new("3b9f6c1e-8a24-4d57-b0e3-6f2c91d4a8b5"),
            user_principal_name: "3b9f6c1e8a244d57b0e36f2c91d4a8b5dana.lee@contoso.com".into(),
            display_name: "Dana".into(),
            deleted_date_time: Utc::now(),
        };
        assert_eq!(original_upn(&d), "dana.lee@contoso.com");
        let plain = DeletedUser {
            user_principal_name: "dana.lee@contoso.com".into(),
            ..d
        };
        assert_eq!(original_upn(&plain), "dana.lee@contoso.com");
    }
}
