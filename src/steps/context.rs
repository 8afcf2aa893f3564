//! What a step sees: the run, the event, its rendered parameters and earlier steps' outputs.

use super::Ledger;
use crate::event::CloudEvent;
use crate::ids::RunId;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Settings the steps need from the configuration.
#[derive(Debug, Clone)]
pub struct StepEnv {
    /// Where OneDrive backups are written (`OFFBOARD_BACKUP_URL`, a directory).
    pub backup_dir: PathBuf,
}

pub struct StepContext<'a> {
    pub run_id: RunId,
    pub step_id: &'a str,
    /// 1-based attempt number of this execution.
    pub attempt: u32,
    /// When the first attempt of this step started (for bounding polls).
    pub step_started_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
    /// The event's subject: the user's UPN or object id.
    pub subject: &'a str,
    pub event: &'a CloudEvent,
    /// Parameters after template rendering.
    pub params: &'a Map<String, Value>,
    /// Outputs of earlier finished steps, by step id.
    pub outputs: &'a BTreeMap<String, Value>,
    pub env: &'a StepEnv,
    /// Earlier runs, recorded facts and waiting lines.
    pub ledger: &'a dyn Ledger,
}

impl StepContext<'_> {
    /// A string parameter; empty strings count as absent.
    pub fn param_str(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// A boolean parameter with a default.
    pub fn param_bool(&self, name: &str, default: bool) -> bool {
        match self.params.get(name) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => match s.trim() {
                "true" => true,
                "false" => false,
                _ => default,
            },
            _ => default,
        }
    }

    /// The output of the first earlier step whose output has `field`, e.g. the snapshot.
    pub fn find_output(&self, field: &str) -> Option<&Value> {
        self.outputs.values().find_map(|o| o.get(field))
    }
}
