//! What a step returns to the engine.

use crate::tenant::{ErrorKind, TenantError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// The record of a finished step: what it saw before acting, what it changed, what it
/// verified afterwards, and the output later steps may reference.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    pub observed: Value,
    pub changed: Vec<String>,
    pub verified: Value,
    pub output: Value,
    /// Outcome events to publish with the step's result (e.g. `seat.recommendation`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emit: Vec<Emit>,
    /// Facts to record for later runs (e.g. a purge request), in the same atomic write.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<FactWrite>,
}

/// An outcome event a step asks the engine to publish (through the outbox, atomically with
/// the step's checkpoint). `kind` is its routing key, e.g. `seat.shortage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Emit {
    pub kind: String,
    pub data: Value,
}

impl Emit {
    pub fn new(kind: impl Into<String>, data: Value) -> Self {
        Emit {
            kind: kind.into(),
            data,
        }
    }
}

/// A durable fact written with the step's result: `value: None` removes the key. Keys are
/// `/`-separated, namespaced by what they are about, e.g. `purge/{userId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactWrite {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

impl FactWrite {
    pub fn put(key: impl Into<String>, value: Value) -> Self {
        FactWrite {
            key: key.into(),
            value: Some(value),
        }
    }

    pub fn remove(key: impl Into<String>) -> Self {
        FactWrite {
            key: key.into(),
            value: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    Done(StepReport),
    /// Not finished yet (e.g. group licensing still processing): run the step again at `until`.
    /// Does not count as a failed attempt. `changed` lists what this attempt did change, for
    /// the journal; `emit` publishes outcomes (e.g. `seat.shortage`); `lines` are the waiting
    /// lines the run stands in until the step is done (see [`super::Ledger::ahead_in_line`]).
    WaitUntil {
        until: DateTime<Utc>,
        reason: String,
        changed: Vec<String>,
        emit: Vec<Emit>,
        lines: Vec<String>,
    },
    /// Retryable failure; `after` is the service's Retry-After when it gave one.
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// Permanent failure, with a reason a person can act on.
    Failed {
        reason: String,
    },
    /// A precondition needs a person (R4, R9, ...).
    Blocked {
        reason: String,
    },
}

impl StepOutcome {
    /// The journal's name for this kind of outcome (the `outcome` label of step metrics):
    /// `done`, `poll`, `retry`, `failed`, `blocked`.
    /// The reason a person reads, for the outcomes that carry one.
    pub fn reason(&self) -> Option<&str> {
        match self {
            StepOutcome::Done(_) => None,
            StepOutcome::WaitUntil { reason, .. }
            | StepOutcome::Retry { reason, .. }
            | StepOutcome::Failed { reason }
            | StepOutcome::Blocked { reason } => Some(reason),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            StepOutcome::Done(_) => "done",
            StepOutcome::WaitUntil { .. } => "poll",
            StepOutcome::Retry { .. } => "retry",
            StepOutcome::Failed { .. } => "failed",
            StepOutcome::Blocked { .. } => "blocked",
        }
    }

    /// Run the step again at `until` (nothing changed, nothing to publish).
    pub fn wait(until: DateTime<Utc>, reason: impl Into<String>) -> Self {
        StepOutcome::WaitUntil {
            until,
            reason: reason.into(),
            changed: Vec::new(),
            emit: Vec::new(),
            lines: Vec::new(),
        }
    }

    pub fn failed(reason: impl Into<String>) -> Self {
        StepOutcome::Failed {
            reason: reason.into(),
        }
    }

    pub fn blocked(reason: impl Into<String>) -> Self {
        StepOutcome::Blocked {
            reason: reason.into(),
        }
    }

    /// Maps an unexpected tenant error: retryable kinds retry, the rest fail permanently.
    /// `doing` says what the step was doing, e.g. "disabling sign-in for dana@contoso.com".
    pub fn from_error(doing: &str, e: TenantError) -> Self {
        let reason = format!("{doing}: {e}");
        match e.kind {
            ErrorKind::Throttled { retry_after } | ErrorKind::Transient { retry_after } => {
                StepOutcome::Retry {
                    after: retry_after,
                    reason,
                }
            }
            ErrorKind::Unauthorized | ErrorKind::Forbidden => StepOutcome::Failed {
                reason: format!(
                    "{reason}. Check the app registration's permissions and roles (README: app registration)."
                ),
            },
            ErrorKind::OnPremisesMastered => StepOutcome::Blocked {
                reason: format!(
                    "{reason}. The account is synced from on-premises AD (R9, see docs/rules.md): make the change there."
                ),
            },
            _ => StepOutcome::Failed { reason },
        }
    }
}

/// `?`-style helper for steps: `let user = try_tenant!(tenant.get_user(..).await, "reading ..");`
#[macro_export]
macro_rules! try_tenant {
    ($call:expr, $($doing:tt)+) => {
        match $call {
            Ok(v) => v,
            Err(e) => return $crate::steps::StepOutcome::from_error(&format!($($doing)+), e),
        }
    };
}

/// `try_tenant!` for observation code shared by a step's `run` and `plan`, which returns
/// `Result<_, StepOutcome>`.
#[macro_export]
macro_rules! try_observe {
    ($call:expr, $($doing:tt)+) => {
        match $call {
            Ok(v) => v,
            Err(e) => return Err($crate::steps::StepOutcome::from_error(&format!($($doing)+), e)),
        }
    };
}
