//! The mass-offboarding quarantine (README "Guardrails"): when more people get a leaver event
//! within a sliding window than the policy allows, new leaver runs are held before their first
//! destructive step until an operator approves or cancels them in bulk. Like Entra Connect's
//! accidental-delete protection, it trips on a bad HR import before anything is lost.

use super::core::{Engine, Inner};
use super::error::{EngineError, EngineResult};
use super::listing::RunFilter;
use super::outcomes;
use super::run::{RunRecord, RunStatus, WaitReason};
use crate::ids::RunId;
use crate::store::WriteBatch;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::PoisonError;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tracing::{info, warn};

/// The event type the quarantine counts and holds.
pub const LEAVER: &str = "hr.leaver";
/// Where the quarantine's state is kept (a fact of the store).
const FACT: &str = "guard/quarantine";
/// The share of the tenant never trips the quarantine below this many people.
pub const MIN_SHARE_LIMIT: u64 = 10;

/// When the quarantine trips.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantinePolicy {
    /// More people than this within `window` trip it (0: no count limit).
    pub threshold: u64,
    /// More than this percentage of the tenant's users within `window` trip it, but never
    /// fewer than [`MIN_SHARE_LIMIT`] people (0: no share limit).
    pub percent: f64,
    pub window: Duration,
}

impl QuarantinePolicy {
    /// Never trips (the library default; `offboard serve` turns it on, README "Guardrails").
    pub fn off() -> Self {
        QuarantinePolicy {
            threshold: 0,
            percent: 0.0,
            window: Duration::from_secs(24 * 3600),
        }
    }

    pub fn is_off(&self) -> bool {
        self.threshold == 0 && self.percent <= 0.0
    }

    /// How many people within the window are still fine; `None` when nothing limits.
    pub fn limit(&self, tenant_users: Option<u64>) -> Option<u64> {
        let by_count = (self.threshold > 0).then_some(self.threshold);
        let by_share = match tenant_users {
            Some(n) if self.percent > 0.0 => {
                Some(((n as f64 * self.percent / 100.0).ceil() as u64).max(MIN_SHARE_LIMIT))
            }
            _ => None,
        };
        match (by_count, by_share) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A tripped quarantine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tripped {
    pub tripped_at: DateTime<Utc>,
    /// Leaver runs admitted since then are held (the window before the trip).
    pub window_start: DateTime<Utc>,
    /// People with a leaver event in the window when it tripped.
    pub people: u64,
    pub limit: u64,
}

/// What is stored under [`FACT`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Persisted {
    #[serde(default)]
    tripped: Option<Tripped>,
    /// Leaver events before this (the last release or cancel) no longer count.
    #[serde(default)]
    counted_from: Option<DateTime<Utc>>,
}

/// The quarantine as an operator sees it (`GET /api/v1/quarantine`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuarantineView {
    pub active: bool,
    pub tripped_at: Option<DateTime<Utc>>,
    pub window_start: Option<DateTime<Utc>>,
    /// People with a leaver event in the current window.
    pub count: u64,
    /// The current limit (`None`: the quarantine is off).
    pub threshold: Option<u64>,
    pub held: Vec<RunId>,
}

/// The sliding window in memory (loaded from the store on first use).
#[derive(Default)]
pub(super) struct Window {
    loaded: bool,
    entries: VecDeque<(u64, RunId, String)>,
    people: HashMap<String, u32>,
    state: Persisted,
}

impl Window {
    fn load(&mut self, inner: &Inner, now: DateTime<Utc>) -> EngineResult<()> {
        if self.loaded {
            return Ok(());
        }
        if let Some((_, v)) = inner
            .store
            .facts(FACT)?
            .into_iter()
            .find(|(k, _)| k == FACT)
        {
            self.state = serde_json::from_value(v).unwrap_or_default();
        }
        let since = self.window_floor(inner, now);
        for (ms, run, subject) in inner.store.leaver_window(since)? {
            *self.people.entry(subject.clone()).or_default() += 1;
            self.entries.push_back((ms, run, subject));
        }
        self.loaded = true;
        Ok(())
    }

