//! `GET /api/v1/workflows`: the current workflow definitions, sorted by name, with their
//! triggers, schedule and steps (what an operator needs to pick `--from-step` or read a plan).

use super::state::AdminState;
use crate::workflow::{StepDef, StepKind, Workflow};
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowView<'a> {
    pub name: &'a str,
    pub version: u32,
    pub hash: &'a str,
    pub family: &'a str,
    pub description: &'a str,
    /// The event types that start it.
    pub triggers: Vec<&'a str>,
    /// Its cron expression, when it also runs on a schedule.
    pub schedule: Option<&'a str>,
    pub steps: Vec<StepView<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepView<'a> {
    pub id: &'a str,
    /// The action name, for action steps.
    pub action: Option<&'static str>,
    /// `action`, `wait` or `waitUntil`.
    pub kind: &'static str,
    pub approval: bool,
    pub when: Option<&'a str>,
}

impl<'a> WorkflowView<'a> {
    pub fn of(w: &'a Workflow) -> Self {
        WorkflowView {
            name: &w.name,
            version: w.version,
            hash: &w.hash,
            family: &w.family,
            description: &w.description,
            triggers: w.triggers.iter().map(|t| t.event_type.as_str()).collect(),
            schedule: w.schedule.as_ref().map(|s| s.cron.as_str()),
            steps: w.steps.iter().map(StepView::of).collect(),
        }
    }
}

impl<'a> StepView<'a> {
    fn of(s: &'a StepDef) -> Self {
        let kind = match s.kind {
            StepKind::Action { .. } => "action",
            StepKind::Wait { .. } => "wait",
            StepKind::WaitUntil { .. } => "waitUntil",
        };
        StepView {
            id: s.id.as_str(),
            action: s.action().map(|a| a.name()),
            kind,
            approval: s.requires_approval,
            when: s.when.as_deref(),
        }
    }
}

pub async fn list(State(st): State<AdminState>) -> Json<Value> {
    let mut views: Vec<WorkflowView> = st
        .engine
        .registry()
        .current()
        .iter()
        .map(|w| WorkflowView::of(w))
        .collect();
    views.sort_by(|a, b| a.name.cmp(b.name));
    Json(json!({ "workflows": views }))
}
