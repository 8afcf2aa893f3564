//! The plan of `licenses.swap`: the SKUs and groups the mover's event names, resolved with
//! the step's own code (licenses_swap.rs), and whether `to` has a free seat (R13).

use super::licenses_swap::resolve;
use super::seats;
use super::subject::resolve_user;
use super::{StepContext, StepPlan};
use crate::tenant::Tenant;

pub async fn plan(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepPlan {
    let user = match resolve_user(ctx, tenant).await {
        Ok(u) => u,
        Err(o) => return StepPlan::stopped("user-not-found", o),
    };
    let upn = &user.user_principal_name;
    let swap = match resolve(ctx, tenant, upn).await {
        Ok(s) => s,
        Err(o) => return StepPlan::stopped("invalid-swap", o),
    };
    let (from, to) = (&swap.from.sku_part_number, &swap.to.sku_part_number);
    let holds_to = user.holds_sku(&swap.to.sku_id);
    if holds_to && !user.holds_sku(&swap.from.sku_id) {
        return StepPlan::doing(format!(
            "nothing: {upn} is on {to} and not on {from} already"
        ));
    }
    let mut p = StepPlan::default();
    if !user.holds_sku(&swap.from.sku_id) {
        p.warn(format!(
            "{upn} does not hold {from}: only {to} would be given"
        ));
    }
    if !holds_to {
        match seats::seats(ctx, &swap.to) {
            Ok(s) if !s.assignable() => {
                p.block(
                    "no-free-seat",
                    format!("no free seat of {} for {upn} (R13, see docs/rules.md): the run would wait in line and publish seat.shortage", s.describe()),
                );
            }
            Ok(_) => {}
            Err(reason) => {
                p.block("cannot-read", reason);
            }
        }
    }
    match (&swap.to_group, &swap.from_group) {
        (Some(tg), fg) => {
            p.does(format!(
                "add {upn} to '{}' (group-based {to}) and wait until {to} is active (R10, see docs/rules.md)",
                tg.display_name
            ));
            match fg {
                Some(fg) => p.does(format!(
                    "then remove {upn} from '{}' ({from}) and wait until {from} is gone",
                    fg.display_name
                )),
                None => p.does(format!("then remove {from} from {upn}")),
            };
        }
        (None, _) => {
            p.does(format!(
                "swap {from} for {to} on {upn} in one assignLicense call, never unlicensed (R11, see docs/rules.md)"
            ));
        }
    }
    p
}
