//! Opening the store and reading from it. Writes go through [`WriteBatch`] and
//! [`Store::commit`] (apply, then await group commit).

use super::batch::WriteBatch;
use super::codec::decode;
use super::counters::{self, Counts};
use super::error::{StoreError, StoreResult};
use super::flusher::Flusher;
use super::keys::{self, Counter};
use super::migrate;
use crate::engine::{AttemptRecord, EventRecord, Outcome, RunRecord, RunStatus};
use crate::ids::RunId;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// sled's page cache. Waiting runs live on disk, not in memory, so a small cache keeps RSS
/// flat however many runs wait on timers.
const CACHE_BYTES: u64 = 48 * 1024 * 1024;

#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    pub(super) tree: sled::Tree,
    flusher: Flusher,
    /// The counters as stored, held while a batch's counter changes are computed and the
    /// batch applied (see `counters.rs`): writers are serialised (sled serialises batches
    /// internally anyway) and the stored counters need not be read back.
    writer: Arc<Mutex<Counts>>,
}

/// The store's counters: runs by workflow and status, timers, outcomes in the outbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreCounts {
    pub runs: BTreeMap<(String, RunStatus), u64>,
    pub timers: u64,
    pub outbox: u64,
}

impl StoreCounts {
    fn of(all: BTreeMap<Counter, u64>) -> Self {
        let mut out = StoreCounts::default();
        for (c, n) in all {
            match c {
                Counter::Runs(w, s) => {
                    out.runs.insert((w, s), n);
                }
                Counter::Timers => out.timers = n,
                Counter::Outbox => out.outbox = n,
            }
        }
        out.runs.retain(|_, n| *n != 0);
        out
    }
}

impl Store {
    /// Opens (or creates) the store under `dir`. While another handle in this process is
    /// still being dropped (its flusher thread ending) the file lock is retried briefly.
    pub fn open(dir: &Path) -> StoreResult<Self> {
        let config = sled::Config::new()
            .path(dir.join("store"))
            .cache_capacity(CACHE_BYTES)
            .mode(sled::Mode::HighThroughput);
        let mut tries = 0;
        let db = loop {
            match config.open() {
                Ok(db) => break db,
                Err(sled::Error::Io(e)) if tries < 50 && e.to_string().contains("lock") => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(source) => {
                    return Err(StoreError::Open {
                        path: dir.display().to_string(),
                        source,
                    });
                }
            }
        };
        Self::init(db)
    }

    /// A store in a temporary directory, removed when dropped (tests, benchmarks).
    pub fn temporary() -> StoreResult<Self> {
        let db = sled::Config::new()
            .temporary(true)
            .cache_capacity(CACHE_BYTES)
            .open()?;
        Self::init(db)
    }

    fn init(db: sled::Db) -> StoreResult<Self> {
        let tree = db.open_tree("offboard")?;
        match tree.get(keys::SCHEMA)?.as_deref() {
            None => {
                tree.insert(keys::SCHEMA, &[keys::LAYOUT])?;
            }
            Some([1]) => migrate::v1_to_v2(&db, &tree)?,
            Some([keys::LAYOUT]) => {}
            Some(v) => {
                return Err(StoreError::Decode {
                    what: "store schema",
                    reason: format!(
                        "the data directory has schema {v:?}; this build reads schema {} (and migrates 1)",
                        keys::LAYOUT
                    ),
                });
            }
        }
        let counts = counters::read_all(&tree)?;
        let flusher = Flusher::start(db.clone())?;
        Ok(Store {
            db,
            tree,
            flusher,
            writer: Arc::new(Mutex::new(counts)),
        })
    }

