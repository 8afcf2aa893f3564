//! `deleted.report`: lists the soft-deleted users (docs/microsoft-365-api.md §3.7) and publishes a
//! `retention.warning` for each one within `warn_days` of its purge date (deletion + 30 days,
//! R1) whose OneDrive backup offboard has not verified. Read-only.

use super::retention::{BackupStatus, backup_status, entry, original_upn, purge_date, warning};
use super::{StepContext, StepOutcome, StepReport, param};
use crate::tenant::Tenant;
use crate::try_tenant;
use chrono::Duration;
use serde_json::json;

pub const PARAMS: &[&str] = &["warn_days"];

const DEFAULT_WARN_DAYS: i64 = 5;

pub async fn run(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
    let warn_days = match param::int(ctx, "warn_days", DEFAULT_WARN_DAYS, 0, 30) {
        Ok(n) => n,
        Err(e) => return StepOutcome::failed(format!("{e}; fix the workflow file")),
    };
    let mut deleted = try_tenant!(
        tenant.list_deleted_users().await,
        "listing the soft-deleted users"
    );
    deleted.sort_by(|a, b| (a.deleted_date_time, &a.id).cmp(&(b.deleted_date_time, &b.id)));

    let mut approaching = Vec::new();
    let mut emit = Vec::new();
    for d in &deleted {
        let purge = purge_date(d.deleted_date_time);
        if ctx.now < purge - Duration::days(warn_days) {
            continue;
        }
        let upn = original_upn(d);
        let backup = match backup_status(ctx.ledger, &d.id).await {
            Ok(b) => b,
            Err(o) => return o,
        };
        let hours_left = (purge - ctx.now).num_hours().max(0);
        approaching.push(entry(
            &d.id,
            &upn,
            json!({
                "deletedDateTime": d.deleted_date_time,
                "purgeDate": purge,
                "hoursLeft": hours_left,
                "backup": backup.label(),
                "note": backup.describe(),
            }),
        ));
        if !matches!(backup, BackupStatus::Verified(_)) {
            let reason = format!(
                "{upn} is purged for good on {purge} ({hours_left} h left) and {}: \
                 back up the OneDrive or restore the account before then",
                backup.describe()
            );
            emit.push(warning(
                "approaching-purge",
                &d.id,
                &upn,
                d.deleted_date_time,
                &backup,
                &reason,
            ));
        }
    }
    StepOutcome::Done(StepReport {
        observed: json!({"deletedUsers": deleted.len()}),
        changed: Vec::new(),
        verified: json!({"warned": emit.len()}),
        output: json!({
            "warnDays": warn_days,
            "deletedUsers": deleted.len(),
            "approaching": approaching,
            "warned": emit.len(),
        }),
        emit,
        ..StepReport::default()
    })
}
