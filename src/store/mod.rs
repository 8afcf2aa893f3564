//! The only module that imports sled: runs, the step journal, event dedup, timers, ready
//! markers, subject queues, pinned workflow sources and the outbox, all in one tree so a
//! state change and its outcome commit in one atomic batch. Durability is group commit.

mod batch;
mod codec;
mod db;
mod error;
mod flusher;
mod keys;

pub use batch::WriteBatch;
pub use db::Store;
pub use error::{StoreError, StoreResult};
