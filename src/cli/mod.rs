//! The command-line interface: one file per subcommand.

pub mod demo;
mod demo_report;
pub mod serve;
pub mod sim_graph;
pub mod validate;
