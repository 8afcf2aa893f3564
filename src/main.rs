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
    #[arg(long, global = true, env = logging::FORMAT_VAR, value_enum, default_value_t = LogFormat::Text)]
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
    /// Submit an event (or one per user, in bulk) to the running service; --wait follows it.
    Submit(cli::submit::SubmitArgs),
    /// List, show, restart, cancel or approve runs.
    Runs(cli::runs::RunsArgs),
    /// What an event would do, without doing it.
    Plan(cli::plan::PlanArgs),
    /// The tenant's license plans with enabled, consumed and free units.
    Licenses(cli::licenses::LicensesArgs),
    /// The service's workflows with their triggers and steps.
    Workflows(cli::workflows::WorkflowsArgs),
    /// The state of the mass-offboarding quarantine.
    Quarantine(cli::quarantine::QuarantineArgs),
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
        Command::Submit(_)
        | Command::Runs(_)
        | Command::Plan(_)
        | Command::Licenses(_)
        | Command::Workflows(_)
        | Command::Quarantine(_) => "error",
        Command::SimGraph(_) => "warn",
        // lapin logs its own error for every failed handshake or dropped connection; the
        // ingress logs those itself, with the address, at a bounded rate (README "RabbitMQ
        // ingress"). `OFFBOARD_LOG=info,lapin=debug` shows lapin's view.
        Command::Serve(_) => "info,lapin=off",
    };
    logging::init(args.log_format, default_level);
    let result = match args.command {
        Command::Validate { dir } => cli::validate::run(&dir),
        Command::Submit(a) => block_on(cli::submit::run(a)),
        Command::Runs(a) => block_on(cli::runs::run(a)),
        Command::Plan(a) => block_on(cli::plan::run(a)),
        Command::Licenses(a) => block_on(cli::licenses::run(a)),
        Command::Workflows(a) => block_on(cli::workflows::run(a)),
        Command::Quarantine(a) => block_on(cli::quarantine::run(a)),
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

/// Runs a command on a small runtime (the API commands only wait on HTTP).
fn block_on(fut: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(fut)
}
