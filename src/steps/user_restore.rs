//! `user.restore`: brings the leaver's account back from the deleted users within the 30
//! days of R1, after a seat check for the licenses it comes back with (R13). An active account
//! needs nothing; a purged one (or one past its 30 days) fails with when it was deleted and
//! purged, and what to do instead; a UPN taken by another account is blocked naming it.

use super::leaver_trace::{self, Leaver, LeaverRun, Trace};
use super::restore_seats::{shortages, wait_for_seats};
use super::seats::Seats;
use super::subject::{base_output, is_not_found, same_principal, skus_by_id};
use super::{FactWrite, StepContext, StepOutcome, StepReport};
use crate::event::is_object_id;
use crate::ids::{SkuId, UserId};
use crate::tenant::{DeletedUser, ErrorKind, Tenant, User};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

pub const PARAMS: &[&str] = &[];

/// R1: how long a deleted user stays restorable.
pub(super) const RETENTION_DAYS: i64 = 30;

pub(super) fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The UPN a deleted user had: deletion prefixes it with the object id without hyphens.
fn original_upn(d: &DeletedUser) -> &str {
    let prefix = d.id.as_str().replace('-', "");
    match d.user_principal_name.get(..prefix.len()) {
        Some(p) if p.eq_ignore_ascii_case(&prefix) => &d.user_principal_name[prefix.len()..],
        _ => &d.user_principal_name,
    }
}

/// The deleted users matching `key`: by object id (one), else by their original UPN.
async fn find_deleted(tenant: &dyn Tenant, key: &str) -> Result<Vec<DeletedUser>, StepOutcome> {
    if is_object_id(key) {
        return match tenant.get_deleted_user(&UserId::new(key)).await {
            Ok(d) => Ok(vec![d]),
            Err(e) if is_not_found(&e) => Ok(Vec::new()),
            Err(e) => Err(StepOutcome::from_error(
                &format!("looking for {key} among deleted users"),
                e,
            )),
        };
    }
    match tenant.list_deleted_users().await {
        Ok(list) => Ok(list
            .into_iter()
            .filter(|d| same_principal(original_upn(d), key))
            .collect()),
        Err(e) => Err(StepOutcome::from_error(
            &format!("listing deleted users to find {key}"),
            e,
        )),
    }
}

/// Where the leaver backed up the OneDrive, for the message of a purged account.
fn backup_note(leaver: Option<&LeaverRun>) -> String {
    let manifest = leaver.and_then(|l| match l.trace("onedrive.backup") {
        Trace::Done(out) => out.get("manifest").and_then(Value::as_str),
        _ => None,
    });
    match manifest {
        Some(m) => format!(
            "their OneDrive files were backed up by the leaver: the manifest is {m}, with the files next to it"
        ),
        None => "the leaver left no OneDrive backup on record".into(),
    }
}

/// Fails clearly: the account cannot come back.
fn gone(
    ctx: &StepContext<'_>,
    leaver: Option<&LeaverRun>,
    key: &str,
    deleted_at: Option<DateTime<Utc>>,
) -> StepOutcome {
    let deleted_at = deleted_at.or_else(|| {
        leaver.and_then(|l| match l.trace("user.delete") {
            Trace::Done(out) => out
                .get("deletedDateTime")
                .and_then(|v| serde_json::from_value(v.clone()).ok()),
            _ => None,
        })
    });
    let who = if same_principal(key, ctx.subject) {
        ctx.subject.to_string()
    } else {
        format!("{} (account {key})", ctx.subject)
    };
    let what = match deleted_at {
        Some(d) => {
            let purge = d + ChronoDuration::days(RETENTION_DAYS);
            let tense = if purge <= ctx.now { "was" } else { "is being" };
            format!(
                "{who} was deleted on {} and {tense} purged for good on {} (30 days later, R1 in docs/rules.md)",
                when(d),
                when(purge)
            )
        }
        None => format!(
            "{who} is neither in the tenant nor among the deleted users: it was purged (deleted \
             accounts are kept 30 days, R1 in docs/rules.md) or never existed; check the event subject"
        ),
    };
    StepOutcome::failed(format!(
        "{what}. Nothing can bring back the account, its mailbox, licenses or group memberships. \
         If the person returns, create a new account (a joiner); {}",
        backup_note(leaver)
    ))
}

