//! Ending a run: its terminal state, its outcome, and the hand-over of the subject to the
//! next queued run, in one atomic batch.

use super::core::Inner;
use super::error::EngineResult;
use super::outcomes;
use super::run::{RunRecord, RunStatus};
use crate::store::WriteBatch;
use serde_json::json;
use tracing::{info, warn};

impl Inner {
    /// Records `run` as ended with `status` (adding to `batch`), commits, and starts the
    /// subject's next run.
    pub async fn finish(
        &self,
        mut run: RunRecord,
        status: RunStatus,
        reason: Option<String>,
        mut batch: WriteBatch,
    ) -> EngineResult<RunRecord> {
        let now = self.now();
        if let Some(t) = run.wake_at.take() {
            batch.clear_timer(t.timestamp_millis().max(0) as u64, &run.id);
        }
        for line in std::mem::take(&mut run.lines) {
            batch.leave_line(&line, run.queue_seq);
        }
        run.status = status;
        run.reason = reason;
        run.updated_at = now;
        run.wait_reason = None;
        batch.put_run(&run);
        batch.clear_ready(&run.id);
        batch.clear_cancel(&run.id);
        let kind = format!("run.{status}");
        outcomes::add(
            &self.store,
            &mut batch,
            &run,
            &kind,
            now,
            json!({"reason": run.reason, "generation": run.generation}),
        )?;
        let guard = self.admission.lock().await;
        batch.dequeue_subject(&run.family, &run.subject, run.queue_seq);
        let next = self
            .store
            .subject_queue(&run.family, &run.subject)?
            .into_iter()
            .find(|&(seq, id)| seq != run.queue_seq && id != run.id)
            .map(|(_, id)| id);
        if let Some(next) = next {
            batch.set_ready(&next);
        }
        self.store.apply(batch)?;
        drop(guard);
        self.store.durable().await?;
        if let Ok(mut c) = self.cancels.lock() {
            c.remove(&run.id);
        }
        match status {
            RunStatus::Failed | RunStatus::Blocked => {
                warn!(run_id = %run.id, workflow = %run.workflow, status = %status, reason = run.reason.as_deref().unwrap_or(""), "Run ended and needs a person.")
            }
            _ => info!(run_id = %run.id, workflow = %run.workflow, status = %status, "Run ended."),
        }
        if let Some(next) = next {
            self.enqueue(next);
        }
        Ok(run)
    }
}
