//! Seat checks of a restore (R13), on the shared seat lines of `seats.rs`: a license given
//! back takes a free seat, and runs that arrived earlier and wait for one (line
//! `seat/{skuId}`, e.g. joiners) go first. Without a seat the step waits in line and
//! publishes the same `seat.shortage` outcome as a joiner instead of failing half-way.

use super::leaver_trace::Stop;
use super::seats::{self, Seats};
use super::{StepContext, StepOutcome};
use crate::ids::SkuId;
use crate::tenant::Sku;
use std::collections::{BTreeMap, BTreeSet};

/// The SKUs of `needed` with no seat left for this run: free seats (enabled − consumed) not
/// more than the runs ahead of it in line. A SKU the tenant does not list is no shortage
/// (assigning it fails with a clear error instead).
pub(crate) fn shortages(
    ctx: &StepContext<'_>,
    skus: &BTreeMap<SkuId, Sku>,
    needed: &BTreeSet<SkuId>,
) -> Result<Vec<Seats>, Stop> {
    let mut out = Vec::new();
    for sku in needed {
        let Some(k) = skus.get(sku) else { continue };
        let s = seats::seats(ctx, k).map_err(|reason| Box::new(seats::retry(reason)))?;
        if !s.assignable() {
            out.push(s);
        }
    }
    Ok(out)
}

/// The seats of `needed` as lost to a race (the tenant said none was free).
pub(crate) fn taken(skus: &BTreeMap<SkuId, Sku>, needed: &BTreeSet<SkuId>) -> Vec<Seats> {
    needed
        .iter()
        .filter_map(|s| skus.get(s))
        .map(|sku| Seats {
            sku: sku.clone(),
            ahead: 0,
        })
        .collect()
}

/// Waits in the lines of the short SKUs (publishing `seat.shortage` on joining a line).
pub(crate) fn wait_for_seats(
    ctx: &StepContext<'_>,
    upn: &str,
    short: &[Seats],
    changed: Vec<String>,
) -> StepOutcome {
    seats::wait_for(ctx, short, &[], upn, changed)
}
