//! Retention: runs that ended (succeeded, failed, blocked, cancelled) and were last updated
//! longer ago than the retention are pruned with their journal and subject-history entries,
//! and so are dedup records received before it that no longer name a kept run. `offboard
//! serve` sweeps in the background ([`run`]); each sweep works in bounded batches, each one
//! atomic and made durable by the group-commit flusher.

use super::core::Engine;
use super::error::{EngineError, EngineResult};
use super::run::RunHead;
use crate::ids::RunId;
use crate::store::{StoreError, WriteBatch};
use chrono::{DateTime, Utc};
use std::future::Future;
use std::time::Duration;
use tracing::{info, warn};

/// The default retention: an audit year plus slack.
pub const DEFAULT: Duration = Duration::from_secs(400 * 24 * 3600);
/// The shortest retention accepted: a restore within Microsoft's 30-day window reads the
/// leaver's run, and a broker redelivery or an HR system's resend of an event within weeks
/// must still be recognised as a duplicate.
pub const FLOOR: Duration = Duration::from_secs(30 * 24 * 3600);
/// How often `offboard serve` sweeps.
pub const EVERY: Duration = Duration::from_secs(3600);

/// Runs pruned per batch (each with its journal).
const RUN_BATCH: usize = 256;
/// Run heads read before a batch is pruned and the task yields, even with few candidates.
const SCAN_BATCH: usize = 4096;
/// Dedup records examined per batch.
const EVENT_BATCH: usize = 1024;
/// Run ids are UUIDv7, so the scan is in creation order and stops at the first run created
/// this much after the cutoff (the slack covers a clock stepped back). A run beyond a stop is
/// pruned by a later sweep, never wrongly.
const CLOCK_SLACK: chrono::Duration = chrono::Duration::days(1);

/// What one sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub runs: u64,
    pub events: u64,
}

/// One step of the run scan: candidates, where to go on, whether the scan is over.
struct Scan {
    candidates: Vec<RunHead>,
    last: Option<RunId>,
    end: bool,
}

