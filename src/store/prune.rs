//! What the retention sweep (`engine::retention`) needs from the store: the keys that belong
//! to a run, and dedup records by age. The sweep decides what goes; the store knows where it
//! lies. Removals go through [`WriteBatch`], so the counters follow.

use super::batch::WriteBatch;
use super::db::Store;
use super::error::StoreResult;
use super::keys;
use crate::ids::RunId;

impl Store {
    /// Adds to `batch` the removal of run `id` of `family`/`subject` with its journal, its
    /// subject-history entries and any ready or cancel marker. Returns false, adding
    /// nothing, while the run still stands in its subject queue (an ended run never does; a
    /// queue entry without its run would block the person's later runs).
    pub fn forget_run(
        &self,
        batch: &mut WriteBatch,
        id: &RunId,
        family: &str,
        subject: &str,
    ) -> StoreResult<bool> {
        if self
            .subject_queue(family, subject)?
            .iter()
            .any(|(_, r)| r == id)
        {
            return Ok(false);
        }
        batch.del(keys::run(id));
        for item in self.tree.scan_prefix(keys::journal_prefix(id)) {
            let (k, _) = item?;
            batch.del(k.to_vec());
        }
        // A restarted run keeps its first history entry under its first queue seq.
        for (seq, r) in self.subject_history(family, subject)? {
            if r == *id {
                batch.del(keys::history(family, subject, seq));
            }
        }
        batch.del(keys::ready(id));
        batch.del(keys::cancel(id));
        Ok(true)
    }

    /// Dedup records received before `before_ms` by the age index, oldest first, after the
    /// entry `after` (a cursor from the previous call), at most `limit`: `(received ms, id)`.
    pub fn events_received_before(
        &self,
        before_ms: u64,
        after: Option<&(u64, String)>,
        limit: usize,
    ) -> StoreResult<Vec<(u64, String)>> {
        let start = match after {
            Some((ms, id)) => {
                let mut k = keys::event_age(*ms, id);
                k.push(0);
                k
            }
            None => vec![keys::EVENT_AGE],
        };
        let end = keys::event_age(before_ms, "");
        let mut out = Vec::new();
        if start >= end {
            return Ok(out);
        }
        for item in self.tree.range(start..end).take(limit) {
            let (k, _) = item?;
            if let Some(entry) = keys::parse_event_age(&k) {
                out.push(entry);
            }
        }
        Ok(out)
    }

    /// Whether run `id` is in the store.
    pub fn has_run(&self, id: &RunId) -> StoreResult<bool> {
        Ok(self.tree.contains_key(keys::run(id))?)
    }
}
