//! Why a scenario or state file cannot be used: which file, and the cause.

use std::path::PathBuf;

/// A scenario or state file that cannot be used: which file, and why.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot read simulated tenant file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("simulated tenant file {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write simulated tenant state file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid scenario: {0}")]
    Invalid(String),
}