impl Engine {
    /// Prunes what is older than `retention` now (the engine's clock); returns how much.
    pub async fn prune_expired(&self, retention: Duration) -> EngineResult<Pruned> {
        let started = std::time::Instant::now();
        let keep = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
        let cutoff = self
            .inner
            .now()
            .checked_sub_signed(keep)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let mut pruned = Pruned::default();
        let mut after = None;
        loop {
            // Reading run heads is CPU work: off the async workers.
            let engine = self.clone();
            let scan = tokio::task::spawn_blocking(move || engine.scan_expired(after, cutoff))
                .await
                .map_err(|e| {
                    EngineError::Store(StoreError::Write(format!(
                        "reading the runs for the retention failed: {e}"
                    )))
                })??;
            pruned.runs += self.prune_runs(scan.candidates, cutoff).await?;
            if scan.end {
                break;
            }
            after = scan.last;
            tokio::task::yield_now().await;
        }
        pruned.events = self.prune_events(cutoff).await?;
        info!(
            runs = pruned.runs,
            dedup_records = pruned.events,
            cutoff = %cutoff.to_rfc3339(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Retention: pruned ended runs and dedup records older than the retention."
        );
        Ok(pruned)
    }

    fn scan_expired(&self, after: Option<RunId>, cutoff: DateTime<Utc>) -> EngineResult<Scan> {
        let mut scan = Scan {
            candidates: Vec::new(),
            last: after,
            end: true,
        };
        let stop = cutoff.checked_add_signed(CLOCK_SLACK).unwrap_or(cutoff);
        for (read, stored) in self.inner.store.runs_after(after).enumerate() {
            let h = stored?.head()?;
            if h.created_at > stop {
                return Ok(scan);
            }
            scan.last = Some(h.id);
            if expired(&h, cutoff) {
                scan.candidates.push(h);
            }
            if scan.candidates.len() == RUN_BATCH || read + 1 == SCAN_BATCH {
                scan.end = false;
                return Ok(scan);
            }
        }
        Ok(scan)
    }

    /// Removes the runs that are still expired once claimed, in one atomic batch.
    async fn prune_runs(
        &self,
        candidates: Vec<RunHead>,
        cutoff: DateTime<Utc>,
    ) -> EngineResult<u64> {
        let inner = &self.inner;
        // Runs owned by someone (an operator restarting one) are left for the next sweep.
        let claims = Claims {
            engine: self,
            ids: candidates
                .into_iter()
                .map(|c| c.id)
                .filter(|id| inner.claim(*id))
                .collect(),
        };
        if claims.ids.is_empty() {
            return Ok(0);
        }
        let mut batch = WriteBatch::new();
        let mut n = 0;
        for id in &claims.ids {
            // Re-read under the claim: nothing else changes the run meanwhile (the executor,
            // restart, cancel and approve all claim it first).
            let Some(run) = inner.store.run(id)? else {
                continue;
            };
            if !(run.status.is_terminal() && run.updated_at < cutoff) {
                continue;
            }
            if inner
                .store
                .forget_run(&mut batch, id, &run.family, &run.subject)?
            {
                n += 1;
            } else {
                warn!(run_id = %id, status = %run.status, "An ended run still stands in its subject queue; it is kept.");
            }
        }
        let guard = inner.admission.lock().await;
        inner.store.apply(batch)?;
        drop(guard);
        inner.store.durable().await?;
        inner.config.metrics.runs_pruned(n);
        Ok(n)
    }

    /// Removes dedup records received before `cutoff` whose runs are all gone.
    async fn prune_events(&self, cutoff: DateTime<Utc>) -> EngineResult<u64> {
        let inner = &self.inner;
        let before_ms = cutoff.timestamp_millis().max(0) as u64;
        let mut cursor = None;
        let mut pruned = 0;
        loop {
            let entries =
                inner
                    .store
                    .events_received_before(before_ms, cursor.as_ref(), EVENT_BATCH)?;
            let mut batch = WriteBatch::new();
            for (ms, id) in &entries {
                match inner.store.event(id)? {
                    Some(rec) if rec.received_at.timestamp_millis().max(0) as u64 == *ms => {
                        let mut kept = false;
                        for run in &rec.runs {
                            kept |= inner.store.has_run(run)?;
                        }
                        if !kept {
                            batch.remove_event(id, *ms);
                            pruned += 1;
                        }
                    }
                    // Gone, or written again later (its newer index entry stands).
                    _ => batch.remove_event_age(*ms, id),
                }
            }
            let guard = inner.admission.lock().await;
            inner.store.apply(batch)?;
            drop(guard);
            inner.store.durable().await?;
            if entries.len() < EVENT_BATCH {
                return Ok(pruned);
            }
            cursor = entries.last().cloned();
            tokio::task::yield_now().await;
        }
    }
}

/// Runs claimed by the sweep, released when it is done with them, also when the sweep is
/// dropped at shutdown (its batches are atomic, so stopping between them is safe).
struct Claims<'a> {
    engine: &'a Engine,
    ids: Vec<RunId>,
}

impl Drop for Claims<'_> {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            self.engine.inner.release(id);
        }
    }
}

fn expired(h: &RunHead, cutoff: DateTime<Utc>) -> bool {
    h.status.is_terminal() && h.updated_at < cutoff
}

/// Sweeps at once and then every `every` until `shutdown` resolves (a sweep in progress
/// stops between two batches). A sweep that fails (a store error) is logged and tried again
/// at the next interval.
pub async fn run(
    engine: Engine,
    retention: Duration,
    every: Duration,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            r = engine.prune_expired(retention) => {
                if let Err(e) = r {
                    warn!(error = %e, "Retention: pruning failed; it is tried again at the next sweep.");
                }
            }
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}
