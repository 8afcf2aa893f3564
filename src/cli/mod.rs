//! The command-line interface: one file per subcommand, plus the logging set-up they share.
//! `serve`, `demo`, `sim-graph` and `validate` run locally; the rest talk to a running
//! service through its admin API (`remote` resolves where and how).

mod accounts;
mod bulk;
pub mod demo;
mod demo_report;
mod event_build;
pub mod licenses;
pub mod log_record;
pub mod logging;
pub mod plan;
pub mod quarantine;
pub mod remote;
mod run_view;
pub mod runs;
pub mod serve;
pub mod sim_graph;
pub mod submit;
mod table;
pub mod validate;
mod watch;
pub mod workflows;
