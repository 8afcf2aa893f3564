//! `Engine::plan`: a dry run of an event. Validates it as admission does, finds the
//! workflows it triggers and the runs it would queue behind or replace, evaluates each step's
//! `when`, waits and parameters as the executor would, and asks each step what it would do
//! against a read-only view of the tenant. Writes nothing to the store or the tenant.

use super::admit::{new_run, replaceable};
use super::core::Engine;
use super::error::{EngineError, EngineResult};
use super::ledger::RunLedger;
use crate::event::CloudEvent;
use crate::ids::{RunId, UserId};
use crate::steps::{Action, Blocker, StepContext, StepPlan};
use crate::tenant::{ErrorKind, ReadOnly, Tenant};
use crate::workflow::{StepDef, StepKind, Workflow, template_context};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The answer of `POST /api/v1/plan`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub event: PlanEvent,
    /// The subject's account as it is now; `None` when it does not exist.
    pub subject: Option<PlanSubject>,
    pub runs: Vec<RunPlan>,
    /// Everything that would stop a run: the subject's absence and every run's blockers.
    pub blockers: Vec<Blocker>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlanEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub subject: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanSubject {
    pub id: UserId,
    pub user_principal_name: String,
    pub display_name: String,
    pub account_enabled: bool,
}

/// One run the event would start.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunPlan {
    pub workflow: String,
    pub workflow_version: u32,
    /// When its first action would run, after its waits; `None`: at once.
    pub starts_at: Option<DateTime<Utc>>,
    /// Active runs of the same family for the subject it would wait behind.
    pub queued_behind: Vec<RunId>,
    /// A run still waiting for its date that this (corrected) event would replace.
    pub replaces: Vec<RunId>,
    /// The step blockers, and the guardrails' (protected account, active quarantine).
    pub blockers: Vec<Blocker>,
    pub warnings: Vec<String>,
    pub steps: Vec<StepPlanView>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepPlanView {
    pub id: String,
    /// `None` for wait steps.
    pub action: Option<String>,
    pub runs: bool,
    pub skip_reason: Option<String>,
    pub does: Vec<String>,
    pub blockers: Vec<Blocker>,
    pub warnings: Vec<String>,
}

impl StepPlanView {
    fn new(def: &StepDef, action: Option<Action>, plan: StepPlan) -> Self {
        StepPlanView {
            id: def.id.to_string(),
            action: action.map(|a| a.name().to_string()),
            runs: true,
            skip_reason: None,
            does: plan.does,
            blockers: plan.blockers,
            warnings: plan.warnings,
        }
    }
}

fn bad_event(event: &CloudEvent, message: String) -> EngineError {
    EngineError::BadEvent {
        event: event.id.to_string(),
        message,
    }
}

