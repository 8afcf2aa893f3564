//! The plan of `seats.reduce`: per SKU in scope, which subscription quantities would be
//! reduced now, scheduled for the renewal or recommended to the billing admin, from the
//! step's own reads (seats_reduce.rs) and the pure seat plan (seat_plan.rs). For
//! `scope = "released"` before the snapshot exists, the SKUs the user holds now are in scope
//! and each frees one seat, except the Exchange license licenses.remove would keep (R2).

use super::licenses_remove::observe;

use super::seat_plan::{Act, Policy, Seats, plan as seat_plan};
use super::seats_reduce::{Settings, read, settings, waiting_for};
use super::subject::resolve_user;
use super::{Snapshot, StepContext, StepOutcome, StepPlan};
use crate::ids::SkuId;
use crate::tenant::Tenant;
use std::collections::BTreeSet;

pub async fn plan(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepPlan {
    let Settings {
        buffer,
        recheck,
        reduce_now,
        released,
        off,
    } = match settings(ctx) {
        Ok(s) => s,
        Err(why) => return StepPlan::stopped("invalid-parameter", StepOutcome::failed(why)),
    };
    if let Some(why) = off {
        return StepPlan::doing(format!("nothing: {why}"));
    }
    // the SKUs in scope, and those of which this run frees one seat before the step
    let (ids, freed): (Vec<SkuId>, BTreeSet<SkuId>) = if released {
        match Snapshot::from_outputs(ctx) {
            Some(s) => (
                s.licenses.into_iter().map(|l| l.sku_id).collect(),
                BTreeSet::new(),
            ),
            None => {
                let user = match resolve_user(ctx, tenant).await {
                    Ok(u) => u,
                    Err(o) => return StepPlan::stopped("user-not-found", o),
                };
                let kept = match observe(ctx, tenant, true).await {
                    Ok(r) => r.kept.map(|(s, _)| s),
                    Err(_) => None,
                };
                let held: Vec<SkuId> = user
                    .assigned_licenses
                    .into_iter()
                    .map(|l| l.sku_id)
                    .collect();
                let freed = held
                    .iter()
                    .filter(|s| Some(*s) != kept.as_ref())
                    .cloned()
                    .collect();
                (held, freed)
            }
        }
    } else {
        match tenant.list_skus().await {
            Ok(list) => (
                list.into_iter().map(|s| s.sku_id).collect(),
                BTreeSet::new(),
            ),
            Err(e) => {
                let o = StepOutcome::from_error("listing the tenant's SKUs", e);
                return StepPlan::stopped("cannot-read", o);
            }
        }
    };
    let ids: BTreeSet<SkuId> = ids.into_iter().collect();
    let mut p = StepPlan::default();
    for sku in &ids {
        let waiting = match waiting_for(ctx, sku) {
            Ok(n) => n,
            Err(reason) => {
                p.block("cannot-read", reason);
                return p;
            }
        };
        let (s, subs) = match read(tenant, sku).await {
            Ok(r) => r,
            Err(o) => return StepPlan::stopped("cannot-read", o),
        };
        let part = &s.sku_part_number;
        if !s.capability_status.eq_ignore_ascii_case("Enabled") {
            p.does(format!(
                "{part}: nothing (the SKU is {}: its seats are not assignable)",
                s.capability_status
            ));
            continue;
        }
        let frees_one = freed.contains(sku);
        let seats = Seats {
            enabled: s.prepaid_units.enabled,
            consumed: (s.consumed_units - i64::from(frees_one)).max(0),
            buffer,
            waiting,
        };
        let policy = Policy {
            now: ctx.now,
            recheck,
            reduce_now,
        };
        let before = p.does.len();
        for sp in seat_plan(seats, &subs, policy) {
            let id = &sp.sub.company.id;
            let q = sp.sub.quantity();
            match sp.act {
                Act::None => {}
                Act::ReduceNow { to } => {
                    p.does(format!(
                        "{part}: reduce subscription {id} from {q} to {to} seats now ({})",
                        sp.reason
                    ));
                }
                Act::Schedule { to: Some(to) } => {
                    p.does(format!("{part}: schedule subscription {id} to renew with {to} instead of {q} seats ({})", sp.reason));
                }
                Act::Schedule { to: None } => {
                    p.does(format!(
                        "{part}: clear the scheduled renewal quantity of subscription {id} ({})",
                        sp.reason
                    ));
                }
                Act::Recommend { proposed } => {
                    p.does(format!("{part}: recommend to the billing admin to lower subscription {id} from {q} to {proposed} seats (R14 in docs/rules.md; {})", sp.reason));
                }
            }
        }
        if p.does.len() == before {
            p.does(format!(
                "{part}: nothing to reduce ({} enabled, {} in use{}, buffer {buffer}, {waiting} run(s) waiting)",
                seats.enabled,
                seats.consumed,
                if frees_one { " once this leaver's seat is free" } else { "" }
            ));
        }
    }
    if ids.is_empty() {
        p.does("nothing: no SKU in scope");
    }
    p
}
