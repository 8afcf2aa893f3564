//! Free seats and arrival order, shared by the licensing steps (R13). Free seats of a SKU =
//! `prepaidUnits.enabled − consumedUnits` (units in warning, suspended or locked-out state
//! are not assignable). Runs waiting for a seat of a SKU stand in the line `seat/{skuId}` in
//! arrival order; a run may take a seat only when more are free than runs stand ahead of it.

use super::{Emit, StepContext, StepOutcome};
use crate::tenant::{Sku, Tenant};
use chrono::Duration;
use serde_json::json;

/// How often a run waiting for a seat looks again.
pub(crate) const POLL_MINUTES: i64 = 5;

pub(crate) fn line(sku: &Sku) -> String {
    format!("seat/{}", sku.sku_id)
}

/// One SKU's seats as this run sees them.
#[derive(Debug, Clone)]
pub(crate) struct Seats {
    pub sku: Sku,
    /// Runs that arrived earlier and wait in this SKU's line.
    pub ahead: usize,
}

impl Seats {
    pub fn free(&self) -> i64 {
        self.sku.free_units()
    }

    /// Whether this run may take a seat now without jumping the line.
    pub fn assignable(&self) -> bool {
        self.free() > self.ahead as i64
    }

    /// The `seat.shortage` outcome: SKU, seats, and how many runs wait including this one.
    pub fn shortage(&self) -> Emit {
        Emit::new(
            "seat.shortage",
            json!({
                "sku": self.sku.sku_id,
                "skuPartNumber": self.sku.sku_part_number,
                "enabled": self.sku.prepaid_units.enabled,
                "consumed": self.sku.consumed_units,
                "waiting": self.ahead + 1,
            }),
        )
    }

    pub fn describe(&self) -> String {
        format!(
            "{} ({} of {} seats used, {} free, {} run(s) waiting ahead)",
            self.sku.sku_part_number,
            self.sku.consumed_units,
            self.sku.prepaid_units.enabled,
            self.free().max(0),
            self.ahead
        )
    }
}

/// Reads the seats of `sku` and this run's place in its line; `Err` is the reason to retry
/// (offboard's own store could not be read).
pub(crate) fn seats(ctx: &StepContext<'_>, sku: &Sku) -> Result<Seats, String> {
    match ctx.ledger.ahead_in_line(&line(sku)) {
        Ok(ahead) => Ok(Seats {
            sku: sku.clone(),
            ahead,
        }),
        Err(e) => Err(format!(
            "reading the waiting line for {}: {e}",
            sku.sku_part_number
        )),
    }
}

/// A store read failed: try again later.
pub(crate) fn retry(reason: String) -> StepOutcome {
    StepOutcome::Retry {
        after: None,
        reason,
    }
}

/// Fresh seat counts of `skus` (after a race with another assignment).
pub(crate) async fn refresh(
    ctx: &StepContext<'_>,
    tenant: &dyn Tenant,
    skus: &[Sku],
    upn: &str,
) -> Result<Vec<Seats>, StepOutcome> {
    let all = match tenant.list_skus().await {
        Ok(a) => a,
        Err(e) => {
            return Err(StepOutcome::from_error(
                &format!("listing the tenant's licenses (for {upn})"),
                e,
            ));
        }
    };
    skus.iter()
        .map(|s| {
            let fresh = all.iter().find(|a| a.sku_id == s.sku_id).unwrap_or(s);
            seats(ctx, fresh)
        })
        .collect::<Result<Vec<_>, String>>()
        .map_err(retry)
}

/// Takes this run's places in the seat lines of `needed` before it may take a seat (one
/// checkpoint, no tenant change), so a run that arrived earlier and reaches the step at the
/// same moment is not overtaken; the step counts seats again at once, from its place.
pub(crate) fn enter_lines(ctx: &StepContext<'_>, needed: &[&Sku], upn: &str) -> StepOutcome {
    StepOutcome::WaitUntil {
        until: ctx.now,
        reason: format!(
            "{upn} takes its place in the seat lines before counting seats (arrival order, R13 in docs/rules.md)"
        ),
        changed: Vec::new(),
        emit: Vec::new(),
        lines: needed.iter().map(|s| line(s)).collect(),
    }
}

/// Whether a shortage found now is news: the run stood in no line yet, or this is the first
/// count after it took its places (within one poll interval of the step's start).
fn announce(ctx: &StepContext<'_>, sku: &Sku) -> bool {
    !ctx.ledger.stands_in_line(&line(sku))
        || ctx.now - ctx.step_started_at < Duration::minutes(POLL_MINUTES)
}

/// Waits in the lines of `short` (and keeps the places in `keep`): polls every 5 minutes and
/// publishes `seat.shortage` for each SKU whose shortage is news (see `announce`).
pub(crate) fn wait_for(
    ctx: &StepContext<'_>,
    short: &[Seats],
    keep: &[String],
    upn: &str,
    changed: Vec<String>,
) -> StepOutcome {
    let mut lines: Vec<String> = short.iter().map(|s| line(&s.sku)).collect();
    lines.extend(keep.iter().cloned());
    let emit = short
        .iter()
        .filter(|s| announce(ctx, &s.sku))
        .map(Seats::shortage)
        .collect();
    let what: Vec<String> = short.iter().map(Seats::describe).collect();
    StepOutcome::WaitUntil {
        until: ctx.now + Duration::minutes(POLL_MINUTES),
        reason: format!(
            "waiting for a free seat for {upn}: {} (R13 in docs/rules.md; buy seats or free some, runs get them in arrival order)",
            what.join("; ")
        ),
        changed,
        emit,
        lines,
    }
}
