//! `seats.reduce`: gives back the seats nobody uses. Per SKU: free = enabled − consumed
//! (R13), target = consumed + `buffer` + the runs waiting in line for a seat of it (joiners,
//! movers, restores), never below consumed. CSP subscriptions (Partner
//! Center, docs/microsoft-365-api.md §9.2) are lowered now inside the 168 h window after purchase
//! or renewal, otherwise the lower quantity is scheduled for the renewal and re-checked within
//! `recheck_before` of it (R15); direct subscriptions get a `seat.recommendation` outcome for
//! the billing admin, since no API can lower them (R14). `scope = "released"` limits it to
//! the SKUs the run's user held at the snapshot (the leaver); the default is every SKU.
//! `reduce_now = false` schedules even inside the window, so the seats stay until the renewal
//! (the leaver: `hr.restore` finds them).

use super::seat_plan::{Act, Policy, Seats, SubInfo, SubPlan, plan};
use super::subject::is_not_found;
use super::{Emit, Snapshot, StepContext, StepOutcome, StepReport, param};
use crate::ids::SkuId;
use crate::tenant::{ErrorKind, ScheduledNextTermInstructions, Sku, Tenant};
use crate::try_tenant;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub const PARAMS: &[&str] = &["buffer", "recheck_before", "scope", "reduce_now", "enabled"];

const DEFAULT_RECHECK: Duration = Duration::from_secs(3 * 24 * 3600);
/// Rounds of read → act → re-read per SKU before giving up on a SKU whose counts keep moving.
const PASSES: usize = 3;

/// What one round did to a subscription, for the output.
struct Did {
    action: &'static str,
    from: i64,
    to: Option<i64>,
    reason: String,
}

/// The step's parameters.
pub(super) struct Settings {
    pub buffer: i64,
    pub recheck: chrono::Duration,
    pub reduce_now: bool,
    /// `scope = "released"`: only the SKUs the run's user held.
    pub released: bool,
    /// Why the step gives nothing back this time: a leaver's seat reduction that neither the
    /// configuration (`seats_on_leave`) nor the step (`enabled = true`) turned on.
    pub off: Option<String>,
}

/// The output and plan line of a seat reduction that is off.
pub(super) const OFF_ON_LEAVE: &str = "seat reduction on leave is off: the leaver's seats stay in the subscription (set seats_on_leave = true / OFFBOARD_SEATS_ON_LEAVE=true, or enabled = true on this step, to give them back)";

/// `Err` says which parameter is wrong.
pub(super) fn settings(ctx: &StepContext<'_>) -> Result<Settings, String> {
    let default_buffer = i64::from(ctx.env.seats.buffer);
    let buffer = match param::int(ctx, "buffer", default_buffer, 0, 1_000_000) {
        Ok(n) => n,
        Err(e) => return Err(format!("{e}; fix the workflow file")),
    };
    let recheck = match param::duration(ctx, "recheck_before", DEFAULT_RECHECK)
        .map(chrono::Duration::from_std)
    {
        Ok(Ok(d)) => d,
        Ok(Err(_)) => {
            return Err("parameter `recheck_before` is too long".into());
        }
        Err(e) => return Err(format!("{e}; fix the workflow file")),
    };
    let released = match ctx.param_str("scope").unwrap_or("tenant") {
        "tenant" => false,
        "released" => true,
        other => {
            return Err(format!(
                "parameter `scope` is `{other}`; it must be `tenant` or `released`"
            ));
        }
    };
    let enabled = ctx.param_bool("enabled", ctx.env.seats.on_leave);
    Ok(Settings {
        buffer,
        recheck,
        reduce_now: ctx.param_bool("reduce_now", true),
        released,
        off: (released && !enabled).then(|| OFF_ON_LEAVE.to_string()),
    })
}

/// Runs waiting in line for a seat of `sku` (their seats are kept); `Err` says why offboard's
/// store could not tell.
pub(super) fn waiting_for(ctx: &StepContext<'_>, sku: &SkuId) -> Result<i64, String> {
    match ctx.ledger.ahead_in_line(&format!("seat/{sku}")) {
        Ok(n) => Ok(i64::try_from(n).unwrap_or(i64::MAX / 2)),
        Err(e) => Err(format!("reading the runs waiting for a seat of {sku}: {e}")),
    }
}