impl Engine {
    /// What `event` would do now, without doing any of it.
    pub async fn plan(&self, event: &CloudEvent) -> EngineResult<Plan> {
        if Self::is_control(event) {
            return Err(bad_event(
                event,
                "operator commands act on an existing run; a plan covers lifecycle events".into(),
            ));
        }
        let inner = &self.inner;
        let now = inner.now();
        let workflows = inner
            .registry
            .triggered(event, now)
            .map_err(|e| bad_event(event, e.to_string()))?;
        let tenant = ReadOnly::new(inner.tenant.clone());
        let mut warnings = Vec::new();
        let mut blockers = Vec::new();
        // the sweep's subject names no person
        let about_a_person = workflows.iter().any(|w| {
            w.steps
                .iter()
                .any(|s| s.action().is_some_and(|a| !a.is_tenant_wide()))
        });
        let subject = match tenant.get_user(&event.subject).await {
            Ok(u) => Some(u),
            Err(e) if e.kind == ErrorKind::NotFound => None,
            Err(e) => {
                warnings.push(format!(
                    "the account {} could not be read: {e}",
                    event.subject
                ));
                None
            }
        };
        if subject.is_none() && about_a_person {
            let has = |action: Action| {
                workflows
                    .iter()
                    .any(|w| w.steps.iter().any(|s| s.action() == Some(action)))
            };
            let message = format!("the account {} does not exist in the tenant", event.subject);
            if has(Action::UserAwait) {
                // a joiner waiting for a late account
                warnings.push(format!("{message} yet: the run waits for it (user.await)"));
            } else if !has(Action::UserRestore) {
                // (a restore expects a deleted account: its step says whether one is there)
                blockers.push(Blocker::new("user-not-found", message));
            }
        }
        if let Some(rec) = inner.store.event(event.id.as_str())? {
            warnings.push(format!(
                "event id {} was admitted already (runs: {}): submitting it again starts nothing",
                event.id,
                rec.runs
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if workflows.is_empty() {
            warnings.push(format!(
                "no workflow is triggered by this `{}` event",
                event.event_type
            ));
        }
        let mut runs = Vec::new();
        for wf in &workflows {
            let mut run = self.plan_run(wf, event, &tenant, now).await?;
            let (b, w) = self.guard_plan(event, wf, &tenant).await?;
            run.blockers.extend(b);
            run.warnings.extend(w);
            blockers.extend(run.blockers.iter().cloned());
            runs.push(run);
        }
        Ok(Plan {
            event: PlanEvent {
                id: event.id.to_string(),
                event_type: event.event_type.clone(),
                subject: event.subject.clone(),
            },
            subject: subject.map(|u| PlanSubject {
                id: u.id,
                user_principal_name: u.user_principal_name,
                display_name: u.display_name,
                account_enabled: u.account_enabled,
            }),
            runs,
            blockers,
            warnings,
        })
    }

    async fn plan_run(
        &self,
        wf: &Arc<Workflow>,
        event: &CloudEvent,
        tenant: &dyn Tenant,
        now: DateTime<Utc>,
    ) -> EngineResult<RunPlan> {
        let inner = &self.inner;
        let mut out = RunPlan {
            workflow: wf.name.clone(),
            workflow_version: wf.version,
            starts_at: None,
            queued_behind: Vec::new(),
            replaces: Vec::new(),
            blockers: Vec::new(),
            warnings: Vec::new(),
            steps: Vec::new(),
        };
        let queue = inner.store.subject_queue(&wf.family, &event.subject)?;
        for (pos, (_, id)) in queue.iter().enumerate() {
            let Some(old) = inner.store.run(id)? else {
                continue;
            };
            if pos == 0 && old.workflow == wf.name && replaceable(&old) {
                out.replaces.push(*id);
                continue;
            }
            if wf.cancels.contains(&old.workflow) && !old.status.is_terminal() {
                out.warnings.push(format!(
                    "asks run {id} ({}) to stop at its next step boundary",
                    old.workflow
                ));
            }
            out.queued_behind.push(*id);
        }
        // The run as it would be admitted, never stored: the steps' view of the ledger
        // (earlier runs, seat lines: behind everyone waiting now).
        let run = new_run(wf, event, now, u64::MAX);
        let ledger = RunLedger {
            store: &inner.store,
            run: &run,
        };
        let outputs: BTreeMap<String, Value> = BTreeMap::new();
        let tctx = template_context(event, &outputs, now);
        let mut at = now;
        let mut started = false;
        for def in &wf.steps {
            let enabled = match def.is_enabled(&tctx) {
                Ok(e) => e,
                Err(e) => {
                    let b = Blocker::new("template-error", format!("step `{}`: {e}", def.id));
                    out.blockers.push(b.clone());
                    let mut view = StepPlanView::new(def, def.action(), StepPlan::default());
                    view.blockers.push(b);
                    out.steps.push(view);
                    continue;
                }
            };
            if !enabled {
                let mut view = StepPlanView::new(def, def.action(), StepPlan::default());
                view.runs = false;
                view.skip_reason = Some("its `when` condition is false".into());
                out.steps.push(view);
                continue;
            }
            if def.requires_approval {
                out.warnings.push(format!(
                    "step `{}` waits for an operator's approval",
                    def.id
                ));
            }
            let plan = match &def.kind {
                StepKind::Wait { duration } => {
                    at += chrono::Duration::from_std(*duration)
                        .unwrap_or_else(|_| chrono::Duration::days(36500));
                    StepPlan::doing(format!("wait until {at}"))
                }
                StepKind::WaitUntil { .. } => match def.wait_until(&tctx) {
                    Ok(Some(t)) if t > at => {
                        at = t;
                        StepPlan::doing(format!("wait until {t}"))
                    }
                    Ok(Some(t)) => StepPlan::doing(format!("nothing to wait for: {t} has passed")),
                    Ok(None) => StepPlan::doing("nothing to wait for: no date given"),
                    Err(e) => {
                        let mut p = StepPlan::default();
                        p.block("template-error", format!("step `{}`: {e}", def.id));
                        p
                    }
                },
                StepKind::Action { action, .. } => {
                    if !started {
                        started = true;
                        out.starts_at = (at > now).then_some(at);
                    }
                    match def.render_params(&tctx) {
                        Ok(params) => {
                            let ctx = StepContext {
                                run_id: run.id,
                                step_id: def.id.as_str(),
                                attempt: 1,
                                step_started_at: at,
                                now: at,
                                subject: &run.subject,
                                event,
                                params: &params,
                                outputs: &outputs,
                                env: &inner.config.step_env,
                                ledger: &ledger,
                            };
                            action.plan(&ctx, tenant).await
                        }
                        Err(e) => {
                            let mut p = StepPlan::default();
                            p.block("template-error", format!("step `{}`: {e}", def.id));
                            p
                        }
                    }
                }
            };
            out.blockers.extend(plan.blockers.iter().cloned());
            out.steps.push(StepPlanView::new(def, def.action(), plan));
        }
        Ok(out)
    }
}
