//! Seat checks of a restore (R13): a license given back takes a free seat, and runs that
//! arrived earlier and wait for one (line `seat/{skuId}`, e.g. joiners) go first. Without a
//! seat the step waits in line and publishes `seat.shortage` instead of failing half-way.

use super::leaver_trace::Stop;
use super::subject::part_number;
use super::{Emit, StepContext, StepOutcome};
use crate::ids::SkuId;
use crate::tenant::Sku;
use chrono::Duration as ChronoDuration;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// How often a run waiting for a seat looks again.
const SEAT_POLL_MINUTES: i64 = 5;

/// The waiting line of a SKU's seats.
pub(crate) fn line(sku: &SkuId) -> String {
    format!("seat/{sku}")
}

#[derive(Debug)]
pub(crate) struct Shortage {
    pub sku: SkuId,
    pub part: String,
    pub free: i64,
    pub ahead: usize,
}

/// The SKUs of `needed` with no seat left for this run: free seats (enabled − consumed) not
/// more than the runs ahead of it in line. A SKU the tenant does not list is no shortage
/// (assigning it fails with a clear error instead).
pub(crate) fn shortages(
    ctx: &StepContext<'_>,
    skus: &BTreeMap<SkuId, Sku>,
    needed: &BTreeSet<SkuId>,
) -> Result<Vec<Shortage>, Stop> {
    let mut out = Vec::new();
    for sku in needed {
        let Some(k) = skus.get(sku) else { continue };
        let ahead = ctx.ledger.ahead_in_line(&line(sku)).map_err(|e| {
            Box::new(StepOutcome::Retry {
                after: Some(Duration::from_secs(5)),
                reason: format!("reading the waiting line for {}: {e}", k.sku_part_number),
            })
        })?;
        let free = k.free_units();
        if free <= ahead as i64 {
            out.push(Shortage {
                sku: sku.clone(),
                part: part_number(skus, sku),
                free,
                ahead,
            });
        }
    }
    Ok(out)
}

/// Waits in the lines of the short SKUs; the first attempt of the step publishes one
/// `seat.shortage` per SKU for the people who buy licenses.
pub(crate) fn wait_for_seats(
    ctx: &StepContext<'_>,
    upn: &str,
    doing: &str,
    short: &[Shortage],
    changed: Vec<String>,
) -> StepOutcome {
    let names: Vec<String> = short
        .iter()
        .map(|s| {
            format!(
                "{} ({} free, {} ahead in line)",
                s.part,
                s.free.max(0),
                s.ahead
            )
        })
        .collect();
    let emit = if ctx.attempt == 1 {
        short
            .iter()
            .map(|s| {
                Emit::new(
                    "seat.shortage",
                    json!({"skuId": s.sku, "skuPartNumber": s.part, "free": s.free.max(0),
                        "ahead": s.ahead, "for": doing, "subject": ctx.subject}),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    StepOutcome::WaitUntil {
        until: ctx.now + ChronoDuration::minutes(SEAT_POLL_MINUTES),
        reason: format!(
            "waiting for a free seat of {} to {doing} {upn} (R13): free a license or buy more",
            names.join(", ")
        ),
        changed,
        emit,
        lines: short.iter().map(|s| line(&s.sku)).collect(),
    }
}
