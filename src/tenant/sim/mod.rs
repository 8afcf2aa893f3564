//! The simulated tenant: Microsoft 365 in memory, with its errors and its silent damage.
//! Seeded from a JSON [`Scenario`]; optionally written through to a state file.

mod arrivals;
mod damage;
mod directory;
mod drive;
mod error;
mod errors;
mod faults;
mod fingerprint;
mod group_licensing;
mod licenses;
mod mail;
mod persist;
mod scenario;
mod seed;
mod state;
mod subscriptions;
mod tenant;
mod tenant_impl;
mod users;

pub use damage::Damage;
pub use drive::{content, content_sha256};
pub use error::SimError;
pub use faults::{Fault, FaultState, SimFaults};
pub use scenario::{
    Scenario, ScenarioDrive, ScenarioFile, ScenarioGroup, ScenarioMailbox, ScenarioRole,
    ScenarioSku, ScenarioSubscription, ScenarioUser, SubscriptionKind,
};
pub use tenant::SimTenant;
pub use users::RETENTION_DAYS;
