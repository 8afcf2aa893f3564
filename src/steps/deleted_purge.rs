//! `deleted.purge`: permanently deletes (docs/microsoft-365-api.md §3.10) the soft-deleted users
//! whose leaver asked for it (`purge/{userId}`, written by `user.delete`), once `purgeAfterDays`
//! have passed since the deletion, the user is still in the recycle bin and, when a backup was
//! asked for, it is verified. A user restored meanwhile is never purged: its request is
//! dropped. Refusals are published as `retention.warning`.

use super::retention::{
    BackupStatus, PURGE_PREFIX, PurgeFact, backup_status, entry, ledger_retry, warning,
};
use super::subject::is_not_found;
use super::{FactWrite, StepContext, StepOutcome, StepReport};
use crate::ids::UserId;
use crate::tenant::Tenant;
use chrono::Duration;
use serde_json::{Value, json};
use std::time::Duration as StdDuration;

pub const PARAMS: &[&str] = &[];

/// What the step did with one purge request.
#[derive(Default)]
struct Tally {
    purged: Vec<Value>,
    pending: Vec<Value>,
    refused: Vec<Value>,
    dropped: Vec<Value>,
    changed: Vec<String>,
    emit: Vec<super::Emit>,
    facts: Vec<FactWrite>,
}

pub async fn run(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
    let requests = match ctx.ledger.facts(PURGE_PREFIX) {
        Ok(f) => f,
        Err(e) => return ledger_retry("reading the purge requests", e),
    };
    let mut t = Tally::default();
    for (key, value) in &requests {
        let id = UserId::new(key.trim_start_matches(PURGE_PREFIX));
        let fact: PurgeFact = match serde_json::from_value(value.clone()) {
            Ok(f) => f,
            Err(e) => {
                // Dropping an unreadable request errs on the side of keeping the account.
                t.dropped.push(entry(
                    &id,
                    "",
                    json!({"reason": format!(
                        "the purge request {key} is unreadable ({e}); dropped, nothing purged"
                    )}),
                ));
                t.facts.push(FactWrite::remove(key.clone()));
                continue;
            }
        };
        if let Some(stop) = one(ctx, tenant, &id, key, &fact, &mut t).await {
            return stop;
        }
    }
    StepOutcome::Done(StepReport {
        observed: json!({"requests": requests.len()}),
        changed: t.changed,
        verified: json!({"purged": t.purged.len()}),
        output: json!({
            "requests": requests.len(),
            "purged": t.purged,
            "pending": t.pending,
            "refused": t.refused,
            "dropped": t.dropped,
        }),
        emit: t.emit,
        facts: t.facts,
    })
}

/// Handles one request; `Some` stops the step (retry or failure).
async fn one(
    ctx: &StepContext<'_>,
    tenant: &dyn Tenant,
    id: &UserId,
    key: &str,
    fact: &PurgeFact,
    t: &mut Tally,
) -> Option<StepOutcome> {
    let upn = fact.upn.as_str();
    let deleted = match tenant.get_deleted_user(id).await {
        Ok(d) => d,
        Err(e) if is_not_found(&e) => {
            // Not in the recycle bin: restored (never purge), or already gone.
            let reason = match tenant.get_user(id.as_str()).await {
                Ok(_) => "restored since the request: the purge request is dropped".to_string(),
                Err(e) if is_not_found(&e) => {
                    "no longer in the recycle bin (purged at day 30 or by someone else)".to_string()
                }
                Err(e) => {
                    return Some(StepOutcome::from_error(
                        &format!("reading {upn} ({id}), who left the recycle bin"),
                        e,
                    ));
                }
            };
            t.dropped.push(entry(id, upn, json!({"reason": reason})));
            t.facts.push(FactWrite::remove(key));
            return None;
        }
        Err(e) => {
            return Some(StepOutcome::from_error(
                &format!("looking for {upn} ({id}) among deleted users"),
                e,
            ));
        }
    };
    let backup = match backup_status(ctx.ledger, id).await {
        Ok(b) => b,
        Err(o) => return Some(o),
    };
    if deleted.deleted_date_time.timestamp() != fact.deleted_at.timestamp() {
        // Restored and deleted again since the leaver asked: that request is not for this deletion.
        let reason = format!(
            "{upn} was deleted at {} but the purge was asked for its deletion at {}: it was restored \
             and deleted again since, so the request is dropped; nothing purged",
            deleted.deleted_date_time, fact.deleted_at
        );
        t.emit.push(warning(
            "purge-refused",
            id,
            upn,
            deleted.deleted_date_time,
            &backup,
            &reason,
        ));
        t.dropped.push(entry(id, upn, json!({"reason": reason})));
        t.facts.push(FactWrite::remove(key));
        return None;
    }
    let due = fact.deleted_at + Duration::days(fact.purge_after_days);
    if ctx.now < due {
        t.pending.push(entry(
            id,
            upn,
            json!({"deletedDateTime": fact.deleted_at, "purgeAfter": due}),
        ));
        return None;
    }
    if fact.backup_required && !backup.is_verified() {
        let reason = format!(
            "the leaver of {upn} asked for a OneDrive backup and a purge, but {}: not purged. \
             Back the OneDrive up (or restore the account) before {}",
            backup.describe(),
            super::retention::purge_date(deleted.deleted_date_time)
        );
        t.emit.push(warning(
            "purge-refused",
            id,
            upn,
            deleted.deleted_date_time,
            &backup,
            &reason,
        ));
        t.refused.push(entry(
            id,
            upn,
            json!({"reason": reason, "backup": backup.label()}),
        ));
        return None;
    }
    match tenant.purge_deleted_user(id).await {
        Ok(()) => {}
        // a lost response, or purged in between: it is gone either way (verified below)
        Err(e) if is_not_found(&e) => {}
        Err(e) => {
            return Some(StepOutcome::from_error(
                &format!("permanently deleting {upn} ({id})"),
                e,
            ));
        }
    }
    match tenant.get_deleted_user(id).await {
        Err(e) if is_not_found(&e) => {}
        Ok(_) => {
            return Some(StepOutcome::Retry {
                after: Some(StdDuration::from_secs(30)),
                reason: format!(
                    "{upn} ({id}) still shows among deleted users after the purge (replication)"
                ),
            });
        }
        Err(e) => {
            return Some(StepOutcome::from_error(
                &format!("verifying the purge of {upn} ({id})"),
                e,
            ));
        }
    }
    t.changed.push(format!(
        "permanently deleted {upn} ({id}), soft-deleted at {}, as its leaver asked ({} days)",
        fact.deleted_at, fact.purge_after_days
    ));
    let note = match &backup {
        BackupStatus::Verified(_) => backup.describe(),
        _ => "no backup was asked for".to_string(),
    };
    t.purged.push(entry(
        id,
        upn,
        json!({"deletedDateTime": fact.deleted_at, "backup": note}),
    ));
    t.facts.push(FactWrite::remove(key));
    None
}
