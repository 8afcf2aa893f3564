//! The guardrails in front of a leaver run's first destructive step (README "Guardrails"):
//! the mass-offboarding quarantine holds it, a protected account blocks it. Both happen once
//! per run; `RunGuard::passed` records that they were passed.

use super::core::{Engine, Inner};
use super::error::EngineResult;
use super::executor::Next;
use super::outcomes;
use super::quarantine::{LEAVER, Tripped};
use super::run::{RunRecord, RunStatus, StepStatus, WaitReason};
use crate::event::CloudEvent;
use crate::steps::{Action, Blocker, StepOutcome, check_protection};
use crate::store::WriteBatch;
use crate::tenant::Tenant;
use crate::workflow::{StepDef, StepKind, Workflow};
use serde_json::json;
use tracing::info;

impl Inner {
    /// Whether `action` is the first destructive step of a leaver run that has not passed the
    /// guardrails yet.
    pub(super) fn needs_guard(&self, run: &RunRecord, action: Action) -> bool {
        action.is_destructive() && run.event.event_type == LEAVER && !run.guard.passed
    }

    /// Holds the run before `def` until an operator approves or cancels it. A held run woken
    /// again while the quarantine still holds goes back to sleep without a second outcome.
    pub(super) async fn hold_for_quarantine(
        &self,
        mut run: RunRecord,
        def: &StepDef,
        tripped: Tripped,
        mut batch: WriteBatch,
    ) -> EngineResult<Next> {
        let idx = run.cursor;
        let already =
            run.status == RunStatus::Waiting && run.wait_reason == Some(WaitReason::Quarantine);
        batch.clear_ready(&run.id);
        if already {
            self.store.commit(batch).await?;
            return Ok(Next::Stop);
        }
        let now = self.now();
        if let Some(t) = run.wake_at.take() {
            batch.clear_timer(t.timestamp_millis().max(0) as u64, &run.id);
        }
        run.status = RunStatus::Waiting;
        run.wait_reason = Some(WaitReason::Quarantine);
        run.updated_at = now;
        let st = &mut run.steps[idx];
        st.status = StepStatus::Waiting;
        st.message = Some(format!(
            "held by the mass-offboarding quarantine: {} people got a leaver event since {} \
             (limit {}); approve or cancel the held runs (`offboard runs approve --quarantined` \
             or `offboard runs cancel --quarantined`)",
            tripped.people,
            tripped.window_start.format("%Y-%m-%d %H:%M UTC"),
            tripped.limit
        ));
        batch.put_run(&run);
        let data = json!({"step": def.id, "action": run.steps[idx].action, "reason": "quarantine"});
        outcomes::add(&self.store, &mut batch, &run, "approval.needed", now, data)?;
        self.store.commit(batch).await?;
        info!(run_id = %run.id, "Run held by the mass-offboarding quarantine.");
        // Released while this was written: go on (after this execution lets go of the run).
        if self.quarantine_holding(&run)?.is_none() {
            self.enqueue(run.id);
        }
        Ok(Next::Stop)
    }

    /// The protected-account check before the first destructive step: `Some` stops the
    /// attempt (blocked, or a tenant read to retry); `None` lets it go on and marks the run
    /// as past its guardrails.
    pub(super) async fn protection_check(&self, run: &mut RunRecord) -> Option<StepOutcome> {
        if !run.guard.allow_protected {
            let outcome =
                check_protection(&run.subject, &*self.tenant, &self.config.protection).await;
            if outcome.is_some() {
                return outcome;
            }
        }
        run.guard.passed = true;
        None
    }
}

impl Engine {
    /// What the guardrails would do to a run of `wf` for `event` (a dry run: `tenant` is the
    /// read-only one): blockers for a protected account or an active quarantine, warnings when
    /// this event would trip the quarantine.
    pub(super) async fn guard_plan(
        &self,
        event: &CloudEvent,
        wf: &Workflow,
        tenant: &dyn Tenant,
    ) -> EngineResult<(Vec<Blocker>, Vec<String>)> {
        let inner = &self.inner;
        let destructive = wf
            .steps
            .iter()
            .any(|s| matches!(&s.kind, StepKind::Action { action, .. } if action.is_destructive()));
        let (mut blockers, mut warnings) = (Vec::new(), Vec::new());
        if event.event_type != LEAVER || !destructive {
            return Ok((blockers, warnings));
        }
        match check_protection(&event.subject, tenant, &inner.config.protection).await {
            Some(StepOutcome::Blocked { reason }) => {
                blockers.push(Blocker::new("protected-account", reason));
            }
            Some(other) => warnings.push(format!(
                "whether {} is a protected account could not be checked: {}",
                event.subject,
                other.reason().unwrap_or_default()
            )),
            None => {}
        }
        let (tripped, people, limit) = inner.quarantine_forecast(&event.subject)?;
        if let Some(t) = tripped {
            blockers.push(Blocker::new(
                "quarantine",
                format!(
                    "the mass-offboarding quarantine is active since {} ({} people, limit {}): \
                     the run would be held before its first destructive step until an operator \
                     approves or cancels the held runs",
                    t.tripped_at.format("%Y-%m-%d %H:%M UTC"),
                    t.people,
                    t.limit
                ),
            ));
        } else if let Some(limit) = limit
            && people > limit
        {
            warnings.push(format!(
                "this event would trip the mass-offboarding quarantine: {people} people with a \
                 leaver event in its window, limit {limit}; its run and the others of the window \
                 would be held until an operator approves or cancels them"
            ));
        }
        Ok((blockers, warnings))
    }
}
