//! Executes a run's steps with the checkpoint protocol (README "Durability protocol"): record
//! "attempt N started" durably before a step touches the tenant, record its result durably after. A
//! step that was started but not finished when the process died runs again, so steps are
//! idempotent (observe → act on what is missing → verify).

use super::core::Inner;
use super::error::EngineResult;
use super::ledger::RunLedger;
use super::outcomes;
use super::run::{AttemptRecord, RunRecord, RunStatus, StepStatus, WaitReason};
use crate::ids::RunId;
use crate::steps::{Emit, StepContext, StepOutcome};
use crate::store::WriteBatch;
use crate::workflow::{StepDef, StepKind, Workflow, template_context};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::Duration;
use tracing::{Instrument, debug, info_span, warn};

/// What the loop does after a step transition. `Continue` carries the step's result, not
/// yet on disk: it is committed together with the next step's "attempt started" (or the
/// run's end, or its wait), so a step costs one flush. Nothing touches the tenant between
/// the two, so a crash in between only repeats the (idempotent) step.
pub(super) enum Next {
    Continue(Box<RunRecord>, WriteBatch),
    Stop,
}

impl Inner {
    pub async fn execute_run(&self, id: RunId) -> EngineResult<()> {
        let Some(run) = self.store.run(&id)? else {
            return Ok(());
        };
        if run.status.is_terminal() {
            let mut b = WriteBatch::new();
            b.clear_ready(&id);
            self.store.apply(b)?;
            return Ok(());
        }
        let wf = match self.registry.pinned(&self.store, id, &run.workflow_hash) {
            Ok(wf) => wf,
            Err(e) => {
                self.finish(
                    run,
                    RunStatus::Failed,
                    Some(e.to_string()),
                    WriteBatch::new(),
                )
                .await?;
                return Ok(());
            }
        };
        if self.woken_early(&run) && self.cancel_request(&id)?.is_none() {
            let mut b = WriteBatch::new();
            b.clear_ready(&id);
            self.store.apply(b)?;
            return Ok(());
        }
        let mut run = run;
        self.reconcile_attempts(&mut run)?;
        let span = info_span!("run", run_id = %id, workflow = %run.workflow);
        self.drive(run, &wf).instrument(span).await
    }

    /// Attempts started but never recorded in the run (the process stopped during the step)
    /// are in the journal: continue numbering after them and keep the first start time.
    fn reconcile_attempts(&self, run: &mut RunRecord) -> EngineResult<()> {
        let idx = run.cursor;
        let Some(st) = run.steps.get_mut(idx) else {
            return Ok(());
        };
        if let Some((first, last)) = self.store.step_attempts(&run.id, idx)? {
            st.attempts = st.attempts.max(last.attempt);
            st.first_started_at.get_or_insert(first.started_at);
        }
        Ok(())
    }

    async fn drive(&self, mut run: RunRecord, wf: &Workflow) -> EngineResult<()> {
        let mut pending = WriteBatch::new();
        loop {
            if self.stopping.load(Ordering::SeqCst) {
                if !pending.is_empty() {
                    self.store.commit(pending).await?;
                }
                return Ok(());
            }
            if let Some(reason) = self.cancel_request(&run.id)? {
                self.finish(run, RunStatus::Cancelled, Some(reason), pending)
                    .await?;
                return Ok(());
            }
            let Some(def) = wf.steps.get(run.cursor) else {
                self.finish(run, RunStatus::Succeeded, None, pending)
                    .await?;
                return Ok(());
            };
            let next = self
                .step(run, def, pending)
                .instrument(info_span!("step", step = %def.id))
                .await?;
            match next {
                Next::Continue(r, b) => {
                    run = *r;
                    pending = b;
                }
                Next::Stop => return Ok(()),
            }
        }
    }

    fn cancel_request(&self, id: &RunId) -> EngineResult<Option<String>> {
        if let Some(reason) = self.cancels.lock().ok().and_then(|c| c.get(id).cloned()) {
            return Ok(Some(reason));
        }
        Ok(self.store.cancel_requested(id)?)
    }

    /// A waiting run woken before its time (or before its approval) goes back to sleep:
    /// its timer still exists, so nothing is lost.
    fn woken_early(&self, run: &RunRecord) -> bool {
        if run.status != RunStatus::Waiting {
            return false;
        }
        match (run.wait_reason.as_ref(), run.wake_at) {
            (Some(WaitReason::Approval), _) => true,
            // Held by the quarantine: the step re-checks it (released when it was cleared).
            (Some(WaitReason::Quarantine), _) => false,
            (_, Some(t)) => t.timestamp_millis() > self.now().timestamp_millis(),
            _ => false,
        }
    }

