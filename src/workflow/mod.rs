//! TEMPORARY stand-in with the agreed API; replaced by the workflow branch at merge.
#![allow(dead_code, unused_variables)]
use crate::event::CloudEvent;
use crate::ids::StepId;
use crate::steps::Action;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Workflow {
    pub name: String,
    pub version: u32,
    pub family: String,
    pub description: String,
    pub triggers: Vec<Trigger>,
    pub steps: Vec<StepDef>,
    pub hash: String,
    pub source: String,
    pub path: PathBuf,
}
#[derive(Debug, Clone)]
pub struct Trigger {
    pub event_type: String,
    pub when: Option<String>,
}
#[derive(Debug, Clone)]
pub struct StepDef {
    pub id: StepId,
    pub kind: StepKind,
    pub when: Option<String>,
    pub retry: RetryPolicy,
    pub timeout: Duration,
    pub requires_approval: bool,
    pub line: usize,
}
#[derive(Debug, Clone)]
pub enum StepKind {
    Action { action: Action, params: Map<String, Value> },
    Wait { duration: Duration },
    WaitUntil { at: String },
}
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub backoff: Duration,
    pub max_delay: Duration,
}
impl RetryPolicy {
    pub fn delay(&self, failed_attempts: u32) -> Duration {
        self.backoff
    }
}
#[derive(Debug, Clone)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}
impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);
pub fn parse(path: &Path, text: &str) -> Result<Workflow, Vec<Problem>> {
    Err(vec![])
}
pub fn load_dir(dir: &Path) -> Result<Vec<Workflow>, Vec<Problem>> {
    Err(vec![])
}
pub fn template_context(
    event: &CloudEvent,
    outputs: &BTreeMap<String, Value>,
    now: DateTime<Utc>,
) -> Value {
    Value::Null
}
impl Workflow {
    pub fn triggered_by(&self, event: &CloudEvent, now: DateTime<Utc>) -> Result<bool, TemplateError> {
        Ok(false)
    }
    pub fn step_index(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.id.as_str() == id)
    }
}
impl StepDef {
    pub fn is_enabled(&self, ctx: &Value) -> Result<bool, TemplateError> {
        Ok(true)
    }
    pub fn render_params(&self, ctx: &Value) -> Result<Map<String, Value>, TemplateError> {
        Ok(Map::new())
    }
    pub fn wait_until(&self, ctx: &Value) -> Result<Option<DateTime<Utc>>, TemplateError> {
        Ok(None)
    }
}
