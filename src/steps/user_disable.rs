//! `user.disable`: blocks sign-in (R16, first step of a leaver). Already disabled → done
//! without a change; an account synced from on-premises AD (R9) must be disabled there.

use super::subject::{base_output, resolve_user};
use super::{StepContext, StepOutcome, StepPlan, StepReport};
use crate::tenant::{Tenant, User};
use crate::try_tenant;
use serde_json::{Value, json};
use std::time::Duration;

pub const PARAMS: &[&str] = &[];

/// Why sign-in of `user` cannot be blocked from here: synced from on-premises AD (R9).
fn refusal(user: &User) -> Option<String> {
    user.is_synced().then(|| {
        format!(
            "{} is synced from on-premises AD (R9, see docs/rules.md): disable it there; restart this run after the next sync",
            user.user_principal_name
        )
    })
}

pub async fn run(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
    let user = match resolve_user(ctx, tenant).await {
        Ok(u) => u,
        Err(o) => return o,
    };
    let upn = user.user_principal_name.clone();
    let observed = json!({"accountEnabled": user.account_enabled,
        "onPremisesSyncEnabled": user.on_premises_sync_enabled});
    let mut changed = Vec::new();
    if user.account_enabled {
        if let Some(why) = refusal(&user) {
            return StepOutcome::blocked(why);
        }
        try_tenant!(
            tenant.set_account_enabled(&user.id, false).await,
            "disabling sign-in for {upn}"
        );
        changed.push(format!("disabled sign-in for {upn}"));
    }
    let after = try_tenant!(
        tenant.get_user(user.id.as_str()).await,
        "re-reading {upn} to verify sign-in is disabled"
    );
    if after.account_enabled {
        return StepOutcome::Retry {
            after: Some(Duration::from_secs(30)),
            reason: format!(
                "{upn} still reports accountEnabled=true after disabling (directory replication); checking again"
            ),
        };
    }
    StepOutcome::Done(StepReport {
        observed,
        changed,
        verified: json!({"accountEnabled": false}),
        output: Value::Object(base_output(&user)),
        ..StepReport::default()
    })
}

/// Already disabled, synced (blocker), or what it would change.
pub async fn plan(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepPlan {
    let user = match resolve_user(ctx, tenant).await {
        Ok(u) => u,
        Err(o) => return StepPlan::stopped("user-not-found", o),
    };
    let upn = &user.user_principal_name;
    if !user.account_enabled {
        return StepPlan::doing(format!("nothing: sign-in of {upn} is blocked already"));
    }
    let mut p = StepPlan::default();
    match refusal(&user) {
        Some(why) => p.block("synced-from-ad", why),
        None => p.does(format!("block sign-in for {upn} (accountEnabled = false)")),
    };
    p
}