/// The SKUs the account comes back with, by its snapshot (one seat each).
fn needed_seats(leaver: Option<&LeaverRun>, id: &UserId) -> BTreeSet<SkuId> {
    leaver
        .and_then(|l| l.snapshot.as_ref())
        .filter(|s| &s.user_id == id)
        .map(|s| s.licenses.iter().map(|l| l.sku_id.clone()).collect())
        .unwrap_or_default()
}

fn done(
    leaver: &Leaver,
    user: &User,
    restored: Option<&DeletedUser>,
    changed: Vec<String>,
) -> StepOutcome {
    let mut output = base_output(user);
    output.insert("restored".into(), json!(restored.is_some()));
    output.insert(
        "deletedDateTime".into(),
        json!(restored.map(|d| d.deleted_date_time)),
    );
    let (run, note) = match leaver {
        Leaver::Found(l) => {
            let note = match (&l.snapshot, l.trace("user.disable")) {
                (None, Trace::NotStarted) => Some(format!(
                    "{} stopped before its snapshot: it changed nothing, so there is nothing to undo",
                    l.describe()
                )),
                _ => None,
            };
            (Some(l.run.id), note)
        }
        other => (None, other.nothing_to_undo()),
    };
    output.insert("leaverRun".into(), json!(run));
    output.insert("note".into(), json!(note));
    let facts = if restored.is_some() {
        // A purge requested by the leaver no longer applies.
        vec![FactWrite::remove(format!("purge/{}", user.id))]
    } else {
        Vec::new()
    };
    StepOutcome::Done(StepReport {
        observed: json!({"deleted": restored}),
        changed,
        verified: json!({"active": true, "userId": user.id}),
        output: Value::Object(output),
        facts,
        ..StepReport::default()
    })
}

