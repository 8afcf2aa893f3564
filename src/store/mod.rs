//! The only module that imports sled: runs, the step journal, event dedup, timers, ready
//! markers, subject queues, pinned workflow sources, the outbox and the counters kept with
//! them, all in one tree so a state change and its outcome commit in one atomic batch.
//! Durability is group commit.

mod batch;
mod codec;
mod counters;
mod db;
mod error;
mod flusher;
mod keys;
mod migrate;
mod prune;

pub use batch::WriteBatch;
pub use db::{Store, StoreCounts, StoredRun};
pub use error::{StoreError, StoreResult};
