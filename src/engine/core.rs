//! The engine handle: shared state of the admission path, the executor and the scheduler.

use super::error::{EngineError, EngineResult};
use super::quarantine::{QuarantinePolicy, Window};
use super::registry::Registry;
use super::run::{AttemptRecord, RunRecord, RunStatus};
use crate::clock::Clock;
use crate::ids::{EventId, RunId};
use crate::metrics::{Metrics, StoreFigures};
use crate::steps::{Protection, StepEnv};
use crate::store::Store;
use crate::tenant::Tenant;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Runs executing at once.
    pub concurrency: usize,
    pub step_env: StepEnv,
    /// Longest sleep of the timer loop (it also wakes on new timers).
    pub timer_poll: Duration,
    /// How often scheduled workflows are checked for a due occurrence.
    pub schedule_poll: Duration,
    /// The mass-offboarding quarantine (off unless configured).
    pub quarantine: QuarantinePolicy,
    /// Accounts leaver runs never offboard automatically (none unless configured).
    pub protection: Protection,
    /// Step durations and retries are recorded here.
    pub metrics: Metrics,
}

impl EngineConfig {
    /// Runs executing at once unless configured.
    pub const DEFAULT_CONCURRENCY: usize = 256;

    pub fn new(step_env: StepEnv) -> Self {
        EngineConfig {
            concurrency: Self::DEFAULT_CONCURRENCY,
            step_env,
            timer_poll: Duration::from_millis(100),
            schedule_poll: Duration::from_secs(1),
            quarantine: QuarantinePolicy::off(),
            protection: Protection::default(),
            metrics: Metrics::new(),
        }
    }
}

/// The answer to a submitted event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Submission {
    pub event_id: EventId,
    pub runs: Vec<RunId>,
    pub duplicate: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A run with its journal.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    #[serde(flatten)]
    pub run: RunRecord,
    pub journal: Vec<JournalEntry>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntry {
    pub step_index: u16,
    #[serde(flatten)]
    pub attempt: AttemptRecord,
}

#[derive(Clone)]
pub struct Engine {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub store: Store,
    pub registry: Registry,
    pub tenant: Arc<dyn Tenant>,
    pub clock: Arc<dyn Clock>,
    pub config: EngineConfig,
    /// Serialises event admission and subject-queue changes (short critical sections; the
    /// flush is awaited after the lock is released).
    pub admission: tokio::sync::Mutex<()>,
    pub ready_tx: mpsc::UnboundedSender<RunId>,
    pub ready_rx: Mutex<Option<mpsc::UnboundedReceiver<RunId>>>,
    /// Runs being executed; the flag asks for another pass when the task ends.
    pub executing: Mutex<HashMap<RunId, bool>>,
    /// Cancel requests for runs owned by a task, with their reason.
    pub cancels: Mutex<HashMap<RunId, String>>,
    pub timer_wake: Notify,
    /// One schedule check at a time (the loop and an operator's call).
    pub schedule_lock: tokio::sync::Mutex<()>,
    pub stopping: AtomicBool,
    pub transitions: AtomicU64,
    /// The quarantine's sliding window of leaver events.
    pub quarantine: Mutex<Window>,
    /// Users in the tenant (0 = not known yet), for the quarantine's percentage.
    pub tenant_users: AtomicU64,
}

