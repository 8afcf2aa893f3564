//! The only module that imports sled: runs, the step journal, event dedup, timers, outbox.
