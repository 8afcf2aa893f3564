//! Group commit. One thread owns `Db::flush`; writers apply their batch, then ask the flusher
//! and await the answer. Every request that arrived before a flush began is answered by it, so
//! one flush serves all waiting writers. sled 0.34.7 deadlocks when many tasks call
//! `flush_async` at once; this is the way around it (README "Durability protocol").

use super::error::{StoreError, StoreResult};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

type Waiter = oneshot::Sender<Result<(), String>>;

#[derive(Clone)]
pub struct Flusher {
    tx: mpsc::UnboundedSender<Waiter>,
    stats: Arc<FlushStats>,
}

/// How group commit is doing: flushes done, writers served, time spent flushing.
#[derive(Debug, Default)]
pub struct FlushStats {
    pub flushes: AtomicU64,
    pub writers: AtomicU64,
    pub micros: AtomicU64,
}

impl Flusher {
    pub fn start(db: sled::Db) -> StoreResult<Self> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Waiter>();
        let stats = Arc::new(FlushStats::default());
        let thread_stats = stats.clone();
        std::thread::Builder::new()
            .name("offboard-flusher".into())
            .spawn(move || {
                let mut waiting: Vec<Waiter> = Vec::new();
                while let Some(first) = rx.blocking_recv() {
                    waiting.push(first);
                    while let Ok(more) = rx.try_recv() {
                        waiting.push(more);
                    }
                    let started = Instant::now();
                    let result = db.flush().map(|_| ()).map_err(|e| e.to_string());
                    let st = &thread_stats;
                    st.flushes.fetch_add(1, Ordering::Relaxed);
                    st.writers
                        .fetch_add(waiting.len() as u64, Ordering::Relaxed);
                    st.micros
                        .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                    for w in waiting.drain(..) {
                        let _ = w.send(result.clone());
                    }
                }
            })
            .map_err(|e| StoreError::Sled(sled::Error::Io(e)))?;
        Ok(Flusher { tx, stats })
    }

    pub fn stats(&self) -> &FlushStats {
        &self.stats
    }

    /// Resolves once everything applied before the call is on disk.
    pub async fn durable(&self) -> StoreResult<()> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(tx).map_err(|_| StoreError::FlusherGone)?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Sled(sled::Error::Io(std::io::Error::other(e)))),
            Err(_) => Err(StoreError::FlusherGone),
        }
    }
}
