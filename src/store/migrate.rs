//! Layout 1 → 2 at open, before anything else touches the tree. Rewrites the subject-queue,
//! history and line keys with length-prefixed parts, indexes the dedup records by age, counts
//! the runs, timers and outbox once, and only then records layout 2. Each step is done in
//! bounded batches and can be repeated: a migration interrupted by a crash resumes at the next
//! open (rewritten keys are recognised by their layout, index entries are idempotent, the
//! counters are computed from scratch in the batch that records the new layout).

use super::codec::decode;
use super::counters;
use super::error::StoreResult;
use super::keys::{self, v1};
use crate::engine::EventRecord;
use tracing::info;

/// Keys rewritten per sled batch.
const BATCH: usize = 4096;

pub(super) fn v1_to_v2(db: &sled::Db, tree: &sled::Tree) -> StoreResult<()> {
    let started = std::time::Instant::now();
    let mut rewritten = 0usize;
    for prefix in [keys::SUBJECT, keys::HISTORY, keys::LINE] {
        rewritten += rewrite(tree, prefix)?;
    }
    let indexed = index_events(tree)?;
    let mut last = sled::Batch::default();
    let counts = counters::recount(tree)?;
    last.insert(keys::COUNTS, counters::stored(&counts));
    last.insert(keys::SCHEMA, vec![keys::LAYOUT]);
    tree.apply_batch(last)?;
    db.flush()?;
    info!(
        keys_rewritten = rewritten,
        events_indexed = indexed,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "Store migrated to layout 2 (length-prefixed subject keys, counters, dedup age index)."
    );
    Ok(())
}

/// Rewrites the layout-1 keys under `prefix`, in batches; returns how many.
fn rewrite(tree: &sled::Tree, prefix: u8) -> StoreResult<usize> {
    let mut done = 0;
    loop {
        let mut batch = sled::Batch::default();
        let mut n = 0;
        // Layout-2 keys have 0x00 as their second byte and sort first: start after them.
        for item in tree.range(vec![prefix, 1]..vec![prefix + 1]) {
            let (k, v) = item?;
            if !v1::is_v1(&k) {
                continue;
            }
            let new = if prefix == keys::LINE {
                v1::parse_line(&k).map(|(line, seq)| keys::line_raw(&line, seq))
            } else {
                v1::parse_family_subject(&k)
                    .map(|(f, s, seq)| keys::family_subject_raw(prefix, &f, &s, seq))
            };
            // A key that does not parse as layout 1 is left as it is (never seen; it would
            // be unreadable either way).
            if let Some(new) = new {
                batch.insert(new, v);
                batch.remove(k);
                n += 1;
            }
            if n == BATCH {
                break;
            }
        }
        if n == 0 {
            return Ok(done);
        }
        tree.apply_batch(batch)?;
        done += n;
    }
}

/// Adds every dedup record to the age index; returns how many.
fn index_events(tree: &sled::Tree) -> StoreResult<usize> {
    let mut batch = sled::Batch::default();
    let mut n = 0;
    for item in tree.scan_prefix([keys::EVENT]) {
        let (k, v) = item?;
        let rec: EventRecord = decode("event record", &v)?;
        let id = String::from_utf8_lossy(&k[1..]);
        let ms = rec.received_at.timestamp_millis().max(0) as u64;
        batch.insert(keys::event_age(ms, &id), Vec::<u8>::new());
        n += 1;
        if n % BATCH == 0 {
            tree.apply_batch(std::mem::take(&mut batch))?;
        }
    }
    tree.apply_batch(batch)?;
    Ok(n)
}