pub async fn run(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
    let Settings {
        buffer,
        recheck,
        reduce_now,
        released,
        off,
    } = match settings(ctx) {
        Ok(s) => s,
        Err(why) => return StepOutcome::failed(why),
    };
    if let Some(why) = off {
        return StepOutcome::Done(StepReport {
            observed: json!({"scope": "released"}),
            output: json!({"action": "none", "reason": why, "skus": []}),
            ..StepReport::default()
        });
    }
    let scope: Option<BTreeSet<SkuId>> = match released {
        false => None,
        true => match Snapshot::from_outputs(ctx) {
            Some(s) => Some(s.licenses.into_iter().map(|l| l.sku_id).collect()),
            None => {
                return StepOutcome::failed(
                    "scope = \"released\" needs a user.snapshot step earlier in the workflow (it names the SKUs the user held)",
                );
            }
        },
    };

    let skus = try_tenant!(tenant.list_skus().await, "listing the tenant's SKUs");
    let mut ids: Vec<SkuId> = skus
        .iter()
        .filter(|s| scope.as_ref().is_none_or(|sc| sc.contains(&s.sku_id)))
        .map(|s| s.sku_id.clone())
        .collect();
    ids.sort();
    let mut out = Vec::new();
    let mut changed = Vec::new();
    let mut emit = Vec::new();
    for sku in &ids {
        let policy = Policy {
            now: ctx.now,
            recheck,
            reduce_now,
        };
        let waiting = match waiting_for(ctx, sku) {
            Ok(n) => n,
            Err(reason) => {
                return StepOutcome::Retry {
                    after: None,
                    reason,
                };
            }
        };
        match one_sku(tenant, sku, buffer, waiting, policy).await {
            Ok((v, c, e)) => {
                out.push(v);
                changed.extend(c);
                emit.extend(e);
            }
            Err(o) => return o,
        }
    }
    StepOutcome::Done(StepReport {
        observed: json!({"skus": ids.len(), "scope": if scope.is_some() { "released" } else { "tenant" }}),
        changed,
        verified: json!({"recommendations": emit.len()}),
        output: json!({"buffer": buffer, "skus": out}),
        emit,
        ..StepReport::default()
    })
}

/// The SKU and its subscriptions, read fresh: the subscriptions first, the seat counts
/// last. Other runs only lower quantities, so counts read after the quantities can only
/// show fewer seats than those quantities add up to, and a plan made from them errs on the
/// side of keeping seats (the other order once took a SKU below its seats in use).
pub(super) async fn read(
    tenant: &dyn Tenant,
    sku: &SkuId,
) -> Result<(Sku, Vec<SubInfo>), StepOutcome> {
    let fail = |doing: String, e| StepOutcome::from_error(&doing, e);
    let all = tenant.list_subscriptions().await.map_err(|e| {
        fail(
            "listing the subscriptions (GET /directory/subscriptions)".into(),
            e,
        )
    })?;
    let mut subs = Vec::new();
    for c in all.into_iter().filter(|c| &c.sku_id == sku) {
        let (partner, no_partner) = match tenant
            .get_partner_subscription(&c.commerce_subscription_id)
            .await
        {
            Ok(p) => (Some(p), None),
            Err(e) if is_not_found(&e) => (None, None),
            Err(e) if e.kind == ErrorKind::NotConfigured => (
                None,
                Some(
                    "no CSP partner is configured: set OFFBOARD_PARTNER_TENANT_ID and OFFBOARD_CSP_CUSTOMER_ID if a partner sells this tenant's licenses".to_string(),
                ),
            ),
            Err(e) if matches!(e.kind, ErrorKind::Unauthorized | ErrorKind::Forbidden) => (
                None,
                Some(format!(
                    "Partner Center refused to show it ({e}): the tenant has no CSP partner relationship offboard can use; if it has one, check OFFBOARD_PARTNER_TENANT_ID and OFFBOARD_CSP_CUSTOMER_ID"
                )),
            ),
            Err(e) => {
                return Err(fail(
                    format!(
                        "reading subscription {} of {} in Partner Center",
                        c.commerce_subscription_id, c.sku_part_number
                    ),
                    e,
                ));
            }
        };
        subs.push(SubInfo {
            company: c,
            partner,
            no_partner,
        });
    }
    let skus = tenant
        .list_skus()
        .await
        .map_err(|e| fail("listing the tenant's SKUs".into(), e))?;
    let Some(s) = skus.into_iter().find(|s| &s.sku_id == sku) else {
        return Err(StepOutcome::failed(format!(
            "the SKU {sku} disappeared from the tenant while its seats were being reduced"
        )));
    };
    Ok((s, subs))
}

