//! Group commit. One thread owns `Db::flush`; writers apply their batch, then ask the flusher
//! and await the answer. Every request that arrived before a flush began is answered by it, so
//! one flush serves all waiting writers. sled 0.34.7 deadlocks when many tasks call
//! `flush_async` at once; this is the way around it (DESIGN.md §2).

use super::error::{StoreError, StoreResult};
use tokio::sync::{mpsc, oneshot};

type Waiter = oneshot::Sender<Result<(), String>>;

#[derive(Clone)]
pub struct Flusher {
    tx: mpsc::UnboundedSender<Waiter>,
}

impl Flusher {
    pub fn start(db: sled::Db) -> StoreResult<Self> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Waiter>();
        std::thread::Builder::new()
            .name("offboard-flusher".into())
            .spawn(move || {
                let mut waiting: Vec<Waiter> = Vec::new();
                while let Some(first) = rx.blocking_recv() {
                    waiting.push(first);
                    while let Ok(more) = rx.try_recv() {
                        waiting.push(more);
                    }
                    let result = db.flush().map(|_| ()).map_err(|e| e.to_string());
                    for w in waiting.drain(..) {
                        let _ = w.send(result.clone());
                    }
                }
            })
            .map_err(|e| StoreError::Sled(sled::Error::Io(e)))?;
        Ok(Flusher { tx })
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
