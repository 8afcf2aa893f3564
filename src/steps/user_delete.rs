//! `user.delete`: soft-deletes the account (R1, restorable for 30 days) once nothing would be
//! lost: not synced (R9), no shared or forwarding mailbox (R4), OneDrive backed up or handed
//! over (R6). Already deleted → done with its deletion time. With `purge_after_days` (the
//! leaver's `purgeAfterDays`) it records the fact `purge/{userId}` for the retention sweep,
//! which deletes the account for good once that many days have passed.

use super::drive_walk::{enumerate, has_files};
use super::retention::{PurgeFact, RETENTION_DAYS, original_upn, purge_key};
use super::subject::{is_not_found, lookup_key, mailbox_of, same_principal};
use super::{FactWrite, StepContext, StepOutcome, StepPlan, StepReport, param};
use crate::ids::UserId;
use crate::tenant::{DeletedUser, ErrorKind, MailboxType, Tenant, User};
use serde_json::{Value, json};
use std::time::Duration;

pub const PARAMS: &[&str] = &["onedrive", "purge_after_days"];

/// `purge_after_days`: absent = no purge asked; otherwise 0..=30 (after 30 days Microsoft
/// purges by itself, R1).
fn purge_after_days(ctx: &StepContext<'_>) -> Result<Option<i64>, String> {
    let given = ctx
        .params
        .get("purge_after_days")
        .is_some_and(|v| !v.is_null() && v.as_str().is_none_or(|s| !s.trim().is_empty()));
    if !given {
        return Ok(None);
    }
    param::int(ctx, "purge_after_days", 0, 0, RETENTION_DAYS)
        .map(Some)
        .map_err(|e| {
            format!(
                "{e} (the leaver's `purgeAfterDays`); nothing was deleted: correct the event and submit it again"
            )
        })
}

/// The `purge/{userId}` fact for a purge request.
fn purge_request(ctx: &StepContext<'_>, deleted: &DeletedUser, days: i64) -> FactWrite {
    // the leaver backs OneDrive up unless `onedrive` says manager or none
    let backup_required = matches!(ctx.param_str("onedrive"), None | Some("backup" | "both"));
    let fact = PurgeFact {
        upn: original_upn(deleted),
        deleted_at: deleted.deleted_date_time,
        purge_after_days: days,
        backup_required,
    };
    FactWrite::put(purge_key(&deleted.id), json!(fact))
}

fn done(
    ctx: &StepContext<'_>,
    purge: Option<i64>,
    user_id: &UserId,
    upn: &str,
    deleted: &DeletedUser,
    changed: Vec<String>,
) -> StepOutcome {
    let mut output =
        json!({"userId": user_id, "upn": upn, "deletedDateTime": deleted.deleted_date_time});
    let mut facts = Vec::new();
    if let Some(days) = purge {
        output["purgeAfterDays"] = json!(days);
        facts.push(purge_request(ctx, deleted, days));
    }
    StepOutcome::Done(StepReport {
        observed: json!({"deleted": !changed.is_empty()}),
        changed,
        verified: json!({"deletedDateTime": deleted.deleted_date_time}),
        output,
        facts,
        ..StepReport::default()
    })
}

/// The soft-deleted user matching `key` (object id or UPN), if any.
async fn find_deleted(tenant: &dyn Tenant, key: &str) -> Result<Option<DeletedUser>, StepOutcome> {
    match tenant.get_deleted_user(&UserId::new(key)).await {
        Ok(d) => return Ok(Some(d)),
        Err(e) if is_not_found(&e) => {}
        Err(e) => {
            return Err(StepOutcome::from_error(
                &format!("looking for {key} among deleted users"),
                e,
            ));
        }
    }
    match tenant.list_deleted_users().await {
        Ok(list) => Ok(list
            .into_iter()
            .find(|d| same_principal(&d.user_principal_name, key) || d.id.as_str() == key)),
        Err(e) => Err(StepOutcome::from_error(
            &format!("listing deleted users to find {key}"),
            e,
        )),
    }
}

/// Whether an earlier step left a verified backup or a manager grant of this drive.
fn onedrive_handled(ctx: &StepContext<'_>, drive: &str) -> bool {
    ctx.outputs.values().any(|o| {
        let same_drive = o
            .get("driveId")
            .and_then(Value::as_str)
            .is_none_or(|d| d == drive);
        let flag = |k: &str| o.get(k).and_then(Value::as_bool) == Some(true);
        same_drive && (flag("verified") || flag("granted"))
    })
}

