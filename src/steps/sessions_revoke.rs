//! `sessions.revoke`: invalidates refresh tokens and session cookies (R16), only after
//! sign-in is disabled. A repeat within the same step sees the fresh timestamp and skips.

use super::subject::{base_output, resolve_user};
use super::{StepContext, StepOutcome, StepPlan, StepReport};
use crate::tenant::Tenant;
use crate::try_tenant;
use serde_json::{Value, json};
use std::time::Duration;

pub const PARAMS: &[&str] = &[];

pub async fn run(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
    let user = match resolve_user(ctx, tenant).await {
        Ok(u) => u,
        Err(o) => return o,
    };
    let upn = user.user_principal_name.clone();
    if user.account_enabled {
        return StepOutcome::failed(format!(
            "{upn} can still sign in: revoking sessions before disabling sign-in lets the user sign \
             in again at once (R16, see docs/rules.md). Put user.disable before sessions.revoke in the workflow"
        ));
    }
    let before = user.sign_in_sessions_valid_from;
    let observed = json!({"signInSessionsValidFrom": before});
    let mut changed = Vec::new();
    let already = before.is_some_and(|t| t >= ctx.step_started_at);
    if !already {
        try_tenant!(
            tenant.revoke_sign_in_sessions(&user.id).await,
            "revoking the sign-in sessions of {upn}"
        );
        changed.push(format!("revoked all sign-in sessions of {upn}"));
    }
    let after = try_tenant!(
        tenant.get_user(user.id.as_str()).await,
        "re-reading {upn} to verify the sessions were revoked"
    );
    let valid_from = after.sign_in_sessions_valid_from;
    let moved = match (before, valid_from) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(b), Some(a)) => a > b || a >= ctx.step_started_at,
    };
    if !moved && !already {
        return StepOutcome::Retry {
            after: Some(Duration::from_secs(30)),
            reason: format!(
                "signInSessionsValidFrom of {upn} did not move after revoking (replication); checking again"
            ),
        };
    }
    let mut output = base_output(&user);
    output.insert("signInSessionsValidFrom".into(), json!(valid_from));
    StepOutcome::Done(StepReport {
        observed,
        changed,
        verified: json!({"signInSessionsValidFrom": valid_from}),
        output: Value::Object(output),
        ..StepReport::default()
    })
}

/// What it would revoke (the user must exist; sign-in is blocked by `user.disable` first).
pub async fn plan(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepPlan {
    match resolve_user(ctx, tenant).await {
        Ok(user) => StepPlan::doing(format!(
            "revoke every refresh token and session cookie of {} once sign-in is blocked (R16, see docs/rules.md)",
            user.user_principal_name
        )),
        Err(o) => StepPlan::stopped("user-not-found", o),
    }
}
