//! `usage.set`: sets the joiner's usage location, which license assignment needs (R12). The
//! code is checked against the officially assigned ISO 3166-1 alpha-2 codes before any tenant
//! call, so a bad code fails at once naming the value and where it came from, instead of a
//! Graph 400 at license time. Already set to that code → done without a change.

use super::subject::{base_output, resolve_user};
use super::{StepContext, StepOutcome, StepPlan, StepReport, country_codes};
use crate::tenant::Tenant;
use crate::try_tenant;
use serde_json::{Value, json};
use std::time::Duration;

pub const PARAMS: &[&str] = &["usage_location"];

/// The code asked for (`None`: not given); `Err` says why the given one is not valid, which
/// fails the step before any call.
fn wanted(ctx: &StepContext<'_>) -> Result<Option<&'static str>, String> {
    let source = ctx.source_of("usage_location", "usageLocation");
    match ctx.param_str("usage_location") {
        None => Ok(None),
        Some(raw) => match country_codes::assigned(raw) {
            Some(code) => Ok(Some(code)),
            None => {
                let hint = country_codes::hint(raw)
                    .map(|h| format!(" Did you mean {h}?"))
                    .unwrap_or_default();
                Err(format!(
                    "usage location `{raw}` ({source}) for {} is not an officially assigned ISO 3166-1 \
                     alpha-2 country code, so no license could be assigned (R12, see docs/rules.md).{hint} Nothing was \
                     changed; send a corrected event",
                    ctx.subject
                ))
            }
        },
    }
}

pub async fn run(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
    let source = ctx.source_of("usage_location", "usageLocation");
    let wanted = match wanted(ctx) {
        Ok(w) => w,
        Err(why) => return StepOutcome::failed(why),
    };
    let user = match resolve_user(ctx, tenant).await {
        Ok(u) => u,
        Err(o) => return o,
    };
    let upn = user.user_principal_name.clone();
    let current = user.usage_location.clone();
    let observed = json!({"usageLocation": current});
    let Some(code) = wanted else {
        return match &current {
            Some(c) if country_codes::assigned(c).is_some() => StepOutcome::Done(StepReport {
                observed,
                changed: Vec::new(),
                verified: json!({"usageLocation": c}),
                output: output(&user, c),
                ..StepReport::default()
            }),
            _ => StepOutcome::failed(format!(
                "no usage location was given ({source} is empty) and {upn} has {}; licenses can only \
                 be assigned with one (R12, see docs/rules.md): send the event with usageLocation set",
                current
                    .as_deref()
                    .map(|c| format!("only the invalid `{c}`"))
                    .unwrap_or_else(|| "none".into())
            )),
        };
    };
    let mut changed = Vec::new();
    if current.as_deref() != Some(code) {
        try_tenant!(
            tenant.set_usage_location(&user.id, code).await,
            "setting the usage location of {upn} to {code}"
        );
        changed.push(format!(
            "set the usage location of {upn} to {code} (was {})",
            current.as_deref().unwrap_or("unset")
        ));
    }
    let after = try_tenant!(
        tenant.get_user(user.id.as_str()).await,
        "re-reading {upn} to verify its usage location"
    );
    if after.usage_location.as_deref() != Some(code) {
        return StepOutcome::Retry {
            after: Some(Duration::from_secs(30)),
            reason: format!(
                "{upn} reports usage location {:?} after setting it to {code} (directory replication); checking again",
                after.usage_location
            ),
        };
    }
    StepOutcome::Done(StepReport {
        observed,
        changed,
        verified: json!({"usageLocation": code}),
        output: output(&user, code),
        ..StepReport::default()
    })
}

fn output(user: &crate::tenant::User, code: &str) -> Value {
    let mut m = base_output(user);
    m.insert("usageLocation".into(), json!(code));
    Value::Object(m)
}

/// The code that would be set; an invalid or missing one is a blocker.
pub async fn plan(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepPlan {
    let wanted = match wanted(ctx) {
        Ok(w) => w,
        Err(why) => {
            return StepPlan::stopped("invalid-usage-location", StepOutcome::failed(why));
        }
    };
    let current = match tenant.get_user(super::subject::lookup_key(ctx)).await {
        Ok(u) => u.usage_location,
        Err(e) if super::subject::is_not_found(&e) => None,
        Err(e) => {
            let doing = format!("reading user {}", ctx.subject);
            return StepPlan::stopped("cannot-read", StepOutcome::from_error(&doing, e));
        }
    };
    match (wanted, current) {
        (Some(code), Some(c)) if c == code => StepPlan::doing(format!(
            "nothing: the usage location of {} is {code} already",
            ctx.subject
        )),
        (Some(code), c) => StepPlan::doing(format!(
            "set the usage location of {} to {code} (now {})",
            ctx.subject,
            c.as_deref().unwrap_or("unset")
        )),
        (None, Some(c)) if country_codes::assigned(&c).is_some() => StepPlan::doing(format!(
            "nothing: no usage location given, {} keeps {c}",
            ctx.subject
        )),
        (None, _) => {
            let mut p = StepPlan::default();
            p.block(
                "no-usage-location",
                format!(
                    "no usage location was given and {} has no valid one; licenses can only be assigned with one (R12, see docs/rules.md): send the event with usageLocation set",
                    ctx.subject
                ),
            );
            p
        }
    }
}
