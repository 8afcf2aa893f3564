//! # offboard
//!
//! Event-driven joiner / mover / leaver workflows for Microsoft 365 and Entra ID, with every
//! step checkpointed in sled so a crash resumes without repeating work.
//!
//! ## Layout
//!
//! | module | owns | must not import |
//! |---|---|---|
//! | [`event`] | CloudEvent envelope and lifecycle payload | — |
//! | [`ids`] | identifier newtypes | — |
//! | [`clock`] | wall clock and the movable simulated clock | — |
//! | [`config`] | `offboard.toml` + `OFFBOARD_*` environment layering | — |
//! | [`workflow`] | workflow file format, loading, templates, validation | I/O beyond reading files |
//! | [`engine`] | runs, journal, executor, retries, timers, scheduler, dry-run plans | lapin, reqwest, sled, axum |
//! | [`steps`] | one file per step type (observe → act → verify, or observe → describe for a plan) | the store |
//! | [`tenant`] | the tenant trait and domain types; `sim` in memory, `graph` over HTTP, `ReadOnly` for plans | — |
//! | [`store`] | sled: runs, journal, dedup, timers, outbox, counters, AMQP attempt counts (the only sled user) | — |
//! | [`ingress`] | AMQP: topology, consume, decode, dead-letter, reconnect (the only lapin user) | sled, axum, reqwest |
//! | [`api`] | HTTP: the admin API and `sim_graph` servers (the only axum user); `client`, the admin API's client for the commands | — |
//! | [`shard`] | which shards (users) this instance owns; the subject header publishers set | — |
//! | [`signature`] | HMAC-SHA256 event signatures (`x-offboard-signature`) | — |
//! | [`health`] | readiness of the service's dependencies | — |
//! | [`metrics`] | Prometheus registry and text format, the `Metrics` handle, the tenant watch | sled, lapin, axum, reqwest |
//! | [`cli`] | one file per subcommand | — |

pub mod api;
pub mod cli;
pub mod clock;
pub mod config;
pub mod engine;
pub mod event;
pub mod health;
pub mod ids;
pub mod ingress;
pub mod metrics;
pub mod shard;
pub mod signature;
pub mod steps;
pub mod store;
pub mod tenant;
pub mod workflow;
