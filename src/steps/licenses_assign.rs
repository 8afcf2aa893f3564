//! `licenses.assign`: gives the joiner the requested licenses (SKU part numbers) after a
//! free-seat check (R13), in one assignLicense call. SKUs the user already holds by any path
//! are skipped (never the same SKU twice); the usage location must be set first (R12). A SKU
//! without a free seat for this run (arrival order) makes the run wait in its seat line and
//! publish `seat.shortage`, never fail half-way; what could be assigned is assigned now.

use super::seats::{self, Seats};
use super::subject::{base_output, resolve_user};
use super::subject::{is_not_found, lookup_key};
use super::{StepContext, StepOutcome, StepPlan, StepReport, sku_ref};
use crate::tenant::{AssignedLicense, ErrorKind, Sku, Tenant, User};
use crate::try_tenant;
use serde_json::{Value, json};

pub const PARAMS: &[&str] = &["licenses", "disabled_plans"];

/// The requested SKUs and the plan ids to switch off in each.
struct Request {
    skus: Vec<Sku>,
    disabled: Vec<Vec<String>>,
}

fn request(ctx: &StepContext<'_>, tenant_skus: &[Sku]) -> Result<Request, String> {
    let refs = ctx.param_list("licenses")?;
    let source = ctx.source_of("licenses", "licenses");
    let skus = sku_ref::resolve_all(tenant_skus, &refs, &source)?;
    let plans = ctx.param_list("disabled_plans")?;
    let disabled: Vec<Vec<String>> = skus.iter().map(|s| sku_ref::plan_ids(s, &plans)).collect();
    for p in &plans {
        let known = skus
            .iter()
            .any(|s| !sku_ref::plan_ids(s, std::slice::from_ref(p)).is_empty());
        if !known {
            return Err(format!(
                "the service plan `{p}` (parameter `disabled_plans`) is in none of the requested licenses ({})",
                skus.iter()
                    .map(|s| s.sku_part_number.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    Ok(Request { skus, disabled })
}

fn names(skus: &[&Sku]) -> Vec<String> {
    skus.iter().map(|s| s.sku_part_number.clone()).collect()
}

pub async fn run(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
    let user = match resolve_user(ctx, tenant).await {
        Ok(u) => u,
        Err(o) => return o,
    };
    let upn = user.user_principal_name.clone();
    let tenant_skus = try_tenant!(
        tenant.list_skus().await,
        "listing the tenant's licenses (for {upn})"
    );
    let req = match request(ctx, &tenant_skus) {
        Ok(r) => r,
        Err(reason) => {
            return StepOutcome::failed(format!("assigning licenses to {upn}: {reason}"));
        }
    };
    let observed = json!({
        "requested": req.skus.iter().map(|s| &s.sku_part_number).collect::<Vec<_>>(),
        "usageLocation": user.usage_location,
        "licenses": user.license_assignment_states,
    });
    let held: Vec<&Sku> = req
        .skus
        .iter()
        .filter(|s| user.holds_sku(&s.sku_id))
        .collect();
    let missing: Vec<(&Sku, &Vec<String>)> = req
        .skus
        .iter()
        .zip(&req.disabled)
        .filter(|(s, _)| !user.holds_sku(&s.sku_id))
        .collect();
    if missing.is_empty() {
        return finish(&user, observed, Vec::new(), Vec::new(), &held);
    }
    if user.usage_location.is_none() {
        return StepOutcome::failed(format!(
            "{upn} has no usage location, so no license can be assigned (R12, see docs/rules.md): the workflow must run \
             usage.set before licenses.assign; set it and restart this step"
        ));
    }

    // Arrival order between runs that reach this step at the same moment: a run first stands
    // in the lines of the SKUs it needs (one checkpoint, no tenant change), then counts
    // seats again. Whoever arrived earlier and stands in line by then is ahead of it.
    let needed: Vec<&Sku> = missing.iter().map(|(s, _)| *s).collect();
    if needed
        .iter()
        .any(|s| !ctx.ledger.stands_in_line(&seats::line(s)))
    {
        return seats::enter_lines(ctx, &needed, &upn);
    }

    // R13: which SKUs this run may take a seat of now, in arrival order.
    let mut now_ok: Vec<(&Sku, &Vec<String>)> = Vec::new();
    let mut short: Vec<Seats> = Vec::new();
    for (sku, plans) in &missing {
        match seats::seats(ctx, sku) {
            Ok(s) if s.assignable() => now_ok.push((sku, plans)),
            Ok(s) => short.push(s),
            Err(reason) => return seats::retry(reason),
        }
    }

    let mut changed = Vec::new();
    let mut assigned: Vec<&Sku> = Vec::new();
    if !now_ok.is_empty() {
        let add: Vec<AssignedLicense> = now_ok
            .iter()
            .map(|(s, plans)| AssignedLicense {
                sku_id: s.sku_id.clone(),
                disabled_plans: (*plans).clone(),
            })
            .collect();
        let list = names(&now_ok.iter().map(|(s, _)| *s).collect::<Vec<_>>()).join(", ");
        match tenant.assign_license(&user.id, &add, &[]).await {
            Ok(()) => {
                changed.push(format!("assigned {list} to {upn}"));
                assigned = now_ok.iter().map(|(s, _)| *s).collect();
            }
            // Another assignment took the seat between the count and the call: nothing was
            // assigned (the call is all or nothing); wait in line for all of them.
            Err(e) if e.kind == ErrorKind::NoFreeSeats => {
                let skus: Vec<Sku> = now_ok.iter().map(|(s, _)| (*s).clone()).collect();
                match seats::refresh(ctx, tenant, &skus, &upn).await {
                    Ok(fresh) => short.extend(fresh),
                    Err(o) => return o,
                }
            }
            Err(e) if e.kind == ErrorKind::InvalidUsageLocation => {
                return StepOutcome::failed(format!(
                    "the tenant refused to assign {list} to {upn} because of its usage location `{}` (R12, see docs/rules.md): \
                     correct it (usage.set) and restart this step. ({e})",
                    user.usage_location.as_deref().unwrap_or("unset")
                ));
            }
            Err(e) => return StepOutcome::from_error(&format!("assigning {list} to {upn}"), e),
        }
    }
    if !short.is_empty() {
        return seats::wait_for(ctx, &short, &[], &upn, changed);
    }

    let after = try_tenant!(
        tenant.get_user(user.id.as_str()).await,
        "re-reading the licenses of {upn}"
    );
    let lost: Vec<&str> = req
        .skus
        .iter()
        .filter(|s| !after.holds_sku(&s.sku_id))
        .map(|s| s.sku_part_number.as_str())
        .collect();
    if !lost.is_empty() {
        return StepOutcome::Retry {
            after: Some(std::time::Duration::from_secs(30)),
            reason: format!(
                "{upn} does not show {} after the assignment; checking again",
                lost.join(", ")
            ),
        };
    }
    finish(&after, observed, changed, assigned, &held)
}

fn finish(
    user: &User,
    observed: Value,
    changed: Vec<String>,
    assigned: Vec<&Sku>,
    held: &[&Sku],
) -> StepOutcome {
    let mut output = base_output(user);
    output.insert("assigned".into(), json!(names(&assigned)));
    output.insert("alreadyHeld".into(), json!(names(held)));
    StepOutcome::Done(StepReport {
        observed,
        changed,
        verified: json!({"assignedLicenses": user.assigned_licenses}),
        output: Value::Object(output),
        ..StepReport::default()
    })
}

/// Which SKUs would be assigned; an unknown SKU or one without a free seat for this run
/// (free seats minus the runs ahead in its line, R13) is a blocker naming it.
pub async fn plan(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepPlan {
    let tenant_skus = match tenant.list_skus().await {
        Ok(s) => s,
        Err(e) => {
            let o = StepOutcome::from_error("listing the tenant's licenses", e);
            return StepPlan::stopped("cannot-read", o);
        }
    };
    let mut p = StepPlan::default();
    let refs = ctx.param_list("licenses").unwrap_or_default();
    let unknown: Vec<&String> = refs
        .iter()
        .filter(|r| sku_ref::find(&tenant_skus, r).is_none())
        .collect();
    let req = match request(ctx, &tenant_skus) {
        Ok(r) => r,
        Err(reason) => {
            let code = if unknown.is_empty() {
                "invalid-licenses"
            } else {
                "unknown-sku"
            };
            p.block(
                code,
                format!("assigning licenses to {}: {reason}", ctx.subject),
            );
            return p;
        }
    };
    let user = match tenant.get_user(lookup_key(ctx)).await {
        Ok(u) => Some(u),
        Err(e) if is_not_found(&e) => None,
        Err(e) => {
            let doing = format!("reading user {}", ctx.subject);
            return StepPlan::stopped("cannot-read", StepOutcome::from_error(&doing, e));
        }
    };
    for sku in &req.skus {
        let part = &sku.sku_part_number;
        if user.as_ref().is_some_and(|u| u.holds_sku(&sku.sku_id)) {
            p.does(format!(
                "nothing for {part}: {} holds it already",
                ctx.subject
            ));
            continue;
        }
        match seats::seats(ctx, sku) {
            Ok(s) if s.assignable() => {
                p.does(format!("assign {} to {}", s.describe(), ctx.subject));
            }
            Ok(s) => {
                p.block(
                    "no-free-seat",
                    format!(
                        "no free seat of {part} for {}: {} free, {} run(s) waiting ahead. The run would wait in line \
                         and publish seat.shortage until seats are bought or freed (R13, see docs/rules.md)",
                        ctx.subject,
                        s.free().max(0),
                        s.ahead
                    ),
                );
            }
            Err(reason) => {
                p.block("cannot-read", reason);
            }
        }
    }
    if req.skus.is_empty() {
        p.does(format!("nothing: no license requested for {}", ctx.subject));
    }
    p
}
