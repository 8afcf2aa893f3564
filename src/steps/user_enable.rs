//! `user.enable`: undoes the leaver's `user.disable`: allows sign-in again when the snapshot
//! had it allowed and it is blocked now. Sign-in blocked before the leaver stays blocked;
//! revoked sessions cannot be given back (the person signs in again).

use super::leaver_trace::{self, Leaver, LeaverRun, Trace, other_account};
use super::subject::base_output;
use super::{StepContext, StepOutcome, StepPlan, StepReport};
use crate::tenant::{Tenant, User};
use crate::try_tenant;
use serde_json::{Value, json};
use std::time::Duration;

pub const PARAMS: &[&str] = &[];

/// `user` as observed; `enabled`: whether sign-in is allowed at the end.
fn done(user: &User, enabled: bool, changed: Vec<String>, notes: Vec<String>) -> StepOutcome {
    let mut output = base_output(user);
    output.insert("accountEnabled".into(), json!(enabled));
    output.insert("notes".into(), json!(notes));
    StepOutcome::Done(StepReport {
        observed: json!({"accountEnabled": user.account_enabled}),
        changed,
        verified: json!({"accountEnabled": enabled}),
        output: Value::Object(output),
        ..StepReport::default()
    })
}

/// Revoked sessions cannot be given back.
fn revoked_note(l: &LeaverRun, upn: &str) -> Option<String> {
    (!matches!(l.trace("sessions.revoke"), Trace::NotStarted)).then(|| {
        format!(
            "{} revoked the sign-in sessions of {upn}; that cannot be undone: the person signs in again",
            l.describe()
        )
    })
}

pub async fn run(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
    let (leaver, user) = match leaver_trace::leaver_and_user(ctx, tenant).await {
        Ok(found) => found,
        Err(o) => return o,
    };
    let upn = user.user_principal_name.clone();
    let l = match &leaver {
        Leaver::Found(l) => l,
        other => {
            let notes = other.nothing_to_undo().into_iter().collect();
            return done(&user, user.account_enabled, Vec::new(), notes);
        }
    };
    if !l.is_of(&user.id) {
        return other_account(l, &upn, &user.id);
    }
    let mut notes: Vec<String> = revoked_note(l, &upn).into_iter().collect();
    if matches!(l.trace("user.disable"), Trace::NotStarted) {
        notes.push(format!("{} did not block sign-in", l.describe()));
        return done(&user, user.account_enabled, Vec::new(), notes);
    }
    let snapshot = match l.snapshot_for("user.disable", &upn) {
        Ok(s) => s,
        Err(o) => return *o,
    };
    if !snapshot.account_enabled {
        notes.push(format!(
            "sign-in of {upn} was already blocked before the leaver: it stays blocked"
        ));
        return done(&user, user.account_enabled, Vec::new(), notes);
    }
    notes.extend(l.partial_note("user.disable"));
    let mut changed = Vec::new();
    if !user.account_enabled {
        if user.is_synced() {
            return StepOutcome::blocked(format!(
                "{upn} is synced from on-premises AD (R9, see docs/rules.md): enable it there; restart this run after the next sync"
            ));
        }
        try_tenant!(
            tenant.set_account_enabled(&user.id, true).await,
            "allowing sign-in for {upn} again"
        );
        changed.push(format!("allowed sign-in for {upn} again"));
    }
    let after = try_tenant!(
        tenant.get_user(user.id.as_str()).await,
        "re-reading {upn} to verify sign-in is allowed"
    );
    if !after.account_enabled {
        return StepOutcome::Retry {
            after: Some(Duration::from_secs(30)),
            reason: format!(
                "{upn} still reports accountEnabled=false after enabling (directory replication); checking again"
            ),
        };
    }
    done(&user, true, changed, notes)
}

/// Whether sign-in would be allowed again, from the leaver's journal and snapshot.
pub async fn plan(ctx: &StepContext<'_>, _tenant: &dyn Tenant) -> StepPlan {
    let l = match leaver_trace::leaver_for_plan(ctx) {
        Ok(l) => l,
        Err(p) => return p,
    };
    let upn = l
        .snapshot
        .as_ref()
        .map_or_else(|| ctx.subject.to_string(), |s| s.upn.clone());
    let mut p = StepPlan::default();
    p.warnings.extend(revoked_note(&l, &upn));
    if matches!(l.trace("user.disable"), Trace::NotStarted) {
        p.does(format!("nothing: {} did not block sign-in", l.describe()));
        return p;
    }
    match &l.snapshot {
        None => {
            p.block(
                "no-snapshot",
                format!(
                    "{} blocked sign-in of {upn} without a snapshot: check the account by hand",
                    l.describe()
                ),
            );
        }
        Some(s) if !s.account_enabled => {
            p.does(format!(
                "nothing: sign-in of {upn} was blocked before the leaver and stays blocked"
            ));
        }
        Some(s) if s.on_premises_sync_enabled == Some(true) => {
            p.block(
                "synced-from-ad",
                format!(
                    "{upn} is synced from on-premises AD (R9, see docs/rules.md): enable it there"
                ),
            );
        }
        Some(_) => {
            p.does(format!(
                "allow sign-in for {upn} again (blocked by {})",
                l.describe()
            ));
        }
    }
    p
}
