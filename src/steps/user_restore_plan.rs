//! The plan of `user.restore`, from the step's own observation (user_restore.rs): whether a
//! deleted account can come back within its 30 days, and what would stop it (several
//! matches, synced, no free seat, its UPN taken by another account, nothing deleted).

use super::subject::is_not_found;
use super::user_restore::{Found, RETENTION_DAYS, leaver_key, observe, upn_taken, when};
use super::{StepContext, StepOutcome, StepPlan};
use crate::tenant::Tenant;
use chrono::Duration;

pub async fn plan(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepPlan {
    let (leaver, key) = match leaver_key(ctx) {
        Ok(l) => l,
        Err(o) => return StepPlan::stopped("cannot-read", *o),
    };
    let (d, upn, short) = match observe(ctx, tenant, &leaver, &key).await {
        Err((code, o)) => return StepPlan::stopped(code, o),
        Ok(Found::Active(user)) => {
            let upn = &user.user_principal_name;
            let mut p = StepPlan::default();
            match leaver.nothing_to_undo() {
                None => p.does(format!(
                    "nothing to bring back: {upn} is active (its leaver did not delete it)"
                )),
                Some(why) => p.block(
                    "not-deleted",
                    format!("{upn} is an active account, not a deleted one, and {why}: this restore would change nothing"),
                ),
            };
            return p;
        }
        Ok(Found::Deleted {
            deleted,
            upn,
            short,
        }) => (deleted, upn, short),
    };
    let mut p = StepPlan::default();
    for s in &short {
        p.block(
            "no-free-seat",
            format!(
                "no free seat of {} to give back to {upn} (R13, see docs/rules.md): the run would wait in line",
                s.describe()
            ),
        );
    }
    // the step finds this out when the restore is refused; the plan looks first
    match tenant.get_user(&upn).await {
        Ok(other) if other.id != d.id => {
            p.block("upn-taken", upn_taken(&upn, &other));
        }
        Ok(_) => {}
        Err(e) if is_not_found(&e) => {}
        Err(e) => {
            let doing = format!("looking up the UPN {upn}");
            return StepPlan::stopped("cannot-read", StepOutcome::from_error(&doing, e));
        }
    }
    if p.blockers.is_empty() {
        p.does(format!(
            "restore {upn} from the deleted users (deleted {}, restorable until {})",
            when(d.deleted_date_time),
            when(d.deleted_date_time + Duration::days(RETENTION_DAYS))
        ));
    }
    p
}