/// What stops the deletion, with the plan's blocker code. `check_drive`: whether the OneDrive
/// must be shown handled by this run's outputs (a plan has none yet: the earlier backup or
/// handover step would produce them).
async fn preconditions(
    ctx: &StepContext<'_>,
    tenant: &dyn Tenant,
    user: &User,
    check_drive: bool,
) -> Option<(&'static str, StepOutcome)> {
    let upn = &user.user_principal_name;
    if user.is_synced() {
        return Some((
            "synced-from-ad",
            StepOutcome::blocked(format!(
                "{upn} is synced from on-premises AD (R9, see docs/rules.md): delete it in on-premises AD; the next sync removes it from the cloud"
            )),
        ));
    }
    match mailbox_of(tenant, user).await {
        Err(o) => return Some(("cannot-read", o)),
        Ok(Some(m)) if m.recipient_type_details == MailboxType::SharedMailbox => {
            return Some((
                "shared-mailbox",
                StepOutcome::blocked(format!(
                    "{upn} is the account behind a shared mailbox (R4, see docs/rules.md): deleting it would lose the mailbox. \
                 Keep the account (use mailbox=shared without user.delete) or convert the mailbox back first"
                )),
            ));
        }
        Ok(Some(m)) if m.forwards() => {
            return Some((
                "mailbox-forwards",
                StepOutcome::blocked(format!(
                    "the mailbox of {upn} forwards mail (R4, see docs/rules.md): deleting the account breaks it. Turn forwarding off first"
                )),
            ));
        }
        Ok(_) => {}
    }
    if !check_drive {
        return None;
    }
    let drive = match tenant.get_drive(&user.id).await {
        Ok(d) => d,
        Err(e) if e.kind == ErrorKind::DriveNotFound => return None,
        Err(e) => {
            return Some((
                "cannot-read",
                StepOutcome::from_error(&format!("reading the OneDrive of {upn}"), e),
            ));
        }
    };
    if ctx.param_str("onedrive") == Some("none") || onedrive_handled(ctx, drive.id.as_str()) {
        return None;
    }
    match enumerate(tenant, &drive.id, upn).await {
        Err(o) => Some(("cannot-read", o)),
        Ok(items) if has_files(&items) => Some((
            "onedrive-not-saved",
            StepOutcome::blocked(format!(
                "the OneDrive of {upn} has files and this run neither verified a backup nor gave the manager access (R6, see docs/rules.md): \
             deleting the account starts its retention clock. Add onedrive.backup or onedrive.grant before user.delete, \
             or set onedrive=none to let the files go"
            )),
        )),
        Ok(_) => None,
    }
}

pub async fn run(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
    let purge = match purge_after_days(ctx) {
        Ok(p) => p,
        Err(why) => return StepOutcome::failed(why),
    };
    let key = lookup_key(ctx);
    let user = match tenant.get_user(key).await {
        Ok(u) => u,
        Err(e) if is_not_found(&e) => {
            return match find_deleted(tenant, key).await {
                Ok(Some(d)) => done(ctx, purge, &d.id, &d.user_principal_name, &d, Vec::new()),
                Ok(None) => StepOutcome::failed(format!(
                    "user {} (looked up as {key}) is neither in the tenant nor among deleted users: \
                     it was purged or never existed; check the event subject",
                    ctx.subject
                )),
                Err(o) => o,
            };
        }
        Err(e) => return StepOutcome::from_error(&format!("reading user {}", ctx.subject), e),
    };
    let upn = user.user_principal_name.clone();
    if let Some((_, stop)) = preconditions(ctx, tenant, &user, true).await {
        return stop;
    }
    match tenant.delete_user(&user.id).await {
        Ok(()) => {}
        // a lost response: the first delete went through
        Err(e) if is_not_found(&e) => {}
        Err(e) => return StepOutcome::from_error(&format!("deleting {upn}"), e),
    }
    match tenant.get_deleted_user(&user.id).await {
        Ok(d) => done(
            ctx,
            purge,
            &user.id,
            &upn,
            &d,
            vec![format!("soft-deleted {upn} (restorable for 30 days)")],
        ),
        Err(e) if is_not_found(&e) => StepOutcome::Retry {
            after: Some(Duration::from_secs(30)),
            reason: format!("{upn} does not show among deleted users yet (replication)"),
        },
        Err(e) => StepOutcome::from_error(&format!("verifying the deletion of {upn}"), e),
    }
}

/// Whether the account would be soft-deleted, or what stops it (synced, shared mailbox,
/// forwarding), with the 30-day window and the purge request.
pub async fn plan(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepPlan {
    let purge = match purge_after_days(ctx) {
        Ok(p) => p,
        Err(why) => return StepPlan::stopped("invalid-purge-days", StepOutcome::failed(why)),
    };
    let key = lookup_key(ctx);
    let user = match tenant.get_user(key).await {
        Ok(u) => u,
        Err(e) if is_not_found(&e) => {
            return match find_deleted(tenant, key).await {
                Ok(Some(d)) => StepPlan::doing(format!(
                    "nothing: {} is deleted already (since {})",
                    original_upn(&d),
                    d.deleted_date_time
                )),
                Ok(None) => {
                    let mut p = StepPlan::default();
                    p.block(
                        "user-not-found",
                        format!("user {} (looked up as {key}) is neither in the tenant nor among deleted users", ctx.subject),
                    );
                    p
                }
                Err(o) => StepPlan::stopped("cannot-read", o),
            };
        }
        Err(e) => {
            let doing = format!("reading user {}", ctx.subject);
            return StepPlan::stopped("cannot-read", StepOutcome::from_error(&doing, e));
        }
    };
    let upn = &user.user_principal_name;
    if let Some((code, stop)) = preconditions(ctx, tenant, &user, false).await {
        return StepPlan::stopped(code, stop);
    }
    let mut p = StepPlan::doing(format!(
        "soft-delete {upn}: restorable with hr.restore for {RETENTION_DAYS} days (R1, see docs/rules.md)"
    ));
    match ctx.param_str("onedrive") {
        Some("none") => p.warn(format!(
            "onedrive=none: the OneDrive files of {upn} are neither backed up nor handed over and go with the account"
        )),
        _ => p.does(format!(
            "only once an earlier step of the run backed up or handed over the OneDrive of {upn} (R6, see docs/rules.md)"
        )),
    };
    match purge {
        Some(days) => p.does(format!(
            "ask the retention sweep to delete {upn} for good {days} day(s) after the soft delete"
        )),
        None => p.does(format!(
            "Microsoft deletes {upn} for good {RETENTION_DAYS} days after the soft delete (R1, see docs/rules.md)"
        )),
    };
    p
}
