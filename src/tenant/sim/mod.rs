//! The simulated tenant: Microsoft 365 in memory, with its errors and its silent damage.
//! Seeded from a JSON [`Scenario`]; optionally written through to a state file.

mod damage;
mod drive;
mod errors;
mod faults;
mod fingerprint;
mod licenses;
mod mail;
mod persist;
mod scenario;
mod seed;
mod state;
mod tenant;
mod tenant_impl;
mod users;

pub use damage::Damage;
pub use drive::{content, content_sha256};
pub use faults::SimFaults;
pub use scenario::{
    Scenario, ScenarioDrive, ScenarioFile, ScenarioGroup, ScenarioMailbox, ScenarioRole,
    ScenarioSku, ScenarioUser,
};
pub use tenant::SimTenant;
pub use users::RETENTION_DAYS;

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