/// What stops the step, with the plan's blocker code for it.
pub(super) type Stop = (&'static str, StepOutcome);

/// What the step finds before changing anything.
pub(super) enum Found {
    /// The account is active: nothing to bring back.
    Active(User),
    /// The deleted account to restore, under the UPN it comes back with, and the SKUs of
    /// its licenses that have no free seat for this run (R13).
    Deleted {
        deleted: DeletedUser,
        upn: String,
        short: Vec<Seats>,
    },
}

/// The leaver run and the key to look the account up by (its account id, else the subject).
pub(super) fn leaver_key(ctx: &StepContext<'_>) -> Result<(Leaver, String), leaver_trace::Stop> {
    let leaver = leaver_trace::find(ctx)?;
    let key = match &leaver {
        Leaver::Found(l) => l.user_id().map(|id| id.to_string()),
        _ => None,
    }
    .unwrap_or_else(|| ctx.subject.trim().to_string());
    Ok((leaver, key))
}

/// Observes: the account active, or the one deleted account within its 30 days (R1) that is
/// not synced (R9), with its seat shortages.
pub(super) async fn observe(
    ctx: &StepContext<'_>,
    tenant: &dyn Tenant,
    leaver: &Leaver,
    key: &str,
) -> Result<Found, Stop> {
    let found = match leaver {
        Leaver::Found(l) => Some(l.as_ref()),
        _ => None,
    };
    let reading = |o: StepOutcome| ("cannot-read", o);
    match tenant.get_user(key).await {
        Ok(user) => return Ok(Found::Active(user)),
        Err(e) if is_not_found(&e) => {}
        Err(e) => {
            let doing = format!("reading user {}", ctx.subject);
            return Err(reading(StepOutcome::from_error(&doing, e)));
        }
    }
    let mut deleted = find_deleted(tenant, key).await.map_err(reading)?;
    if deleted.len() > 1 {
        let ids: Vec<String> = deleted.iter().map(|d| d.id.to_string()).collect();
        return Err((
            "ambiguous-deleted-user",
            StepOutcome::blocked(format!(
                "several deleted accounts had the UPN {key} ({}): send the restore with the object id \
             of the one to bring back as its subject",
                ids.join(", ")
            )),
        ));
    }
    let Some(d) = deleted.pop() else {
        return Err(("not-deleted", gone(ctx, found, key, None)));
    };
    if d.deleted_date_time + ChronoDuration::days(RETENTION_DAYS) <= ctx.now {
        return Err((
            "retention-expired",
            gone(ctx, found, key, Some(d.deleted_date_time)),
        ));
    }
    let upn = found
        .and_then(|l| l.snapshot.as_ref())
        .filter(|s| s.user_id == d.id)
        .map(|s| s.upn.clone())
        .unwrap_or_else(|| original_upn(&d).to_string());
    if found
        .and_then(|l| l.snapshot.as_ref())
        .is_some_and(|s| s.user_id == d.id && s.on_premises_sync_enabled == Some(true))
    {
        return Err((
            "synced-from-ad",
            StepOutcome::blocked(format!(
                "{upn} is synced from on-premises AD (R9, see docs/rules.md): restore it there (AD recycle bin); the next sync brings it back"
            )),
        ));
    }
    // R13: the account comes back with its licenses, each taking a seat.
    let needed = needed_seats(found, &d.id);
    let short = if needed.is_empty() {
        Vec::new()
    } else {
        let skus = skus_by_id(tenant, &upn).await.map_err(reading)?;
        shortages(ctx, &skus, &needed).map_err(|o| reading(*o))?
    };
    Ok(Found::Deleted {
        deleted: d,
        upn,
        short,
    })
}

/// Another account holds the UPN the restored one needs.
pub(super) fn upn_taken(upn: &str, other: &User) -> String {
    format!(
        "{upn} cannot be restored because another account now has that UPN: {} ({}). \
         Rename or delete that account (or restore this one under a new UPN in the \
         Entra admin center), then restart this step",
        other.display_name, other.id
    )
}

pub async fn run(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
    let (leaver, key) = match leaver_key(ctx) {
        Ok(l) => l,
        Err(o) => return *o,
    };
    let (d, upn) = match observe(ctx, tenant, &leaver, &key).await {
        Err((_, o)) => return o,
        Ok(Found::Active(user)) => return done(&leaver, &user, None, Vec::new()),
        Ok(Found::Deleted { short, upn, .. }) if !short.is_empty() => {
            return wait_for_seats(ctx, &upn, &short, Vec::new());
        }
        Ok(Found::Deleted { deleted, upn, .. }) => (deleted, upn),
    };

    match tenant.restore_deleted_user(&d.id).await {
        Ok(_) => {}
        // a lost response: the first restore went through (checked below)
        Err(e) if is_not_found(&e) => {}
        Err(e) if e.kind == ErrorKind::BadRequest => {
            if let Ok(other) = tenant.get_user(&upn).await
                && other.id != d.id
            {
                return StepOutcome::blocked(upn_taken(&upn, &other));
            }
            return StepOutcome::from_error(&format!("restoring {upn} ({})", d.id), e);
        }
        Err(e) => return StepOutcome::from_error(&format!("restoring {upn} ({})", d.id), e),
    }
    let user = match tenant.get_user(d.id.as_str()).await {
        Ok(u) => u,
        Err(e) if is_not_found(&e) => {
            return StepOutcome::Retry {
                after: Some(Duration::from_secs(30)),
                reason: format!(
                    "{upn} does not show among the users yet after its restore (replication)"
                ),
            };
        }
        Err(e) => return StepOutcome::from_error(&format!("verifying the restore of {upn}"), e),
    };
    let changed = vec![format!(
        "restored {} from the deleted users (deleted {})",
        user.user_principal_name,
        when(d.deleted_date_time)
    )];
    done(&leaver, &user, Some(&d), changed)
}
