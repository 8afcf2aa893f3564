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
    pub seats: SeatSettings,
}

impl StepEnv {
    /// Backups under `backup_dir`; seat reduction as configured by default.
    pub fn new(backup_dir: PathBuf) -> Self {
        StepEnv {
            backup_dir,
            seats: SeatSettings::default(),
        }
    }
}

/// What `seats.reduce` does when its workflow step does not say (README "Retention sweep and
/// seat reduction").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeatSettings {
    /// `seats_on_leave`: a leaver's `seats.reduce` (`scope = "released"`) gives the seats
    /// back. Off by default: lowering a subscription is a billing decision, so it happens only
    /// when the configuration or the step (`enabled = true`) asks for it.
    pub on_leave: bool,
    /// `seats_buffer`: spare seats kept per SKU when the step sets no `buffer`.
    pub buffer: u32,
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

    /// A list parameter: a JSON array of strings, or one comma-separated string. Blank
    /// entries are dropped; `Err` names what is not a string.
    pub fn param_list(&self, name: &str) -> Result<Vec<String>, String> {
        let items: Vec<String> = match self.params.get(name) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => s.split(',').map(str::to_string).collect(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(format!("parameter `{name}`: {other} is not a string")),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(format!(
                    "parameter `{name}` must be a list of strings or a comma-separated string, not {other}"
                ));
            }
        };
        Ok(items
            .into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect())
    }

    /// Where a parameter's value came from, for error messages: `event field data.<field>`
    /// when the event carries exactly that value, else `parameter <name>`.
    pub fn source_of(&self, param: &str, field: &str) -> String {
        let from_event = match (self.event.data.get(field), self.params.get(param)) {
            (Some(e), Some(p)) => e == p,
            _ => false,
        };
        if from_event {
            format!("event field data.{field}")
        } else {
            format!("parameter `{param}`")
        }
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
