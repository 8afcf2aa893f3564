//! The store's counters (runs by workflow and status, timers, outbox backlog), kept exactly:
//! [`Store::apply`](super::Store::apply) serialises writers, reads what a batch's run, timer
//! and outbox keys hold before it, and writes the counters' new values (one key) in the same
//! atomic batch. The store keeps a copy in memory, so a metrics scrape reads no run at all.

use super::batch::WriteBatch;
use super::codec::decode;
use super::error::{StoreError, StoreResult};
use super::keys::{self, Counter};
use crate::engine::RunStatus;
use std::collections::{BTreeMap, HashMap};

/// Counter values (absent = 0).
pub(super) type Counts = BTreeMap<Counter, u64>;

/// The two fields of a stored run the counters need.
#[derive(serde::Deserialize)]
pub(super) struct CountedRun {
    pub workflow: String,
    pub status: RunStatus,
}

/// Counter changes of one batch (0 entries are dropped before writing).
pub(super) type Deltas = BTreeMap<Counter, i64>;

/// What the batch changes in the counters, given the tree before it.
pub(super) fn deltas(tree: &sled::Tree, batch: &WriteBatch) -> StoreResult<Deltas> {
    // The last write of each counted key wins.
    let mut last: HashMap<&[u8], bool> = HashMap::new();
    for (k, v) in &batch.ops {
        if matches!(k.first(), Some(&keys::RUN | &keys::TIMER | &keys::OUTBOX)) {
            last.insert(k.as_slice(), v.is_some());
        }
    }
    let mut d = Deltas::new();
    for (key, present) in last {
        match key[0] {
            keys::RUN => {
                if let Some(old) = tree.get(key)? {
                    let old: CountedRun = decode("run", &old)?;
                    *d.entry(Counter::Runs(old.workflow, old.status))
                        .or_default() -= 1;
                }
                if present {
                    let head = keys::trailing_run(key).and_then(|id| batch.run_heads.get(&id));
                    let (workflow, status) = match head {
                        Some((w, s)) => (w.clone(), *s),
                        None => new_run_head(batch, key)?,
                    };
                    *d.entry(Counter::Runs(workflow, status)).or_default() += 1;
                }
            }
            prefix => {
                let c = if prefix == keys::TIMER {
                    Counter::Timers
                } else {
                    Counter::Outbox
                };
                let before = i64::from(tree.contains_key(key)?);
                *d.entry(c).or_default() += i64::from(present) - before;
            }
        }
    }
    d.retain(|_, n| *n != 0);
    Ok(d)
}

/// A run written without `put_run` (not done today): decode what the batch writes.
fn new_run_head(batch: &WriteBatch, key: &[u8]) -> StoreResult<(String, RunStatus)> {
    let value = batch
        .ops
        .iter()
        .rev()
        .find(|(k, _)| k.as_slice() == key)
        .and_then(|(_, v)| v.as_deref())
        .unwrap_or_default();
    let r: CountedRun = decode("run", value)?;
    Ok((r.workflow, r.status))
}

/// The counters after `deltas`, and their value in `out` (the `counts` key).
pub(super) fn write(current: &Counts, deltas: &Deltas, out: &mut sled::Batch) -> Counts {
    let mut next = current.clone();
    for (c, delta) in deltas {
        let n = next.entry(c.clone()).or_default();
        *n = n.saturating_add_signed(*delta);
    }
    next.retain(|_, n| *n != 0);
    out.insert(keys::COUNTS, encode(&next));
    next
}

fn encode(counts: &Counts) -> Vec<u8> {
    let mut out = Vec::with_capacity(counts.len() * 32);
    for (c, n) in counts {
        keys::push_part(&mut out, &keys::counter(c));
        out.extend_from_slice(&n.to_be_bytes());
    }
    out
}

fn decode_counts(mut b: &[u8]) -> StoreResult<Counts> {
    let bad = || StoreError::Decode {
        what: "store counters",
        reason: "malformed counters value".into(),
    };
    let mut out = Counts::new();
    while !b.is_empty() {
        let (name, rest) = keys::take_part(b).ok_or_else(bad)?;
        let n = rest
            .get(..8)
            .and_then(|v| v.try_into().ok())
            .ok_or_else(bad)?;
        out.insert(
            keys::parse_counter(name).ok_or_else(bad)?,
            u64::from_be_bytes(n),
        );
        b = &rest[8..];
    }
    Ok(out)
}

/// Every counter by recount (the migration, and tests comparing with the kept counters).
pub(super) fn recount(tree: &sled::Tree) -> StoreResult<Counts> {
    let mut out = Counts::new();
    for item in tree.scan_prefix([keys::RUN]) {
        let (_, v) = item?;
        let r: CountedRun = decode("run", &v)?;
        *out.entry(Counter::Runs(r.workflow, r.status)).or_default() += 1;
    }
    let timers = tree.scan_prefix([keys::TIMER]).count() as u64;
    let outbox = tree.scan_prefix([keys::OUTBOX]).count() as u64;
    out.insert(Counter::Timers, timers);
    out.insert(Counter::Outbox, outbox);
    out.retain(|_, n| *n != 0);
    Ok(out)
}

