//! The outbox publisher: outcomes written with their state change are handed to a sink
//! (AMQP in the service; a JSON-lines file in the demo and crash tests; memory in tests) and
//! deleted only after the sink accepted them. At least once: consumers dedup by outcome id.

use super::run::Outcome;
use crate::store::{Store, StoreResult, WriteBatch};
use async_trait::async_trait;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

#[async_trait]
pub trait OutcomeSink: Send + Sync {
    /// Publishes a batch; returns only when the sink has them durably.
    async fn publish(&self, outcomes: &[Outcome]) -> Result<(), String>;
}

/// Drains the outbox into `sink` until `stop` is true and the outbox is empty.
pub async fn drain_outbox(
    store: Store,
    sink: &dyn OutcomeSink,
    stop: tokio::sync::watch::Receiver<bool>,
) -> StoreResult<()> {
    loop {
        let pending = store.outbox(256)?;
        if pending.is_empty() {
            if *stop.borrow() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let outcomes: Vec<Outcome> = pending.iter().map(|(_, o)| o.clone()).collect();
        if let Err(e) = sink.publish(&outcomes).await {
            tracing::warn!(error = %e, "Publishing outcomes failed; retrying.");
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        let mut batch = WriteBatch::new();
        for (seq, _) in &pending {
            batch.remove_outcome(*seq);
        }
        store.commit(batch).await?;
    }
}

/// Appends outcomes as JSON lines to a file, fsynced before they leave the outbox.
pub struct JsonlSink {
    path: PathBuf,
}

impl JsonlSink {
    pub fn new(path: PathBuf) -> Self {
        JsonlSink { path }
    }
}

#[async_trait]
impl OutcomeSink for JsonlSink {
    async fn publish(&self, outcomes: &[Outcome]) -> Result<(), String> {
        let path = self.path.clone();
        let mut text = Vec::new();
        for o in outcomes {
            serde_json::to_writer(&mut text, o).map_err(|e| e.to_string())?;
            text.push(b'\n');
        }
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?;
            f.write_all(&text)?;
            f.sync_data()
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("writing outcomes to {}: {e}", self.path.display()))
    }
}

/// Keeps outcomes in memory (tests).
#[derive(Default)]
pub struct MemorySink {
    pub outcomes: Mutex<Vec<Outcome>>,
}

#[async_trait]
impl OutcomeSink for MemorySink {
    async fn publish(&self, outcomes: &[Outcome]) -> Result<(), String> {
        self.outcomes
            .lock()
            .map_err(|_| "poisoned".to_string())?
            .extend_from_slice(outcomes);
        Ok(())
    }
}