    async fn step(
        &self,
        mut run: RunRecord,
        def: &StepDef,
        batch: WriteBatch,
    ) -> EngineResult<Next> {
        let now = self.now();
        let idx = run.cursor;
        let ctx = template_context(&run.event, &run.outputs(), now);
        let enabled = match def.is_enabled(&ctx) {
            Ok(e) => e,
            Err(e) => {
                return self
                    .fail_with(run, format!("step `{}`: {e}", def.id), batch)
                    .await;
            }
        };
        if !enabled {
            let st = &mut run.steps[idx];
            st.status = StepStatus::Skipped;
            st.finished_at = Some(now);
            st.message = Some("its `when` condition is false".into());
            return self.advance(run, batch, "skipped").await;
        }
        if def.requires_approval && run.steps[idx].approved != Some(true) {
            return self.await_approval(run, def, batch).await;
        }
        match &def.kind {
            StepKind::Wait { duration } => {
                let due = run.steps[idx].wait_until.unwrap_or_else(|| {
                    now + chrono::Duration::from_std(*duration)
                        .unwrap_or_else(|_| chrono::Duration::days(36500))
                });
                self.wait_step(run, due, batch).await
            }
            StepKind::WaitUntil { .. } => {
                let due = match run.steps[idx].wait_until {
                    Some(t) => Some(t),
                    None => match def.wait_until(&ctx) {
                        Ok(t) => t,
                        Err(e) => {
                            return self
                                .fail_with(run, format!("step `{}`: {e}", def.id), batch)
                                .await;
                        }
                    },
                };
                match due {
                    Some(due) => self.wait_step(run, due, batch).await,
                    None => {
                        let st = &mut run.steps[idx];
                        st.status = StepStatus::Succeeded;
                        st.finished_at = Some(now);
                        st.message = Some("no date given: nothing to wait for".into());
                        self.advance(run, batch, "succeeded").await
                    }
                }
            }
            StepKind::Action { action, .. } => {
                let params = match def.render_params(&ctx) {
                    Ok(p) => p,
                    Err(e) => {
                        return self
                            .fail_with(run, format!("step `{}`: {e}", def.id), batch)
                            .await;
                    }
                };
                if self.needs_guard(&run, *action)
                    && let Some(tripped) = self.quarantine_holding(&run)?
                {
                    return self.hold_for_quarantine(run, def, tripped, batch).await;
                }
                self.action_step(run, def, *action, params, batch).await
            }
        }
    }

    /// Wait steps: the due time is fixed the first time, then a durable timer wakes the run.
    async fn wait_step(
        &self,
        mut run: RunRecord,
        due: DateTime<Utc>,
        batch: WriteBatch,
    ) -> EngineResult<Next> {
        let idx = run.cursor;
        let now = self.now();
        if now >= due {
            let st = &mut run.steps[idx];
            st.status = StepStatus::Succeeded;
            st.finished_at = Some(now);
            st.wait_until = Some(due);
            st.output = json!({"waitedUntil": due});
            return self.advance(run, batch, "succeeded").await;
        }
        let st = &mut run.steps[idx];
        st.status = StepStatus::Waiting;
        st.wait_until = Some(due);
        st.first_started_at.get_or_insert(now);
        self.sleep_until(run, due, WaitReason::Timer, batch).await
    }

