//! The persisted shape of a run and its step journal (README "Durability protocol"). The
//! store keeps these as JSON behind a schema-version byte.

use crate::event::CloudEvent;
use crate::ids::{RunId, StepId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Created; queued behind another run of the subject or about to start.
    Pending,
    /// A step is executing (or was, when the process stopped).
    Running,
    /// On a durable timer (wait, retry backoff, poll) or awaiting an approval.
    Waiting,
    Succeeded,
    Failed,
    Blocked,
    Cancelled,
}

impl RunStatus {
    pub const ALL: [RunStatus; 7] = [
        RunStatus::Pending,
        RunStatus::Running,
        RunStatus::Waiting,
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::Blocked,
        RunStatus::Cancelled,
    ];

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Succeeded | RunStatus::Failed | RunStatus::Blocked | RunStatus::Cancelled
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Pending => "pending",
            RunStatus::Running => "running",
            RunStatus::Waiting => "waiting",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Blocked => "blocked",
            RunStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            RunStatus::Pending,
            RunStatus::Running,
            RunStatus::Waiting,
            RunStatus::Succeeded,
            RunStatus::Failed,
            RunStatus::Blocked,
            RunStatus::Cancelled,
        ]
        .into_iter()
        .find(|s2| s2.as_str() == s)
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Pending,
    Running,
    Waiting,
    Succeeded,
    Skipped,
    Failed,
    Blocked,
}

/// Why a waiting run waits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum WaitReason {
    /// A `wait` / `wait_until` step.
    Timer,
    /// Backoff before the next attempt of a failed step.
    Retry,
    /// The step asked to be run again later (e.g. group licensing still processing).
    Poll,
    /// The step requires an operator's approval.
    Approval,
    /// Held before its first destructive step by the mass-offboarding quarantine until an
    /// operator approves or cancels the held runs.
    Quarantine,
}

/// The guardrails a leaver run passes before its first destructive step (README
/// "Guardrails"): the quarantine and the protected-account check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunGuard {
    /// Both checks passed; later steps do not repeat them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub passed: bool,
    /// An operator released the run from the quarantine.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub released: bool,
    /// An operator restarted the run knowing the account is protected.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_protected: bool,
}

impl RunGuard {
    pub fn is_default(&self) -> bool {
        self == &RunGuard::default()
    }
}

/// The state of one step in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepState {
    pub id: StepId,
    pub action: String,
    pub status: StepStatus,
    /// Attempts started so far (including ones interrupted by a crash).
    pub attempts: u32,
    /// Attempts that ended in a retryable failure; the retry budget counts these.
    pub failures: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// For wait steps: when the wait ends (fixed when the wait starts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_until: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub output: Value,
}

/// A run: one execution of one pinned workflow for one subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    pub id: RunId,
    pub workflow: String,
    pub workflow_version: u32,
    pub workflow_hash: String,
    pub family: String,
    pub subject: String,
    pub event: CloudEvent,
    pub status: RunStatus,
    /// Index of the step to execute next.
    pub cursor: usize,
    pub steps: Vec<StepState>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When a waiting run wakes (its timer key), if it waits on a timer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wake_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_reason: Option<WaitReason>,
    /// Key of this run's place in its subject queue.
    pub queue_seq: u64,
    /// Restarts so far; part of outcome identity.
    #[serde(default)]
    pub generation: u32,
    /// Waiting lines the run stands in (keyed by `queue_seq`), e.g. for a free seat.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<String>,
    #[serde(default, skip_serializing_if = "RunGuard::is_default")]
    pub guard: RunGuard,
}

/// The fields of a stored run that listings, the quarantine and the retention sweep filter
/// on, decoded without the event, the steps and their outputs (the bulk of a run).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunHead {
    pub id: RunId,
    pub workflow: String,
    pub family: String,
    pub subject: String,
    pub status: RunStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub wait_reason: Option<WaitReason>,
}

impl RunRecord {
    /// Outputs of finished steps, by step id (what templates see as `steps`).
    pub fn outputs(&self) -> BTreeMap<String, Value> {
        self.steps
            .iter()
            .filter(|s| s.status == StepStatus::Succeeded && !s.output.is_null())
            .map(|s| (s.id.0.clone(), s.output.clone()))
            .collect()
    }
}

/// One attempt of one step, as written to the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptRecord {
    pub step: StepId,
    pub attempt: u32,
    pub started_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// `started` until the result is recorded; then `done`, `retry`, `poll`, `failed`,
    /// `blocked`, `timeout`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The step's report: observed / changed / verified / output.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub report: Value,
}

/// The dedup record of an event id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRecord {
    pub received_at: DateTime<Utc>,
    pub runs: Vec<RunId>,
    /// Set when the event matched no workflow (kept so a redelivery is still a duplicate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// An outcome event for the outbox (published to `offboard.outcomes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// Stable id; consumers dedup by it.
    pub id: String,
    /// `run.started`, `step.finished`, `run.succeeded`, `run.failed`, `run.blocked`,
    /// `run.cancelled`, `approval.needed`.
    #[serde(rename = "type")]
    pub outcome_type: String,
    pub run_id: RunId,
    pub workflow: String,
    pub subject: String,
    pub time: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub data: Value,
}
