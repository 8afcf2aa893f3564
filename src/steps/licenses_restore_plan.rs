//! The plan of `licenses.restore`: the licenses and licensing groups the leaver's
//! `licenses.remove` recorded it took away, and whether a seat is free for each (R13).

use super::leaver_trace::{Trace, leaver_for_plan};
use super::seats;
use super::{StepContext, StepOutcome, StepPlan};
use crate::tenant::Tenant;
use serde_json::Value;

pub async fn plan(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepPlan {
    let l = match leaver_for_plan(ctx) {
        Ok(l) => l,
        Err(p) => return p,
    };
    let out = match l.trace("licenses.remove") {
        Trace::Done(out) => out,
        Trace::NotStarted => {
            return StepPlan::doing(format!("nothing: {} removed no license", l.describe()));
        }
        Trace::Partial { status, .. } => {
            return StepPlan::doing(format!(
                "compare the licenses with the snapshot and give back what is missing ({} stopped in licenses.remove, {status})",
                l.describe()
            ));
        }
    };
    let skus = match tenant.list_skus().await {
        Ok(s) => s,
        Err(e) => {
            let o = StepOutcome::from_error("listing the tenant's licenses", e);
            return StepPlan::stopped("cannot-read", o);
        }
    };
    let mut p = StepPlan::default();
    let removed = out
        .get("removed")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for r in &removed {
        let part = r
            .get("skuPartNumber")
            .and_then(Value::as_str)
            .unwrap_or("?");
        match r.get("groupName").and_then(Value::as_str) {
            Some(g) => p.does(format!(
                "add {} back to the licensing group '{g}' ({part})",
                ctx.subject
            )),
            None => p.does(format!("give {part} back to {} directly", ctx.subject)),
        };
        let Some(sku) = skus
            .iter()
            .find(|s| Some(s.sku_id.as_str()) == r.get("skuId").and_then(Value::as_str))
        else {
            continue;
        };
        match seats::seats(ctx, sku) {
            Ok(s) if !s.assignable() => {
                p.block(
                    "no-free-seat",
                    format!(
                        "no free seat of {} to give back to {} (R13, see docs/rules.md): the run would wait in line",
                        s.describe(),
                        ctx.subject
                    ),
                );
            }
            Ok(_) => {}
            Err(reason) => {
                p.block("cannot-read", reason);
            }
        }
    }
    if removed.is_empty() {
        p.does(format!("nothing: {} removed no license", l.describe()));
    }
    p
}