    async fn action_step(
        &self,
        mut run: RunRecord,
        def: &StepDef,
        action: crate::steps::Action,
        params: serde_json::Map<String, Value>,
        mut batch: WriteBatch,
    ) -> EngineResult<Next> {
        let idx = run.cursor;
        let started = self.now();
        // Checkpoint before: the attempt is on disk before the tenant is touched. The journal
        // entry is that record; the run record is rewritten only when its status changes
        // (a reload takes attempt numbers from the journal, see `reconcile_attempts`).
        let status_changes = run.status != RunStatus::Running || run.wake_at.is_some();
        if let Some(t) = run.wake_at.take() {
            batch.clear_timer(t.timestamp_millis().max(0) as u64, &run.id);
        }
        run.wait_reason = None;
        run.status = RunStatus::Running;
        run.updated_at = started;
        let st = &mut run.steps[idx];
        st.attempts += 1;
        st.status = StepStatus::Running;
        st.first_started_at.get_or_insert(started);
        let attempt = st.attempts;
        let step_started_at = st.first_started_at.unwrap_or(started);
        let mut rec = AttemptRecord {
            step: def.id.clone(),
            attempt,
            started_at: started,
            ended_at: None,
            outcome: "started".into(),
            message: None,
            report: Value::Null,
        };
        batch.put_attempt(&run.id, idx, &rec);
        if status_changes {
            batch.put_run(&run);
        }
        self.store.commit(batch).await?;
        self.transitions.fetch_add(1, Ordering::Relaxed);

        let guard_stop = if self.needs_guard(&run, action) {
            self.protection_check(&mut run).await
        } else {
            None
        };
        let outputs = run.outputs();
        let ledger = RunLedger {
            store: &self.store,
            run: &run,
        };
        let ctx = StepContext {
            run_id: run.id,
            step_id: def.id.as_str(),
            attempt,
            step_started_at,
            now: started,
            subject: &run.subject,
            event: &run.event,
            params: &params,
            outputs: &outputs,
            env: &self.config.step_env,
            ledger: &ledger,
        };
        let clock = tokio::time::Instant::now();
        let outcome = match guard_stop {
            Some(stop) => stop,
            None => {
                match tokio::time::timeout(def.timeout, action.execute(&ctx, &*self.tenant)).await {
                    Ok(o) => o,
                    Err(_) => StepOutcome::Retry {
                        after: None,
                        reason: format!(
                            "step `{}` ({action}) did not finish within its timeout of {}",
                            def.id,
                            humantime::format_duration(def.timeout)
                        ),
                    },
                }
            }
        };
        debug!(attempt, ?outcome, "Step attempt finished.");
        let seconds = clock.elapsed().as_secs_f64();
        let metrics = &self.config.metrics;
        metrics.step_attempt(&run.workflow, action.name(), outcome.kind(), seconds);

        // Checkpoint after.
        let now = self.now();
        rec.ended_at = Some(now);
        let mut batch = WriteBatch::new();
        match outcome {
            StepOutcome::Done(report) => {
                rec.outcome = "done".into();
                rec.report = serde_json::to_value(&report).unwrap_or(Value::Null);
                batch.put_attempt(&run.id, idx, &rec);
                self.publish(&mut batch, &run, &def.id.0, &report.emit, now)?;
                for f in &report.facts {
                    match &f.value {
                        Some(v) => batch.put_fact(&f.key, v),
                        None => batch.remove_fact(&f.key),
                    }
                }
                stand_in_lines(&mut batch, &mut run, Vec::new());
                let st = &mut run.steps[idx];
                st.status = StepStatus::Succeeded;
                st.finished_at = Some(now);
                st.message = None;
                st.output = report.output;
                self.advance(run, batch, "succeeded").await
            }
            StepOutcome::WaitUntil {
                until,
                reason,
                changed,
                emit,
                lines,
            } => {
                rec.outcome = "poll".into();
                rec.message = Some(reason.clone());
                if !changed.is_empty() || !emit.is_empty() {
                    rec.report = json!({ "changed": changed, "emit": emit });
                }
                batch.put_attempt(&run.id, idx, &rec);
                self.publish(&mut batch, &run, &def.id.0, &emit, now)?;
                stand_in_lines(&mut batch, &mut run, lines);
                let st = &mut run.steps[idx];
                st.status = StepStatus::Waiting;
                st.message = Some(reason);
                self.sleep_until(run, until.max(now), WaitReason::Poll, batch)
                    .await
            }
            StepOutcome::Retry { after, reason } => {
                let st = &mut run.steps[idx];
                st.failures += 1;
                let failures = st.failures;
                if failures >= def.retry.attempts {
                    rec.outcome = "failed".into();
                    rec.message = Some(reason.clone());
                    batch.put_attempt(&run.id, idx, &rec);
                    st.status = StepStatus::Failed;
                    st.message = Some(reason.clone());
                    let reason = format!(
                        "step `{}` failed {failures} times, its retry limit: {reason}",
                        def.id
                    );
                    return self.fail_with(run, reason, batch).await;
                }
                let delay = def
                    .retry
                    .delay(failures)
                    .max(after.unwrap_or(Duration::ZERO));
                warn!(attempt, delay_ms = delay.as_millis() as u64, reason = %reason, "Step will be retried.");
                metrics.step_retry(&run.workflow, action.name());
                rec.outcome = "retry".into();
                rec.message = Some(reason.clone());
                batch.put_attempt(&run.id, idx, &rec);
                st.status = StepStatus::Waiting;
                st.message = Some(reason);
                let due = now + chrono::Duration::from_std(delay).unwrap_or_default();
                self.sleep_until(run, due, WaitReason::Retry, batch).await
            }
            StepOutcome::Failed { reason } => {
                rec.outcome = "failed".into();
                rec.message = Some(reason.clone());
                batch.put_attempt(&run.id, idx, &rec);
                let st = &mut run.steps[idx];
                st.status = StepStatus::Failed;
                st.message = Some(reason.clone());
                let reason = format!("step `{}`: {reason}", def.id);
                self.fail_with(run, reason, batch).await
            }
            StepOutcome::Blocked { reason } => {
                rec.outcome = "blocked".into();
                rec.message = Some(reason.clone());
                batch.put_attempt(&run.id, idx, &rec);
                let st = &mut run.steps[idx];
                st.status = StepStatus::Blocked;
                st.message = Some(reason.clone());
                let reason = format!("step `{}`: {reason}", def.id);
                self.finish(run, RunStatus::Blocked, Some(reason), batch)
                    .await?;
                Ok(Next::Stop)
            }
        }
    }

