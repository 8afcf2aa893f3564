//! `offboard sim-graph`: a [`SimTenant`](crate::tenant::sim::SimTenant) served over the real
//! HTTP shapes of docs/microsoft-365-api.md — token endpoint, Graph v1.0, `$batch`, Exchange
//! InvokeCommand, Partner Center — under the prefixes `/login`, `/graph`, `/exchange`, `/partner`,
//! with latency, throttling, transient faults, lost responses and the directory write quota.
//! One file per service; `server.rs` wires them.

mod auth;
mod batch;
mod call;
mod conn;
mod directory;
mod drive;
mod errors;
mod exchange;
mod faults;
mod groups;
mod licenses;
mod mail;
mod odata;
mod options;
mod partner;
mod sandbox;
mod server;
mod token;
mod user_list;
mod users;

pub use options::{Secret, SimGraphOptions, WriteQuota, tenant_id_for_domain};
pub use server::{serve, serve_with_shutdown};
