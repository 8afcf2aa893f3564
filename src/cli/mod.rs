//! The command-line interface: one file per subcommand, plus the logging set-up they share.

pub mod demo;
mod demo_report;
pub mod logging;
pub mod serve;
pub mod sim_graph;
pub mod validate;