    /// Outcomes a step asked for, in the same batch as its checkpoint.
    fn publish(
        &self,
        batch: &mut WriteBatch,
        run: &RunRecord,
        step: &str,
        emit: &[Emit],
        now: DateTime<Utc>,
    ) -> EngineResult<()> {
        for e in emit {
            let mut data = e.data.clone();
            if let Value::Object(m) = &mut data {
                m.entry("step").or_insert_with(|| json!(step));
            }
            outcomes::add(&self.store, batch, run, &e.kind, now, data)?;
        }
        Ok(())
    }

    /// Moves past the current step (its state already set) and commits.
    async fn advance(
        &self,
        mut run: RunRecord,
        mut batch: WriteBatch,
        how: &str,
    ) -> EngineResult<Next> {
        let now = self.now();
        let idx = run.cursor;
        run.cursor += 1;
        run.status = RunStatus::Running;
        run.updated_at = now;
        let step = &run.steps[idx];
        let data = json!({"step": step.id, "action": step.action, "status": how, "attempts": step.attempts});
        outcomes::add(&self.store, &mut batch, &run, "step.finished", now, data)?;
        batch.put_run(&run);
        self.transitions.fetch_add(1, Ordering::Relaxed);
        Ok(Next::Continue(Box::new(run), batch))
    }

    /// Puts the run on a durable timer and releases it.
    async fn sleep_until(
        &self,
        mut run: RunRecord,
        due: DateTime<Utc>,
        why: WaitReason,
        mut batch: WriteBatch,
    ) -> EngineResult<Next> {
        if let Some(t) = run.wake_at.take() {
            batch.clear_timer(t.timestamp_millis().max(0) as u64, &run.id);
        }
        run.status = RunStatus::Waiting;
        run.wait_reason = Some(why);
        run.wake_at = Some(due);
        run.updated_at = self.now();
        batch.set_timer(due.timestamp_millis().max(0) as u64, &run.id);
        batch.clear_ready(&run.id);
        batch.put_run(&run);
        self.store.commit(batch).await?;
        self.transitions.fetch_add(1, Ordering::Relaxed);
        self.timer_wake.notify_one();
        Ok(Next::Stop)
    }

    async fn await_approval(
        &self,
        mut run: RunRecord,
        def: &StepDef,
        mut batch: WriteBatch,
    ) -> EngineResult<Next> {
        let now = self.now();
        let idx = run.cursor;
        run.status = RunStatus::Waiting;
        run.wait_reason = Some(WaitReason::Approval);
        run.updated_at = now;
        run.steps[idx].status = StepStatus::Waiting;
        run.steps[idx].message = Some("waiting for an operator's approval".into());
        batch.clear_ready(&run.id);
        batch.put_run(&run);
        let data = json!({"step": def.id, "action": run.steps[idx].action});
        outcomes::add(&self.store, &mut batch, &run, "approval.needed", now, data)?;
        self.store.commit(batch).await?;
        Ok(Next::Stop)
    }

    async fn fail_with(
        &self,
        run: RunRecord,
        reason: String,
        batch: WriteBatch,
    ) -> EngineResult<Next> {
        self.finish(run, RunStatus::Failed, Some(reason), batch)
            .await?;
        Ok(Next::Stop)
    }
}

/// Makes the run stand in exactly `lines` (keyed by its arrival, `queue_seq`): it keeps its
/// place in lines it already stands in and leaves the others.
fn stand_in_lines(batch: &mut WriteBatch, run: &mut RunRecord, mut lines: Vec<String>) {
    lines.sort();
    lines.dedup();
    for old in run.lines.iter().filter(|l| !lines.contains(l)) {
        batch.leave_line(old, run.queue_seq);
    }
    for new in lines.iter().filter(|l| !run.lines.contains(l)) {
        batch.join_line(new, run.queue_seq, &run.id);
    }
    run.lines = lines;
}