    /// Applies a batch atomically (visible at once, not yet durable), with the counter
    /// changes it causes.
    pub fn apply(&self, batch: WriteBatch) -> StoreResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut counts = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let deltas = counters::deltas(&self.tree, &batch)?;
        let mut sled_batch = batch.into_sled();
        if deltas.is_empty() {
            self.tree.apply_batch(sled_batch)?;
            return Ok(());
        }
        let next = counters::write(&counts, &deltas, &mut sled_batch);
        self.tree.apply_batch(sled_batch)?;
        *counts = next;
        Ok(())
    }

    /// The counters as kept (what a metrics scrape reads: the copy in memory of the
    /// `counts` key).
    pub fn counts(&self) -> StoreResult<StoreCounts> {
        let counts = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        Ok(StoreCounts::of(counts.clone()))
    }

    /// The counters as stored in the `counts` key (tests: they equal [`Store::counts`]).
    pub fn stored_counts(&self) -> StoreResult<StoreCounts> {
        Ok(StoreCounts::of(counters::read_all(&self.tree)?))
    }

    /// The counters by a full scan of runs, timers and outbox (tests compare it with
    /// [`Store::counts`]; the layout migration computes the counters this way once).
    pub fn recount(&self) -> StoreResult<StoreCounts> {
        Ok(StoreCounts::of(counters::recount(&self.tree)?))
    }

    /// Resolves once everything applied so far is on disk (group commit).
    pub async fn durable(&self) -> StoreResult<()> {
        self.flusher.durable().await
    }

    /// Apply, then await durability.
    pub async fn commit(&self, batch: WriteBatch) -> StoreResult<()> {
        self.apply(batch)?;
        self.durable().await
    }

    /// Group-commit figures: (flushes, writers served, microseconds spent flushing).
    pub fn flush_stats(&self) -> (u64, u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let s = self.flusher.stats();
        (
            s.flushes.load(Relaxed),
            s.writers.load(Relaxed),
            s.micros.load(Relaxed),
        )
    }

    /// Flushes from synchronous code (CLI, shutdown).
    pub fn flush_blocking(&self) -> StoreResult<()> {
        self.db.flush()?;
        Ok(())
    }

    /// A monotonically increasing number (subject queue and outbox order).
    pub fn next_seq(&self) -> StoreResult<u64> {
        Ok(self.db.generate_id()?)
    }

    pub fn run(&self, id: &RunId) -> StoreResult<Option<RunRecord>> {
        self.tree
            .get(keys::run(id))?
            .map(|v| decode("run", &v))
            .transpose()
    }

    pub fn event(&self, id: &str) -> StoreResult<Option<EventRecord>> {
        self.tree
            .get(keys::event(id))?
            .map(|v| decode("event record", &v))
            .transpose()
    }

    pub fn journal(&self, id: &RunId) -> StoreResult<Vec<(u16, AttemptRecord)>> {
        let prefix = keys::journal_prefix(id);
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(&prefix) {
            let (k, v) = item?;
            let step = k
                .get(prefix.len()..prefix.len() + 2)
                .and_then(|b| b.try_into().ok())
                .map(u16::from_be_bytes)
                .unwrap_or(u16::MAX);
            out.push((step, decode("journal entry", &v)?));
        }
        Ok(out)
    }

    /// The first and the last journal entry of one step of a run.
    pub fn step_attempts(
        &self,
        id: &RunId,
        step: usize,
    ) -> StoreResult<Option<(AttemptRecord, AttemptRecord)>> {
        let step = u16::try_from(step).unwrap_or(u16::MAX);
        let mut prefix = keys::journal_prefix(id);
        prefix.extend_from_slice(&step.to_be_bytes());
        let mut it = self.tree.scan_prefix(&prefix);
        let Some(first) = it.next() else {
            return Ok(None);
        };
        let first: AttemptRecord = decode("journal entry", &first?.1)?;
        let last = match it.next_back() {
            Some(item) => decode("journal entry", &item?.1)?,
            None => first.clone(),
        };
        Ok(Some((first, last)))
    }

    /// Every run, oldest first (run ids are UUIDv7). One run in memory at a time.
    pub fn runs(&self) -> impl Iterator<Item = StoreResult<RunRecord>> + '_ {
        self.runs_after(None).map(|r| r?.record())
    }

    /// Runs with an id greater than `after` (all when `None`), oldest first, undecoded: the
    /// caller decodes each one's [`RunHead`](crate::engine::RunHead) to filter and the whole
    /// record only for what it keeps.
    pub fn runs_after(
        &self,
        after: Option<RunId>,
    ) -> impl Iterator<Item = StoreResult<StoredRun>> + '_ {
        let start = after.map_or_else(|| vec![keys::RUN], |id| keys::run_after(&id));
        self.tree
            .range(start..vec![keys::RUN + 1])
            .map(|item| Ok(StoredRun(item?.1)))
    }

    /// Runs by (workflow, status), from the counters.
    pub fn run_counts(&self) -> StoreResult<HashMap<(String, RunStatus), u64>> {
        Ok(self.counts()?.runs.into_iter().collect())
    }

    /// Runs marked runnable (resumed after a restart).
    pub fn ready_runs(&self) -> StoreResult<Vec<RunId>> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix([keys::READY]) {
            let (k, _) = item?;
            if let Some(id) = keys::trailing_run(&k) {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// The reason of a pending cancel request, if there is one.
    pub fn cancel_requested(&self, id: &RunId) -> StoreResult<Option<String>> {
        Ok(self
            .tree
            .get(keys::cancel(id))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Timers due at or before `now_ms`, earliest first, at most `limit`.
    pub fn due_timers(&self, now_ms: u64, limit: usize) -> StoreResult<Vec<(u64, RunId)>> {
        let end = keys::timer(now_ms, &RunId::from_bytes([0xff; 16]));
        let mut out = Vec::new();
        for item in self.tree.range(vec![keys::TIMER]..=end).take(limit) {
            let (k, _) = item?;
            if let (Some(due), Some(run)) = (keys::timer_due(&k), keys::trailing_run(&k)) {
                out.push((due, run));
            }
        }
        Ok(out)
    }

    /// The earliest timer's due time.
    pub fn next_timer(&self) -> StoreResult<Option<u64>> {
        match self.tree.scan_prefix([keys::TIMER]).next() {
            Some(item) => Ok(keys::timer_due(&item?.0)),
            None => Ok(None),
        }
    }

    /// Leaver runs admitted at or after `since_ms` (the quarantine window), oldest first, with
    /// their subject.
    pub fn leaver_window(&self, since_ms: u64) -> StoreResult<Vec<(u64, RunId, String)>> {
        let start = keys::leaver_window(since_ms, &RunId::from_bytes([0; 16]));
        let mut out = Vec::new();
        for item in self.tree.range(start..vec![keys::LEAVER_WINDOW + 1]) {
            let (k, v) = item?;
            if let (Some(ms), Some(run)) = (keys::timer_due(&k), keys::trailing_run(&k)) {
                out.push((ms, run, String::from_utf8_lossy(&v).into_owned()));
            }
        }
        Ok(out)
    }

    /// Removes leaver-window entries older than `before_ms`; returns how many.
    pub fn prune_leaver_window(&self, before_ms: u64) -> StoreResult<usize> {
        let end = keys::leaver_window(before_ms, &RunId::from_bytes([0; 16]));
        let mut n = 0;
        for item in self.tree.range(vec![keys::LEAVER_WINDOW]..end) {
            let (k, _) = item?;
            self.tree.remove(k)?;
            n += 1;
        }
        Ok(n)
    }

    /// Pending timers, from the counters.
    pub fn timer_count(&self) -> usize {
        self.counter(&Counter::Timers) as usize
    }

    fn counter(&self, c: &Counter) -> u64 {
        let counts = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        counts.get(c).copied().unwrap_or(0)
    }

    /// The runs queued for a subject and family, in arrival order, with their queue seq.
    pub fn subject_queue(&self, family: &str, subject: &str) -> StoreResult<Vec<(u64, RunId)>> {
        self.seq_runs(&keys::subject_prefix(family, subject))
    }

    /// Every run of a subject and family (ended ones too), in arrival order.
    pub fn subject_history(&self, family: &str, subject: &str) -> StoreResult<Vec<(u64, RunId)>> {
        self.seq_runs(&keys::history_prefix(family, subject))
    }

    /// Facts whose key starts with `prefix`, in key order.
    pub fn facts(&self, prefix: &str) -> StoreResult<Vec<(String, serde_json::Value)>> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(keys::fact(prefix)) {
            let (k, v) = item?;
            let key = String::from_utf8_lossy(k.get(1..).unwrap_or_default()).into_owned();
            out.push((key, decode("fact", &v)?));
        }
        Ok(out)
    }

    /// Entries of `line` that arrived before `seq`.
    pub fn line_ahead(&self, line: &str, seq: u64) -> StoreResult<usize> {
        let start = keys::line_prefix(line);
        let end = keys::line(line, seq);
        let mut n = 0;
        for item in self.tree.range(start..end) {
            item?;
            n += 1;
        }
        Ok(n)
    }

    /// The last occurrence of `workflow`'s schedule that was fired (ms since the epoch).
    pub fn schedule_fired(&self, workflow: &str) -> StoreResult<Option<u64>> {
        Ok(self
            .tree
            .get(keys::schedule(workflow))?
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes)))
    }

    /// Counts one more processing attempt of the AMQP message `key` and returns the count.
    /// With `flush` the count is durable before this returns (a redelivered message, which
    /// may be the one crashing the process); without, it becomes durable with the next
    /// commit. A message whose processing keeps crashing is thus dead-lettered after a limit
    /// even where the broker's own delivery limit behaves differently, while messages only
    /// redelivered because a connection dropped before they were processed count nothing.
    pub async fn count_attempt(&self, key: &str, flush: bool) -> StoreResult<u32> {
        let next = self.tree.update_and_fetch(keys::delivery(key), |old| {
            let n = old
                .and_then(|v| v.try_into().ok().map(u32::from_be_bytes))
                .unwrap_or(0);
            Some(n.saturating_add(1).to_be_bytes().to_vec())
        })?;
        if flush {
            self.durable().await?;
        }
        Ok(next
            .and_then(|v| v.as_ref().try_into().ok().map(u32::from_be_bytes))
            .unwrap_or(1))
    }

    /// The stored attempt count of the AMQP message `key` (0 when none), without counting.
    pub fn attempts(&self, key: &str) -> StoreResult<u32> {
        Ok(self
            .tree
            .get(keys::delivery(key))?
            .and_then(|v| v.as_ref().try_into().ok().map(u32::from_be_bytes))
            .unwrap_or(0))
    }

    /// Forgets the attempt count of a message that has been settled (acked or dead-lettered).
    /// Not flushed on its own: the next commit flushes it.
    pub fn forget_delivery(&self, key: &str) -> StoreResult<()> {
        self.tree.remove(keys::delivery(key))?;
        Ok(())
    }

    /// `(seq, run id)` entries under a `family · subject` prefix.
    fn seq_runs(&self, prefix: &[u8]) -> StoreResult<Vec<(u64, RunId)>> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(prefix) {
            let (k, v) = item?;
            let seq = k
                .get(prefix.len()..)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
                .unwrap_or(0);
            let id: [u8; 16] = v.as_ref().try_into().map_err(|_| StoreError::Decode {
                what: "subject queue or history entry",
                reason: "not a run id".into(),
            })?;
            out.push((seq, RunId::from_bytes(id)));
        }
        Ok(out)
    }

    pub fn workflow_source(&self, hash: &str) -> StoreResult<Option<String>> {
        Ok(self
            .tree
            .get(keys::workflow(hash))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// The oldest outcomes waiting to be published.
    pub fn outbox(&self, limit: usize) -> StoreResult<Vec<(u64, Outcome)>> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix([keys::OUTBOX]).take(limit) {
            let (k, v) = item?;
            if let Some(seq) = keys::outbox_seq(&k) {
                out.push((seq, decode("outcome", &v)?));
            }
        }
        Ok(out)
    }

    /// Outcomes waiting in the outbox, from the counters.
    pub fn outbox_len(&self) -> usize {
        self.counter(&Counter::Outbox) as usize
    }
}

/// A run as stored, decoded on demand.
pub struct StoredRun(sled::IVec);

impl StoredRun {
    /// The fields listings and sweeps filter on (cheap: no event, no steps).
    pub fn head(&self) -> StoreResult<crate::engine::RunHead> {
        decode("run", &self.0)
    }

    pub fn record(&self) -> StoreResult<RunRecord> {
        decode("run", &self.0)
    }
}
