//! The parsed, validated workflow: triggers and steps, and how they are evaluated for a run
//! (trigger matching, `when`, parameter rendering, `wait_until`).

use super::template::{eval_truthy, render, render_param, template_context};
use super::{RetryPolicy, Schedule, TemplateError};
use crate::event::{CloudEvent, parse_instant};
use crate::ids::StepId;
use crate::steps::Action;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// One workflow file, pinned by `hash` when a run starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    pub name: String,
    pub version: u32,
    /// One active run per subject and family.
    pub family: String,
    pub description: String,
    pub triggers: Vec<Trigger>,
    pub steps: Vec<StepDef>,
    /// Runs on a cron schedule too (`[schedule]`).
    pub schedule: Option<Schedule>,
    /// Workflows whose unfinished runs for the same subject (and family) this workflow's
    /// runs cancel when they are admitted, at their next step boundary (`cancels = [...]`).
    pub cancels: Vec<String>,
    /// SHA-256 (hex) of the file text.
    pub hash: String,
    /// The file text.
    pub source: String,
    pub path: PathBuf,
}

/// Starts a run for events of `event_type` when `when` (an expression) is truthy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub event_type: String,
    pub when: Option<String>,
}

/// One step of a workflow.
#[derive(Debug, Clone, PartialEq)]
pub struct StepDef {
    pub id: StepId,
    pub kind: StepKind,
    /// Expression; the step is skipped when it is falsy.
    pub when: Option<String>,
    pub retry: RetryPolicy,
    pub timeout: Duration,
    pub requires_approval: bool,
    /// 1-based line of the step in the file.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// Runs an action with parameters (values may hold templates).
    Action {
        action: Action,
        params: Map<String, Value>,
    },
    /// Waits a fixed time.
    Wait { duration: Duration },
    /// Waits until the instant the template renders to (empty = no wait).
    WaitUntil { at: String },
}

impl Workflow {
    /// Whether `event` starts this workflow: a trigger of its type whose `when` is truthy.
    pub fn triggered_by(
        &self,
        event: &CloudEvent,
        now: DateTime<Utc>,
    ) -> Result<bool, TemplateError> {
        let mut ctx = None;
        for trigger in self
            .triggers
            .iter()
            .filter(|t| t.event_type == event.event_type)
        {
            let Some(when) = &trigger.when else {
                return Ok(true);
            };
            let ctx = ctx.get_or_insert_with(|| template_context(event, &BTreeMap::new(), now));
            let hit = eval_truthy(when, ctx).map_err(|e| {
                TemplateError(format!(
                    "workflow `{}`: the `when` of the `{}` trigger (`{when}`) failed: {e}",
                    self.name, trigger.event_type
                ))
            })?;
            if hit {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Position of the step with this id.
    pub fn step_index(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.id.as_str() == id)
    }
}

impl StepDef {
    /// The action, for action steps.
    pub fn action(&self) -> Option<Action> {
        match &self.kind {
            StepKind::Action { action, .. } => Some(*action),
            _ => None,
        }
    }

    /// Truthiness of `when` over the template context; no `when` = enabled.
    pub fn is_enabled(&self, ctx: &Value) -> Result<bool, TemplateError> {
        let Some(when) = &self.when else {
            return Ok(true);
        };
        eval_truthy(when, ctx).map_err(|e| {
            TemplateError(format!(
                "step `{}`: the `when` expression `{when}` failed: {e}",
                self.id
            ))
        })
    }

    /// The action's parameters rendered over the context (empty for waits). A value that is
    /// exactly one `{{ expr }}` keeps the expression's JSON type; null results are dropped.
    pub fn render_params(&self, ctx: &Value) -> Result<Map<String, Value>, TemplateError> {
        let StepKind::Action { params, .. } = &self.kind else {
            return Ok(Map::new());
        };
        let mut out = Map::new();
        for (name, value) in params {
            let rendered = render_param(value, ctx).map_err(|e| {
                TemplateError(format!(
                    "step `{}`: parameter `{name}` could not be rendered: {e}",
                    self.id
                ))
            })?;
            if let Some(v) = rendered {
                out.insert(name.clone(), v);
            }
        }
        Ok(out)
    }

    /// For `wait_until` steps: the instant to wait for (`None` when the template renders
    /// empty, or for other kinds of step). A value that is not a date is an error naming it.
    pub fn wait_until(&self, ctx: &Value) -> Result<Option<DateTime<Utc>>, TemplateError> {
        let StepKind::WaitUntil { at } = &self.kind else {
            return Ok(None);
        };
        let text = render(at, ctx).map_err(|e| {
            TemplateError(format!(
                "step `{}`: `wait_until` (`{at}`) could not be rendered: {e}",
                self.id
            ))
        })?;
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        parse_instant(text).map(Some).ok_or_else(|| {
            TemplateError(format!(
                "step `{}`: `wait_until` rendered `{text}`, which is neither a date (YYYY-MM-DD) \
                 nor an RFC 3339 date-time; fix the event's data or the template `{at}`",
                self.id
            ))
        })
    }
}