    /// Events before this (ms) do not count.
    fn window_floor(&self, inner: &Inner, now: DateTime<Utc>) -> u64 {
        let window = chrono::Duration::from_std(inner.config.quarantine.window)
            .unwrap_or_else(|_| chrono::Duration::days(1));
        let start = now - window;
        let from = self.state.counted_from.map_or(start, |c| c.max(start));
        from.timestamp_millis().max(0) as u64
    }

    fn prune(&mut self, floor: u64, batch: &mut WriteBatch) {
        while let Some((ms, run, subject)) = self.entries.front().cloned() {
            if ms >= floor {
                break;
            }
            batch.remove_leaver_window(ms, &run);
            if let Some(n) = self.people.get_mut(&subject) {
                *n -= 1;
                if *n == 0 {
                    self.people.remove(&subject);
                }
            }
            self.entries.pop_front();
        }
    }

    /// The people (subjects) with a leaver event at or after `floor`.
    fn people_since(&self, floor: u64) -> HashSet<&str> {
        self.entries
            .iter()
            .filter(|(ms, _, _)| *ms >= floor)
            .map(|(_, _, s)| s.as_str())
            .collect()
    }

    fn reset(&mut self, now: DateTime<Utc>) {
        self.entries.clear();
        self.people.clear();
        self.state = Persisted {
            tripped: None,
            counted_from: Some(now),
        };
    }
}

impl Inner {
    /// The window, loaded, with the time (ms) before which events do not count at `now`.
    fn with_window<T>(
        &self,
        now: DateTime<Utc>,
        f: impl FnOnce(&mut Window, u64) -> EngineResult<T>,
    ) -> EngineResult<T> {
        let mut w = self
            .quarantine
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        w.load(self, now)?;
        let floor = w.window_floor(self, now);
        f(&mut w, floor)
    }

    fn tenant_users(&self) -> Option<u64> {
        match self.tenant_users.load(Ordering::Relaxed) {
            0 => None,
            n => Some(n),
        }
    }

    /// Counts a new leaver run (under the admission lock, in its admission batch) and trips
    /// the quarantine when the window holds more people than the policy allows.
    pub(super) fn count_leaver(&self, batch: &mut WriteBatch, run: &RunRecord) -> EngineResult<()> {
        let policy = &self.config.quarantine;
        if policy.is_off() || run.event.event_type != LEAVER {
            return Ok(());
        }
        let now = run.created_at;
        let limit = policy.limit(self.tenant_users());
        let tripped = self.with_window(now, |w, floor| {
            w.prune(floor, batch);
            let ms = now.timestamp_millis().max(0) as u64;
            let subject = run.subject.to_lowercase();
            batch.put_leaver_window(ms, &run.id, &subject);
            *w.people.entry(subject.clone()).or_default() += 1;
            w.entries.push_back((ms, run.id, subject));
            let people = w.people.len() as u64;
            let Some(limit) = limit.filter(|l| people > *l) else {
                return Ok(None);
            };
            if w.state.tripped.is_some() {
                return Ok(None);
            }
            let tripped = Tripped {
                tripped_at: now,
                window_start: DateTime::from_timestamp_millis(floor as i64).unwrap_or(now),
                people,
                limit,
            };
            w.state.tripped = Some(tripped.clone());
            batch.put_fact(FACT, &serde_json::to_value(&w.state).unwrap_or_default());
            Ok(Some(tripped))
        })?;
        let Some(tripped) = tripped else {
            return Ok(());
        };
        outcomes::add(
            &self.store,
            batch,
            run,
            "quarantine.tripped",
            now,
            serde_json::to_value(&tripped).unwrap_or_default(),
        )?;
        warn!(
            people = tripped.people,
            limit = tripped.limit,
            "Mass-offboarding quarantine tripped: leaver runs are held before their first destructive step until an operator approves or cancels them."
        );
        Ok(())
    }

