//! A set of writes applied atomically (`Tree::apply_batch`): a run's new state, its journal
//! entry, timers, ready markers and outcome events change together or not at all (and with
//! them the store's counters, added by `Store::apply`).

use super::codec::encode;
use super::keys;
use crate::engine::{AttemptRecord, EventRecord, Outcome, RunRecord, RunStatus};
use crate::ids::RunId;
use std::collections::HashMap;

/// Writes in order (a later write to a key wins); `None` removes the key.
#[derive(Default)]
pub struct WriteBatch {
    pub(super) ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// Workflow and status of each run written (the last write of a run wins), so the run
    /// counters need not decode what this batch encoded.
    pub(super) run_heads: HashMap<RunId, (String, RunStatus)>,
}

impl WriteBatch {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Adds `other`'s writes after this batch's (admission applies many events at once).
    pub fn append(&mut self, other: WriteBatch) {
        self.ops.extend(other.ops);
        self.run_heads.extend(other.run_heads);
    }

    pub(super) fn into_sled(self) -> sled::Batch {
        let mut b = sled::Batch::default();
        for (k, v) in self.ops {
            match v {
                Some(v) => b.insert(k, v),
                None => b.remove(k),
            }
        }
        b
    }

    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push((key, Some(value)));
    }

    pub(super) fn del(&mut self, key: Vec<u8>) {
        self.ops.push((key, None));
    }

    pub fn put_run(&mut self, run: &RunRecord) {
        self.run_heads
            .insert(run.id, (run.workflow.clone(), run.status));
        self.put(keys::run(&run.id), encode(run));
    }

    /// Removes run `id`'s record only (tests; the retention uses `Store::forget_run`).
    #[cfg(test)]
    pub(super) fn forget(&mut self, id: &RunId) {
        self.run_heads.remove(id);
        self.del(keys::run(id));
    }

    pub fn put_attempt(&mut self, run: &RunId, step: usize, rec: &AttemptRecord) {
        let step = u16::try_from(step).unwrap_or(u16::MAX);
        self.put(keys::journal(run, step, rec.attempt), encode(rec));
    }

    /// The dedup record of event `id`, with its entry in the age index (retention).
    pub fn put_event(&mut self, id: &str, rec: &EventRecord) {
        self.put(keys::event(id), encode(rec));
        let ms = rec.received_at.timestamp_millis().max(0) as u64;
        self.put(keys::event_age(ms, id), Vec::new());
    }

    /// Removes the dedup record of event `id` received at `received_ms` (retention).
    pub fn remove_event(&mut self, id: &str, received_ms: u64) {
        self.del(keys::event(id));
        self.del(keys::event_age(received_ms, id));
    }

    /// Removes an age-index entry whose dedup record is gone or was written again later.
    pub fn remove_event_age(&mut self, received_ms: u64, id: &str) {
        self.del(keys::event_age(received_ms, id));
    }

    pub fn set_timer(&mut self, due_ms: u64, run: &RunId) {
        self.put(keys::timer(due_ms, run), Vec::new());
    }

    pub fn clear_timer(&mut self, due_ms: u64, run: &RunId) {
        self.del(keys::timer(due_ms, run));
    }

    pub fn put_leaver_window(&mut self, ms: u64, run: &RunId, subject: &str) {
        self.put(keys::leaver_window(ms, run), subject.as_bytes().to_vec());
    }

    pub fn remove_leaver_window(&mut self, ms: u64, run: &RunId) {
        self.del(keys::leaver_window(ms, run));
    }

    pub fn set_ready(&mut self, run: &RunId) {
        self.put(keys::ready(run), Vec::new());
    }

    pub fn clear_ready(&mut self, run: &RunId) {
        self.del(keys::ready(run));
    }

    pub fn request_cancel(&mut self, run: &RunId, reason: &str) {
        self.put(keys::cancel(run), reason.as_bytes().to_vec());
    }

    pub fn clear_cancel(&mut self, run: &RunId) {
        self.del(keys::cancel(run));
    }

    pub fn enqueue_subject(&mut self, family: &str, subject: &str, seq: u64, run: &RunId) {
        self.put(keys::subject(family, subject, seq), run.as_bytes().to_vec());
    }

    pub fn dequeue_subject(&mut self, family: &str, subject: &str, seq: u64) {
        self.del(keys::subject(family, subject, seq));
    }

    /// Records a run in its subject's history (kept after the run ends).
    pub fn record_history(&mut self, family: &str, subject: &str, seq: u64, run: &RunId) {
        self.put(keys::history(family, subject, seq), run.as_bytes().to_vec());
    }

    pub fn put_fact(&mut self, key: &str, value: &serde_json::Value) {
        self.put(keys::fact(key), encode(value));
    }

    pub fn remove_fact(&mut self, key: &str) {
        self.del(keys::fact(key));
    }

    /// `seq` orders the line: the run's arrival (its queue seq).
    pub fn join_line(&mut self, line: &str, seq: u64, run: &RunId) {
        self.put(keys::line(line, seq), run.as_bytes().to_vec());
    }

    pub fn leave_line(&mut self, line: &str, seq: u64) {
        self.del(keys::line(line, seq));
    }

    pub fn set_schedule_fired(&mut self, workflow: &str, occurrence_ms: u64) {
        self.put(
            keys::schedule(workflow),
            occurrence_ms.to_be_bytes().to_vec(),
        );
    }

    pub fn put_workflow(&mut self, hash: &str, source: &str) {
        self.put(keys::workflow(hash), source.as_bytes().to_vec());
    }

    /// `seq` comes from [`super::Store::next_seq`].
    pub fn put_outcome(&mut self, seq: u64, outcome: &Outcome) {
        self.put(keys::outbox(seq), encode(outcome));
    }

    pub fn remove_outcome(&mut self, seq: u64) {
        self.del(keys::outbox(seq));
    }
}
