//! A set of writes applied atomically (`Tree::apply_batch`): a run's new state, its journal
//! entry, timers, ready markers and outcome events change together or not at all.

use super::codec::encode;
use super::keys;
use crate::engine::{AttemptRecord, EventRecord, Outcome, RunRecord};
use crate::ids::RunId;

/// Writes in order (a later write to a key wins); `None` removes the key.
#[derive(Default)]
pub struct WriteBatch {
    ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
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

    fn del(&mut self, key: Vec<u8>) {
        self.ops.push((key, None));
    }

    pub fn put_run(&mut self, run: &RunRecord) {
        self.put(keys::run(&run.id), encode(run));
    }

    pub fn put_attempt(&mut self, run: &RunId, step: usize, rec: &AttemptRecord) {
        let step = u16::try_from(step).unwrap_or(u16::MAX);
        self.put(keys::journal(run, step, rec.attempt), encode(rec));
    }

    pub fn put_event(&mut self, id: &str, rec: &EventRecord) {
        self.put(keys::event(id), encode(rec));
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
