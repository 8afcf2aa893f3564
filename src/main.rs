//! The `offboard` binary: parse the command line, start logging, dispatch.

use clap::{Parser, Subcommand};
use offboard::cli;
use offboard::cli::logging::{self, LogFormat};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "offboard",
    version,
    about = "Durable joiner / mover / leaver workflows for Microsoft 365"
)]
struct Cli {
    /// Log lines on stderr as text or as one JSON object per line.
    #[arg(long, global = true, env = "OFFBOARD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the example events through the real engine and store against the simulated tenant.
    Demo(cli::demo::DemoArgs),
    /// Run the service: engine, scheduler, admin HTTP API, AMQP ingress and outcome publisher.
    Serve(cli::serve::ServeArgs),
    /// Serve a simulated tenant over the Microsoft 365 HTTP API (a sandbox for OFFBOARD_TENANT=graph).
    SimGraph(cli::sim_graph::SimGraphArgs),
    /// Load and check every workflow file; report every problem with file and line.
    Validate {
        /// Directory of workflow files.
        #[arg(default_value = "workflows")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let args = Cli::parse();
    // The demo reports blocked runs itself; a service logs them as warnings.
    let default_level = match args.command {
        Command::Demo(_) | Command::Validate { .. } => "error",
        Command::SimGraph(_) => "warn",
        Command::Serve(_) => "info",
    };
    logging::init(args.log_format, default_level);
    let result = match args.command {
        Command::Validate { dir } => cli::validate::run(&dir),
        Command::SimGraph(a) => match tokio::runtime::Runtime::new() {
            Ok(rt) => rt.block_on(cli::sim_graph::run(a)),
            Err(e) => Err(e.into()),
        },
        Command::Serve(a) => match tokio::runtime::Runtime::new() {
            Ok(rt) => rt.block_on(cli::serve::run(a)),
            Err(e) => Err(e.into()),
        },
        Command::Demo(a) => match tokio::runtime::Runtime::new() {
            Ok(rt) => rt.block_on(cli::demo::run(a)),
            Err(e) => Err(e.into()),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            logging::report_error(&format!("offboard: {e:#}"));
            ExitCode::FAILURE
        }
    }
}