    /// The tripped quarantine that holds `run` before its first destructive step, if any.
    pub(super) fn quarantine_holding(&self, run: &RunRecord) -> EngineResult<Option<Tripped>> {
        if self.config.quarantine.is_off()
            || run.event.event_type != LEAVER
            || run.guard.released
            || run.guard.passed
        {
            return Ok(None);
        }
        self.with_window(self.now(), |w, _| {
            Ok(w.state
                .tripped
                .clone()
                .filter(|t| run.created_at >= t.window_start))
        })
    }

    /// For the metrics: whether the quarantine is tripped, and the people in its window.
    pub(super) fn quarantine_gauge(&self) -> EngineResult<(bool, u64)> {
        self.with_window(self.now(), |w, floor| {
            Ok((
                w.state.tripped.is_some(),
                w.people_since(floor).len() as u64,
            ))
        })
    }

    /// For a plan: the tripped quarantine, and how many people the window would hold with a
    /// leaver event for `subject` added, against the current limit.
    pub(super) fn quarantine_forecast(
        &self,
        subject: &str,
    ) -> EngineResult<(Option<Tripped>, u64, Option<u64>)> {
        if self.config.quarantine.is_off() {
            return Ok((None, 0, None));
        }
        let limit = self.config.quarantine.limit(self.tenant_users());
        let subject = subject.to_lowercase();
        self.with_window(self.now(), |w, floor| {
            let mut people = w.people_since(floor);
            people.insert(&subject);
            Ok((w.state.tripped.clone(), people.len() as u64, limit))
        })
    }

    /// Clears the quarantine: leaver events before now no longer count.
    async fn clear_quarantine(&self) -> EngineResult<()> {
        let now = self.now();
        let state = self.with_window(now, |w, _| {
            w.reset(now);
            Ok(serde_json::to_value(&w.state).unwrap_or_default())
        })?;
        let mut batch = WriteBatch::new();
        batch.put_fact(FACT, &state);
        self.store.commit(batch).await?;
        self.store
            .prune_leaver_window(now.timestamp_millis().max(0) as u64)?;
        Ok(())
    }

    /// Runs held by the quarantine: a stream of the runs, each decoded whole only when its
    /// head says it waits in the quarantine.
    fn held_runs(&self) -> EngineResult<Vec<RunRecord>> {
        let mut out = Vec::new();
        for stored in self.store.runs_after(None) {
            let stored = stored?;
            let h = stored.head()?;
            if h.status == RunStatus::Waiting && h.wait_reason == Some(WaitReason::Quarantine) {
                let r = stored.record()?;
                if is_held(&r) {
                    out.push(r);
                }
            }
        }
        Ok(out)
    }
}

/// Keeps the tenant's user count (for the percentage limit) fresh: at start, then every 15
/// minutes (a minute after a failure). Returns at once when no percentage is configured.
pub(super) async fn tenant_size_loop(engine: Engine) {
    if engine.inner.config.quarantine.percent <= 0.0 {
        return;
    }
    loop {
        if engine.inner.stopping.load(Ordering::SeqCst) {
            return;
        }
        let pause = match engine.inner.tenant.count_users().await {
            Ok(n) => {
                engine.set_tenant_users(n);
                Duration::from_secs(15 * 60)
            }
            Err(e) => {
                warn!(error = %e, "Counting the tenant's users failed; the quarantine's percentage limit uses the last count (or none) until the next try.");
                Duration::from_secs(60)
            }
        };
        tokio::time::sleep(pause).await;
    }
}

impl Engine {
    /// Tells the quarantine how many users the tenant has (for its percentage limit).
    pub fn set_tenant_users(&self, n: u64) {
        self.inner.tenant_users.store(n, Ordering::Relaxed);
    }

    pub fn quarantine(&self) -> EngineResult<QuarantineView> {
        let inner = &self.inner;
        let now = inner.now();
        let tripped = inner.with_window(now, |w, _| Ok(w.state.tripped.clone()))?;
        let (_, count) = inner.quarantine_gauge()?;
        Ok(QuarantineView {
            active: tripped.is_some(),
            tripped_at: tripped.as_ref().map(|t| t.tripped_at),
            window_start: tripped.as_ref().map(|t| t.window_start),
            count,
            threshold: inner.config.quarantine.limit(inner.tenant_users()),
            held: inner.held_runs()?.iter().map(|r| r.id).collect(),
        })
    }