type SkuResult = Result<(Value, Vec<String>, Vec<Emit>), StepOutcome>;

async fn one_sku(
    tenant: &dyn Tenant,
    sku: &SkuId,
    buffer: i64,
    waiting: i64,
    policy: Policy,
) -> SkuResult {
    let mut did: BTreeMap<String, Did> = BTreeMap::new();
    let mut changed = Vec::new();
    let mut first: Option<Seats> = None;
    for _ in 0..PASSES {
        let (s, subs) = read(tenant, sku).await?;
        let seats = Seats {
            enabled: s.prepaid_units.enabled,
            consumed: s.consumed_units,
            buffer,
            waiting,
        };
        let first = *first.get_or_insert(seats);
        let part = s.sku_part_number.clone();
        if !s.capability_status.eq_ignore_ascii_case("Enabled") {
            let why = format!(
                "the SKU is {}: its seats are not assignable",
                s.capability_status
            );
            return Ok((
                sku_json(&s, first, seats, "none", &why, &[], &did),
                changed,
                Vec::new(),
            ));
        }
        let plans = plan(seats, &subs, policy);
        let mut acted = false;
        for p in &plans {
            if let Some(d) = act(tenant, &part, p).await? {
                changed.push(format!(
                    "{part}: subscription {} {} ({})",
                    p.sub.company.id, d.action, d.reason
                ));
                did.insert(p.sub.company.id.clone(), d);
                acted = true;
            }
        }
        if acted {
            continue; // re-read: verifies, and catches counts that moved meanwhile
        }
        if seats.enabled < seats.consumed && did.values().any(|d| d.action == "reduced") {
            return Err(StepOutcome::failed(format!(
                "{part} has {} seats enabled and {} in use after this step reduced it (a seat was assigned \
                 meanwhile): add {} seats back in Partner Center",
                seats.enabled,
                seats.consumed,
                seats.consumed - seats.enabled
            )));
        }
        let emit: Vec<Emit> = plans
            .iter()
            .filter_map(|p| match p.act {
                Act::Recommend { proposed } => Some(Emit::new(
                    "seat.recommendation",
                    json!({
                        "sku": sku, "skuPartNumber": part,
                        "subscriptionId": p.sub.company.id,
                        "commerceSubscriptionId": p.sub.company.commerce_subscription_id,
                        "current": p.sub.quantity(), "proposed": proposed, "reason": p.reason,
                    }),
                )),
                _ => None,
            })
            .collect();
        let (action, why) = summary(&plans, &did, subs.is_empty(), seats);
        return Ok((
            sku_json(&s, first, seats, action, &why, &plans, &did),
            changed,
            emit,
        ));
    }
    Err(StepOutcome::Retry {
        after: None,
        reason: format!(
            "the seat counts of {sku} kept changing while they were being reduced ({PASSES} rounds); trying again"
        ),
    })
}

