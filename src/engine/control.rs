//! Operator actions on runs: cancel, restart from a step, approve.

use super::core::{Engine, Inner};
use super::error::{EngineError, EngineResult};
use super::outcomes;
use super::run::{RunRecord, RunStatus, StepStatus, WaitReason};
use crate::ids::RunId;
use crate::store::WriteBatch;
use serde_json::{Value, json};
use std::time::Duration;
use tracing::info;

impl Engine {
    /// Cancels a run: at once when no task is executing it, otherwise at its next step
    /// boundary (the request is durable, so it survives a restart).
    pub async fn cancel(&self, id: RunId) -> EngineResult<RunRecord> {
        self.inner
            .cancel_run(id, "cancelled by an operator".into())
            .await
    }

    /// Restarts a failed, blocked or cancelled run from `from_step`, or from its first step
    /// that did not succeed. Earlier outputs are kept; later ones are cleared.
    pub async fn restart(&self, id: RunId, from_step: Option<&str>) -> EngineResult<RunRecord> {
        self.restart_with(id, from_step, false).await
    }

    /// [`Engine::restart`]; with `allow_protected` an operator confirms that the run's subject,
    /// a protected account (README "Guardrails"), is to be offboarded anyway.
    pub async fn restart_with(
        &self,
        id: RunId,
        from_step: Option<&str>,
        allow_protected: bool,
    ) -> EngineResult<RunRecord> {
        let inner = &self.inner;
        if !inner.claim_within(id, Duration::from_secs(2)).await {
            return Err(busy(id));
        }
        let result = self.restart_claimed(id, from_step, allow_protected).await;
        inner.release(id);
        result
    }

    async fn restart_claimed(
        &self,
        id: RunId,
        from_step: Option<&str>,
        allow_protected: bool,
    ) -> EngineResult<RunRecord> {
        let inner = &self.inner;
        let guard = inner.admission.lock().await;
        let mut run = self.run_record(&id)?;
        if !matches!(
            run.status,
            RunStatus::Failed | RunStatus::Blocked | RunStatus::Cancelled
        ) {
            return Err(EngineError::Conflict {
                run: id,
                message: format!(
                    "only failed, blocked or cancelled runs can be restarted; it is {}",
                    run.status
                ),
            });
        }
        let idx = match from_step {
            Some(name) => run
                .steps
                .iter()
                .position(|s| s.id.as_str() == name)
                .ok_or_else(|| EngineError::UnknownStep {
                    run: id,
                    step: name.to_string(),
                    known: run
                        .steps
                        .iter()
                        .map(|s| s.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?,
            None => run
                .steps
                .iter()
                .position(|s| !matches!(s.status, StepStatus::Succeeded | StepStatus::Skipped))
                .unwrap_or(run.steps.len()),
        };
        for st in &mut run.steps[idx..] {
            st.status = StepStatus::Pending;
            st.failures = 0;
            st.wait_until = None;
            st.message = None;
            st.finished_at = None;
            st.output = Value::Null;
        }
        let now = inner.now();
        run.guard.allow_protected |= allow_protected;
        run.cursor = idx;
        run.status = RunStatus::Pending;
        run.reason = None;
        run.wake_at = None;
        run.wait_reason = None;
        run.generation += 1;
        run.updated_at = now;
        run.queue_seq = inner.store.next_seq()?;
        let is_head = inner
            .store
            .subject_queue(&run.family, &run.subject)?
            .is_empty();
        let mut batch = WriteBatch::new();
        batch.enqueue_subject(&run.family, &run.subject, run.queue_seq, &run.id);
        if is_head {
            batch.set_ready(&run.id);
        }
        batch.clear_cancel(&run.id);
        batch.put_run(&run);
        let from = run.steps.get(idx).map(|s| s.id.to_string());
        outcomes::add(
            &inner.store,
            &mut batch,
            &run,
            "run.restarted",
            now,
            json!({"fromStep": from, "generation": run.generation, "allowProtected": allow_protected}),
        )?;
        inner.store.apply(batch)?;
        drop(guard);
        inner.store.durable().await?;
        if is_head {
            inner.enqueue(id);
        }
        info!(run_id = %id, from_step = from.as_deref().unwrap_or("(end)"), "Run restarted.");
        Ok(run)
    }

    /// Approves the step a run is waiting on, or releases a run held by the quarantine.
    pub async fn approve(&self, id: RunId) -> EngineResult<RunRecord> {
        let inner = &self.inner;
        if !inner.claim_within(id, Duration::from_secs(2)).await {
            return Err(busy(id));
        }
        let result = self.approve_claimed(id).await;
        inner.release(id);
        result
    }

    async fn approve_claimed(&self, id: RunId) -> EngineResult<RunRecord> {
        let inner = &self.inner;
        let mut run = self.run_record(&id)?;
        let idx = run.cursor;
        match (run.status, &run.wait_reason) {
            (RunStatus::Waiting, Some(WaitReason::Approval)) => {
                run.steps[idx].approved = Some(true);
            }
            (RunStatus::Waiting, Some(WaitReason::Quarantine)) => run.guard.released = true,
            _ => {
                return Err(EngineError::Conflict {
                    run: id,
                    message: format!("it is not waiting for an approval (status {})", run.status),
                });
            }
        }
        run.steps[idx].status = StepStatus::Pending;
        run.steps[idx].message = None;
        run.status = RunStatus::Pending;
        run.wait_reason = None;
        run.updated_at = inner.now();
        let mut batch = WriteBatch::new();
        batch.put_run(&run);
        batch.set_ready(&id);
        inner.store.commit(batch).await?;
        inner.enqueue(id);
        info!(run_id = %id, "Step approved.");
        Ok(run)
    }
}

fn busy(id: RunId) -> EngineError {
    EngineError::Conflict {
        run: id,
        message: "it is executing a step right now; try again in a moment".into(),
    }
}

impl Inner {
    /// Cancels `id` with `reason`: directly when it can be claimed, else by asking its owner
    /// (durably) to stop at the next step boundary.
    pub async fn cancel_run(&self, id: RunId, reason: String) -> EngineResult<RunRecord> {
        let run = self.store.run(&id)?.ok_or(EngineError::UnknownRun(id))?;
        if run.status.is_terminal() {
            return Err(EngineError::Conflict {
                run: id,
                message: format!("it has already ended ({})", run.status),
            });
        }
        // A run that is only finishing a checkpoint is released within milliseconds; one in
        // the middle of a long step gets a durable request instead.
        if !self.claim_within(id, Duration::from_millis(200)).await {
            let mut b = WriteBatch::new();
            b.request_cancel(&id, &reason);
            self.store.commit(b).await?;
            if let Ok(mut c) = self.cancels.lock() {
                c.insert(id, reason);
            }
            info!(run_id = %id, "Cancel requested; the run stops at its next step boundary.");
            return Ok(run);
        }
        // Re-read under the claim: the owner may have ended it meanwhile.
        let result = match self.store.run(&id)? {
            Some(run) if !run.status.is_terminal() => {
                self.finish(run, RunStatus::Cancelled, Some(reason), WriteBatch::new())
                    .await
            }
            Some(run) => Err(EngineError::Conflict {
                run: id,
                message: format!("it has already ended ({})", run.status),
            }),
            None => Err(EngineError::UnknownRun(id)),
        };
        self.release(id);
        result
    }
}
