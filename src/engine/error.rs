//! Engine errors: what failed, for which run or event, and what a person can do.

use crate::ids::RunId;
use crate::store::StoreError;

pub type EngineResult<T, E = EngineError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("run {0} does not exist")]
    UnknownRun(RunId),
    #[error("run {run}: {message}")]
    Conflict { run: RunId, message: String },
    #[error("run {run} has no step `{step}`; its steps are: {known}")]
    UnknownStep {
        run: RunId,
        step: String,
        known: String,
    },
    #[error("event {event}: {message}")]
    BadEvent { event: String, message: String },
    #[error("workflow {hash} pinned by run {run} cannot be loaded: {message}")]
    Pinned {
        run: RunId,
        hash: String,
        message: String,
    },
}

impl EngineError {
    /// Whether the caller's input is at fault (maps to HTTP 4xx).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, EngineError::Store(_) | EngineError::Pinned { .. })
    }
}