/// Carries out one subscription's plan; `Some` when it changed something.
async fn act(tenant: &dyn Tenant, part: &str, p: &SubPlan) -> Result<Option<Did>, StepOutcome> {
    let id = &p.sub.company.commerce_subscription_id;
    let Some(read) = &p.sub.partner else {
        return Ok(None);
    };
    let mut sub = read.clone();
    let (action, to) = match p.act {
        Act::ReduceNow { to } => {
            sub.quantity = to;
            ("reduced", Some(to))
        }
        Act::Schedule { to } => {
            sub.scheduled_next_term_instructions = match (to, read.current_product()) {
                (Some(q), Some(product)) => Some(ScheduledNextTermInstructions {
                    product,
                    quantity: q,
                    custom_term_end_date: None,
                }),
                (Some(_), None) => {
                    return Err(StepOutcome::failed(format!(
                        "{part}: subscription {id} has no product to renew into (offer id `{}`)",
                        read.offer_id
                    )));
                }
                (None, _) => None,
            };
            (if to.is_some() { "scheduled" } else { "cleared" }, to)
        }
        Act::None | Act::Recommend { .. } => return Ok(None),
    };
    match tenant.update_partner_subscription(&sub).await {
        Ok(_) => Ok(Some(Did {
            action,
            from: read.quantity,
            to,
            reason: p.reason.clone(),
        })),
        // the window closed between the read and the PATCH: the next attempt schedules instead
        Err(e) if e.kind == ErrorKind::ReductionWindowClosed => Err(StepOutcome::Retry {
            after: None,
            reason: format!(
                "{part}: the 168 h window of subscription {id} closed while it was being reduced ({e}); \
                 the next attempt schedules the reduction for the renewal"
            ),
        }),
        Err(e) => Err(StepOutcome::from_error(
            &format!("changing subscription {id} of {part} in Partner Center"),
            e,
        )),
    }
}

/// The SKU's action: what this step did, else what it recommends, else none.
fn summary(
    plans: &[SubPlan],
    did: &BTreeMap<String, Did>,
    no_subs: bool,
    seats: Seats,
) -> (&'static str, String) {
    let reasons = |f: &dyn Fn(&Did) -> bool| {
        did.values()
            .filter(|d| f(d))
            .map(|d| d.reason.clone())
            .collect::<Vec<_>>()
            .join("; ")
    };
    if did.values().any(|d| d.action == "reduced") {
        return ("reduced", reasons(&|d| d.action == "reduced"));
    }
    if !did.is_empty() {
        return ("scheduled", reasons(&|_| true));
    }
    let recs: Vec<&SubPlan> = plans
        .iter()
        .filter(|p| matches!(p.act, Act::Recommend { .. }))
        .collect();
    if !recs.is_empty() {
        let why = recs.iter().map(|p| p.reason.clone()).collect::<Vec<_>>();
        return ("recommended", why.join("; "));
    }
    if no_subs && seats.excess() > 0 {
        return (
            "none",
            "no subscription of this SKU is listed (GET /directory/subscriptions): nothing to reduce".into(),
        );
    }
    let why = plans.iter().map(|p| p.reason.clone()).collect::<Vec<_>>();
    if why.is_empty() {
        (
            "none",
            format!(
                "{} free, buffer {}: nothing to reduce",
                seats.enabled - seats.consumed,
                seats.buffer
            ),
        )
    } else {
        ("none", why.join("; "))
    }
}

fn sku_json(
    s: &Sku,
    before: Seats,
    after: Seats,
    action: &str,
    why: &str,
    plans: &[SubPlan],
    did: &BTreeMap<String, Did>,
) -> Value {
    let subs: Vec<Value> = plans
        .iter()
        .map(|p| {
            let id = &p.sub.company.id;
            let kind = if p.sub.partner.is_some() {
                "csp"
            } else {
                "direct"
            };
            match did.get(id) {
                Some(d) => json!({"id": id, "kind": kind, "action": d.action, "from": d.from,
                    "to": d.to, "reason": d.reason}),
                None => {
                    let (action, proposed) = match p.act {
                        Act::Recommend { proposed } => ("recommended", Some(proposed)),
                        _ => ("none", None),
                    };
                    json!({"id": id, "kind": kind, "action": action, "quantity": p.sub.quantity(),
                        "proposed": proposed, "reason": p.reason,
                        "scheduled": p.sub.partner.as_ref()
                            .and_then(|x| x.scheduled_next_term_instructions.as_ref())
                            .map(|i| i.quantity)})
                }
            }
        })
        .collect();
    json!({
        "skuId": s.sku_id, "skuPartNumber": s.sku_part_number,
        "enabled": before.enabled, "consumed": before.consumed,
        "free": before.enabled - before.consumed, "buffer": before.buffer,
        "waiting": before.waiting,
        "target": before.target(),
        "enabledAfter": after.enabled,
        "action": action, "reason": why,
        "subscriptions": subs,
    })
}