impl Engine {
    pub fn new(
        store: Store,
        registry: Registry,
        tenant: Arc<dyn Tenant>,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
    ) -> Self {
        let (ready_tx, ready_rx) = mpsc::unbounded_channel();
        Engine {
            inner: Arc::new(Inner {
                store,
                registry,
                tenant,
                clock,
                config,
                admission: tokio::sync::Mutex::new(()),
                ready_tx,
                ready_rx: Mutex::new(Some(ready_rx)),
                executing: Mutex::new(HashMap::new()),
                cancels: Mutex::new(HashMap::new()),
                timer_wake: Notify::new(),
                schedule_lock: tokio::sync::Mutex::new(()),
                stopping: AtomicBool::new(false),
                transitions: AtomicU64::new(0),
                quarantine: Mutex::new(Window::default()),
                tenant_users: AtomicU64::new(0),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The tenant the engine's steps act on (for read-only views such as the admin API's
    /// users and licenses).
    pub fn tenant(&self) -> Arc<dyn Tenant> {
        self.inner.tenant.clone()
    }

    pub fn run_record(&self, id: &RunId) -> EngineResult<RunRecord> {
        self.inner
            .store
            .run(id)?
            .ok_or(EngineError::UnknownRun(*id))
    }

    pub fn run_view(&self, id: &RunId) -> EngineResult<RunView> {
        let run = self.run_record(id)?;
        let journal = self
            .inner
            .store
            .journal(id)?
            .into_iter()
            .map(|(step_index, attempt)| JournalEntry {
                step_index,
                attempt,
            })
            .collect();
        Ok(RunView { run, journal })
    }

    /// What a metrics scrape reads from the store: runs by workflow and status (every
    /// current workflow with every status, 0 when none), the outbox backlog, pending timers.
    /// Reads the store's counters (a few keys) and the quarantine's window.
    pub fn store_figures(&self) -> EngineResult<StoreFigures> {
        let store = self.inner.store.counts()?;
        let mut counts: BTreeMap<(String, &'static str), u64> = BTreeMap::new();
        for ((workflow, status), n) in store.runs {
            counts.insert((workflow, status.as_str()), n);
        }
        for wf in self.inner.registry.current() {
            for status in RunStatus::ALL {
                counts
                    .entry((wf.name.clone(), status.as_str()))
                    .or_insert(0);
            }
        }
        let runs = counts.into_iter().map(|((w, s), n)| (w, s, n)).collect();
        let (quarantine_active, quarantine_people) = self.inner.quarantine_gauge()?;
        Ok(StoreFigures {
            runs,
            outbox_backlog: store.outbox as usize,
            timers_pending: store.timers as usize,
            quarantine_active,
            quarantine_people,
        })
    }

    /// Step transitions recorded since start (benchmarks).
    pub fn transitions(&self) -> u64 {
        self.inner.transitions.load(Ordering::Relaxed)
    }

    /// Nothing executing and nothing runnable: only timers (or nothing) remain.
    pub fn is_quiescent(&self) -> EngineResult<bool> {
        let executing = self
            .inner
            .executing
            .lock()
            .map(|m| m.is_empty())
            .unwrap_or(false);
        Ok(executing && self.inner.store.ready_runs()?.is_empty())
    }

    /// When the earliest timer is due, in ms since the epoch.
    pub fn next_timer_ms(&self) -> EngineResult<Option<u64>> {
        Ok(self.inner.store.next_timer()?)
    }

    /// Wakes the timer loop (after the simulated clock moved).
    pub fn poke_timers(&self) {
        self.inner.timer_wake.notify_one();
    }
}

impl Inner {
    /// Takes exclusive ownership of a run (executor, cancel, supersede, approve, restart).
    /// When someone else owns it, asks the owner for another pass and returns false.
    pub fn claim(&self, id: RunId) -> bool {
        let Ok(mut ex) = self.executing.lock() else {
            return false;
        };
        match ex.get_mut(&id) {
            Some(again) => {
                *again = true;
                false
            }
            None => {
                ex.insert(id, false);
                true
            }
        }
    }

    /// Gives ownership back; runs the run again if that was asked for meanwhile.
    pub fn release(&self, id: RunId) {
        let again = self
            .executing
            .lock()
            .ok()
            .and_then(|mut ex| ex.remove(&id))
            .unwrap_or(false);
        if again && !self.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            self.enqueue(id);
        }
    }

    /// Claims a run, waiting up to `patience` for its owner to reach a checkpoint.
    pub async fn claim_within(&self, id: RunId, patience: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            if self.claim(id) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub fn enqueue(&self, id: RunId) {
        let _ = self.ready_tx.send(id);
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}