    /// Releases the quarantine: every held run goes on, and counting starts afresh. Returns
    /// the runs released.
    pub async fn release_quarantine(&self) -> EngineResult<Vec<RunId>> {
        let inner = &self.inner;
        // The runs held now; woken meanwhile, some find the quarantine cleared and go on.
        let held = inner.held_runs()?;
        inner.clear_quarantine().await?;
        let mut released = Vec::new();
        for run in held {
            match self.approve(run.id).await {
                Ok(_) => released.push(run.id),
                // Woken meanwhile, it found the quarantine cleared and went on by itself.
                Err(EngineError::Conflict { .. })
                    if inner.store.run(&run.id)?.is_some_and(|r| !is_held(&r)) =>
                {
                    released.push(run.id)
                }
                Err(e) => {
                    warn!(run_id = %run.id, error = %e, "Run could not be released from the quarantine.")
                }
            }
        }
        info!(runs = released.len(), "Quarantine released by an operator.");
        Ok(released)
    }

    /// Cancels every leaver run the quarantine covers (held, or admitted since its window
    /// started and not yet past its first destructive step), then clears it. Returns the runs
    /// cancelled.
    pub async fn cancel_quarantined(&self) -> EngineResult<Vec<RunId>> {
        let inner = &self.inner;
        let Some(tripped) = self.quarantine()?.window_start else {
            return Ok(Vec::new());
        };
        let reason = "cancelled with the mass-offboarding quarantine by an operator".to_string();
        let mut cancelled = Vec::new();
        let in_scope = |r: &RunRecord| {
            !r.status.is_terminal()
                && r.event.event_type == LEAVER
                && !r.guard.passed
                && !r.guard.released
                && r.created_at >= tripped
        };
        // Only unfinished runs created since the window started are decoded whole.
        let filter = RunFilter {
            since: Some(tripped),
            ..RunFilter::default()
        };
        let mut scope: Vec<RunId> = Vec::new();
        for stored in inner.store.runs_after(None) {
            let stored = stored?;
            let h = stored.head()?;
            if filter.matches(&h) && !h.status.is_terminal() && in_scope(&stored.record()?) {
                scope.push(h.id);
            }
        }
        for id in scope {
            match inner.cancel_run(id, reason.clone()).await {
                Ok(_) => cancelled.push(id),
                Err(e) => {
                    warn!(run_id = %id, error = %e, "Run could not be cancelled with the quarantine.")
                }
            }
        }
        inner.clear_quarantine().await?;
        // Runs held while the cancel went on.
        for run in inner.held_runs()? {
            if in_scope(&run) && inner.cancel_run(run.id, reason.clone()).await.is_ok() {
                cancelled.push(run.id);
            }
        }
        info!(
            runs = cancelled.len(),
            "Quarantined leaver runs cancelled by an operator."
        );
        Ok(cancelled)
    }
}

fn is_held(r: &RunRecord) -> bool {
    r.status == RunStatus::Waiting && r.wait_reason == Some(WaitReason::Quarantine)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smaller_limit_wins_and_the_share_has_a_floor() {
        let p = QuarantinePolicy {
            threshold: 500,
            percent: 10.0,
            window: Duration::from_secs(3600),
        };
        assert_eq!(p.limit(None), Some(500));
        assert_eq!(p.limit(Some(2_000)), Some(200));
        assert_eq!(p.limit(Some(20_000)), Some(500));
        assert_eq!(p.limit(Some(30)), Some(MIN_SHARE_LIMIT));
        assert_eq!(QuarantinePolicy::off().limit(Some(1000)), None);
        let share_only = QuarantinePolicy { threshold: 0, ..p };
        assert_eq!(share_only.limit(None), None);
        assert_eq!(share_only.limit(Some(1001)), Some(101));
    }
}
