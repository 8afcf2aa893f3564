//! What a step may read of offboard's own records, without touching the store: earlier runs
//! of its subject (a restore undoes what the leaver did), facts recorded by earlier steps
//! (a purge request, a verified backup) and waiting lines (joiners waiting for a seat, in
//! arrival order). The engine implements it over the store; [`MemoryLedger`] serves tests.

use crate::ids::RunId;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A failed read of offboard's own store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("reading offboard's store: {0}")]
pub struct LedgerError(pub String);

pub type LedgerResult<T> = Result<T, LedgerError>;

pub trait Ledger: Send + Sync {
    /// Earlier runs of this run's subject in its family (newest first, not this run).
    fn prior_runs(&self) -> LedgerResult<Vec<PriorRun>>;
    /// Recorded facts whose key starts with `prefix`, in key order.
    fn facts(&self, prefix: &str) -> LedgerResult<Vec<(String, Value)>>;
    /// How many runs that arrived before this one stand in `line` (e.g. `seat/{skuId}`).
    fn ahead_in_line(&self, line: &str) -> LedgerResult<usize>;
    /// Whether this run already stands in `line` (an earlier attempt of the current step
    /// waited in it), e.g. so a shortage is published once, not on every poll.
    fn stands_in_line(&self, line: &str) -> bool;
}

impl dyn Ledger + '_ {
    pub fn fact(&self, key: &str) -> LedgerResult<Option<Value>> {
        Ok(self
            .facts(key)?
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v))
    }
}

/// An earlier run as a step sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PriorRun {
    pub id: RunId,
    pub workflow: String,
    /// `succeeded`, `failed`, `blocked`, `cancelled`, or still `running`/`waiting`/`pending`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub steps: Vec<PriorStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PriorStep {
    pub id: String,
    pub action: String,
    /// `succeeded`, `skipped`, `failed`, `blocked`, `running` (interrupted), `pending`, ...
    pub status: String,
    /// Attempts started: a step with attempts and no success may have changed things half-way.
    pub attempts: u32,
    /// The output of a succeeded step (`null` otherwise).
    pub output: Value,
}

impl PriorRun {
    /// The output of the first succeeded step running `action`.
    pub fn output_of(&self, action: &str) -> Option<&Value> {
        self.steps
            .iter()
            .find(|s| s.action == action && s.status == "succeeded")
            .map(|s| &s.output)
    }

    /// Whether a step running `action` was started (it may have changed the tenant).
    pub fn started(&self, action: &str) -> bool {
        self.steps
            .iter()
            .any(|s| s.action == action && (s.attempts > 0 || s.status == "succeeded"))
    }
}

/// An in-memory ledger for step tests and tools that run steps outside the engine.
#[derive(Debug, Default, Clone)]
pub struct MemoryLedger {
    pub prior: Vec<PriorRun>,
    pub facts: BTreeMap<String, Value>,
    /// Runs ahead in each line.
    pub ahead: BTreeMap<String, usize>,
    /// Lines this run stands in (the harness sets them from a step's `WaitUntil`).
    pub lines: BTreeSet<String>,
}

impl Ledger for MemoryLedger {
    fn prior_runs(&self) -> LedgerResult<Vec<PriorRun>> {
        Ok(self.prior.clone())
    }

    fn facts(&self, prefix: &str) -> LedgerResult<Vec<(String, Value)>> {
        Ok(self
            .facts
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn ahead_in_line(&self, line: &str) -> LedgerResult<usize> {
        Ok(self.ahead.get(line).copied().unwrap_or(0))
    }

    fn stands_in_line(&self, line: &str) -> bool {
        self.lines.contains(line)
    }
}