/// The counters as stored.
pub(super) fn read_all(tree: &sled::Tree) -> StoreResult<Counts> {
    match tree.get(keys::COUNTS)? {
        Some(v) => decode_counts(&v),
        None => Ok(Counts::new()),
    }
}

/// The value recording `counts` (the migration).
pub(super) fn stored(counts: &Counts) -> Vec<u8> {
    encode(counts)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::{Store, WriteBatch};
    use crate::engine::{Outcome, RunRecord, RunStatus};
    use crate::ids::RunId;
    use serde_json::json;

    fn run(workflow: &str, status: RunStatus) -> RunRecord {
        serde_json::from_value(json!({
            "id": RunId::new(), "workflow": workflow, "workflowVersion": 1,
            "workflowHash": "abc", "family": "lifecycle", "subject": "dana@contoso.com",
            "event": {"specversion": "1.0", "id": "e1", "source": "t", "type": "hr.leaver",
                      "subject": "dana@contoso.com", "time": "2026-11-01T09:00:00Z", "data": {}},
            "status": status, "cursor": 0, "steps": [],
            "createdAt": "2026-11-01T09:00:00Z", "updatedAt": "2026-11-01T09:00:00Z",
            "queueSeq": 1
        }))
        .unwrap()
    }

    fn outcome(run: &RunRecord) -> Outcome {
        Outcome {
            id: "o".into(),
            outcome_type: "run.started".into(),
            run_id: run.id,
            workflow: run.workflow.clone(),
            subject: run.subject.clone(),
            time: run.created_at,
            data: json!(null),
        }
    }

    fn check(store: &Store) -> super::super::StoreCounts {
        let kept = store.counts().unwrap();
        assert_eq!(kept, store.recount().unwrap());
        assert_eq!(kept, store.stored_counts().unwrap());
        kept
    }

    #[tokio::test]
    async fn counters_follow_every_write_exactly_even_several_in_one_batch() {
        let store = Store::temporary().unwrap();
        let mut a = run("leaver", RunStatus::Pending);
        let b = run("joiner", RunStatus::Pending);
        let mut batch = WriteBatch::new();
        batch.put_run(&a);
        a.status = RunStatus::Running;
        batch.put_run(&a); // the later write of the same run wins
        batch.put_run(&b);
        batch.set_timer(10, &a.id);
        batch.set_timer(10, &a.id); // the same timer twice is one timer
        batch.clear_timer(99, &b.id); // clearing a timer that does not exist changes nothing
        batch.put_outcome(1, &outcome(&a));
        batch.put_outcome(2, &outcome(&b));
        store.commit(batch).await.unwrap();
        let c = check(&store);
        assert_eq!(c.runs.get(&("leaver".into(), RunStatus::Running)), Some(&1));
        assert_eq!(c.runs.get(&("joiner".into(), RunStatus::Pending)), Some(&1));
        assert_eq!((c.timers, c.outbox), (1, 2));

        // A status change moves a run from one count to another; a timer set again stays one.
        let mut batch = WriteBatch::new();
        a.status = RunStatus::Succeeded;
        batch.put_run(&a);
        batch.clear_timer(10, &a.id);
        batch.set_timer(20, &b.id);
        batch.set_timer(20, &b.id);
        batch.remove_outcome(1);
        batch.remove_outcome(1);
        batch.remove_outcome(7);
        store.commit(batch).await.unwrap();
        let c = check(&store);
        assert_eq!(c.runs.get(&("leaver".into(), RunStatus::Running)), None);
        assert_eq!(
            c.runs.get(&("leaver".into(), RunStatus::Succeeded)),
            Some(&1)
        );
        assert_eq!((c.timers, c.outbox), (1, 1));
        assert_eq!((store.timer_count(), store.outbox_len()), (1, 1));

        // A put then a removal in one batch: the run is gone and counted nowhere.
        let mut batch = WriteBatch::new();
        batch.put_run(&b);
        batch.forget(&b.id);
        batch.clear_timer(20, &b.id);
        store.commit(batch).await.unwrap();
        let c = check(&store);
        assert_eq!(c.runs.len(), 1);
        assert_eq!(c.timers, 0);
    }

    #[tokio::test]
    async fn concurrent_writers_keep_the_counters_exact() {
        let store = Store::temporary().unwrap();
        let mut tasks = Vec::new();
        for t in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut r = run(&format!("wf{}", t % 3), RunStatus::Pending);
                for (i, s) in RunStatus::ALL.into_iter().enumerate() {
                    let mut batch = WriteBatch::new();
                    r.status = s;
                    batch.put_run(&r);
                    batch.set_timer(i as u64, &r.id);
                    if i > 0 {
                        batch.clear_timer(i as u64 - 1, &r.id);
                    }
                    store.commit(batch).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let c = check(&store);
        assert_eq!(c.runs.values().sum::<u64>(), 8);
        assert_eq!(c.timers, 8);
    }
}
