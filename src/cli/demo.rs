//! `offboard demo`: every event in `examples/events/` through the real engine and store
//! against the simulated tenant from `examples/tenant.json`. It moves the simulated clock
//! whenever only timers are left, so waits and last working days pass at once, and says so.
//! With `--data-dir` and `--tenant-state` it resumes after being killed (the crash tests
//! drive it that way).

use super::demo_report::{Expectations, report};
use crate::clock::{Clock, SimClock};
use crate::config::Config;
use crate::engine::Registry;
use crate::engine::{Engine, EngineConfig, JsonlSink, RunStatus, drain_outbox};
use crate::event::CloudEvent;
use crate::steps::StepEnv;
use crate::store::Store;
use crate::tenant::graph::{GraphTenant, Sandbox};
use crate::tenant::sim::{Damage, SimFaults, SimTenant};
use crate::tenant::{CallRetry, Retrying, Tenant};
use anyhow::{Context, bail};
use chrono::Duration as ChronoDuration;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Simulated tenant scenario.
    #[arg(long, default_value = "examples/tenant.json")]
    pub scenario: PathBuf,
    /// Directory of CloudEvent JSON files, submitted in file-name order.
    #[arg(long, default_value = "examples/events")]
    pub events: PathBuf,
    /// Expected end state per event id (runs not listed must succeed).
    #[arg(long, default_value = "examples/expected.json")]
    pub expected: PathBuf,
    #[arg(long, default_value = "workflows")]
    pub workflows: PathBuf,
    /// Keep the store here (default: a temporary directory).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Persist the simulated tenant to this file after every change (survives kill -9).
    #[arg(long)]
    pub tenant_state: Option<PathBuf>,
    /// Append outcome events to this JSON-lines file.
    #[arg(long)]
    pub outcomes: Option<PathBuf>,
    /// Probability of throttling (429) per tenant call, 0..1.
    #[arg(long, default_value_t = 0.0)]
    pub throttle_rate: f64,
    /// Probability of a transient fault per tenant call, 0..1.
    #[arg(long, default_value_t = 0.0)]
    pub transient_rate: f64,
    /// Probability that a change is applied but its response lost, 0..1.
    #[arg(long, default_value_t = 0.0)]
    pub lost_response_rate: f64,
    /// Latency added to every simulated tenant call, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// No progress lines and no report (exit status only).
    #[arg(long)]
    pub quiet: bool,
    /// Run against an `offboard sim-graph` sandbox at this URL through the Microsoft 365
    /// connector (configured by the OFFBOARD_* variables sim-graph prints, with
    /// OFFBOARD_TENANT=graph) instead of an in-process simulated tenant. The demo moves the
    /// sandbox's clock with its own. The fault options then belong to the sandbox.
    #[arg(long)]
    pub sandbox: Option<String>,
}

/// Where the demo's tenant lives: in this process, or in a sim-graph sandbox reached over
/// HTTP. Either way the demo owns the simulated clock and reads the damage at the end.
enum World {
    Local(SimTenant),
    Sandbox(Sandbox),
}

impl World {
    /// Moves the tenant's clock to `t` and makes it durable before any timer fires, so a
    /// crash never sends simulated time backwards.
    async fn advance_to(
        &self,
        clock: &SimClock,
        t: chrono::DateTime<chrono::Utc>,
    ) -> anyhow::Result<()> {
        clock.advance_to(t);
        match self {
            World::Local(sim) => sim.save_now()?,
            World::Sandbox(sb) => {
                sb.advance_to(t).await?;
            }
        }
        Ok(())
    }

    async fn damage(&self) -> anyhow::Result<Vec<Damage>> {
        Ok(match self {
            World::Local(sim) => sim.damage(),
            World::Sandbox(sb) => sb.state().await?.damage,
        })
    }
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let mut workflows = crate::workflow::load_dir(&args.workflows).map_err(|problems| {
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("the workflows are invalid:\n{}", lines.join("\n"))
    })?;
    // The demo replays the example events only. Scheduled workflows (the retention sweep)
    // would fire whenever a poll happened to see the simulated clock jump past midnight,
    // which would make the demo, and the crash tests that compare two demo runs, depend on
    // timing. They still run when an event of their type is submitted.
    for w in &mut workflows {
        w.schedule = None;
    }
    let cfg = Config::load(None)?;
    let (world, tenant, clock): (World, Arc<dyn Tenant>, SimClock) = match &args.sandbox {
        Some(url) => {
            if cfg.tenant.as_deref() != Some("graph") {
                bail!(
                    "--sandbox runs the demo through the Microsoft 365 connector: set OFFBOARD_TENANT=graph and the OFFBOARD_* variables `offboard sim-graph` printed"
                );
            }
            let sandbox = Sandbox::new(url)?;
            let graph = GraphTenant::from_config(&cfg)?;
            // The engine's clock continues from the sandbox's (after a restart too).
            let clock = SimClock::new();
            clock.advance_to(sandbox.now().await?);
            (World::Sandbox(sandbox), Arc::new(graph), clock)
        }
        None => {
            if cfg.tenant.as_deref() == Some("graph") {
                bail!(
                    "OFFBOARD_TENANT=graph: the demo moves the tenant's clock, which only a sandbox allows; run `offboard sim-graph` and pass its URL with --sandbox"
                );
            }
            let scenario = SimTenant::load_scenario(&args.scenario)?;
            let sim = match &args.tenant_state {
                Some(state) => SimTenant::persistent(state, scenario)?,
                None => SimTenant::from_scenario(scenario, SimClock::new())?,
            };
            sim.set_faults(SimFaults {
                throttle_rate: args.throttle_rate,
                transient_rate: args.transient_rate,
                lost_response_rate: args.lost_response_rate,
                retry_after_ms: 50,
                seed: std::process::id() as u64,
                latency_ms: args.latency_ms,
            });
            let clock = sim.clock();
            // Like Microsoft's clients, retry a throttled or failed call before the step sees it.
            let tenant: Arc<dyn Tenant> =
                Arc::new(Retrying::new(Arc::new(sim.clone()), CallRetry::default()));
            (World::Local(sim), tenant, clock)
        }
    };
    let tmp;
    let data_dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().context("creating a temporary data directory")?;
            tmp.path().to_path_buf()
        }
    };
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let store = Store::open(&data_dir)?;
    let env = StepEnv::new(data_dir.join("backups"));
    let engine = Engine::new(
        store.clone(),
        Registry::new(workflows),
        tenant,
        Arc::new(clock.clone()),
        EngineConfig::new(env),
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut engine_stop = stop_rx.clone();
    let runner = {
        let engine = engine.clone();
        tokio::spawn(async move {
            engine
                .run(async move {
                    let _ = engine_stop.wait_for(|s| *s).await;
                })
                .await
        })
    };
    let outcomes_path = args
        .outcomes
        .clone()
        .unwrap_or_else(|| data_dir.join("outcomes.jsonl"));
    let publisher = tokio::spawn({
        let store = store.clone();
        let sink = JsonlSink::new(outcomes_path.clone());
        let stop = stop_rx.clone();
        async move { drain_outbox(store, &sink, stop).await }
    });

    let events = read_events(&args.events)?;
    if !args.quiet {
        eprintln!(
            "offboard demo: {} events, simulated tenant {}, store {}",
            events.len(),
            args.sandbox
                .clone()
                .unwrap_or_else(|| args.scenario.display().to_string()),
            data_dir.display()
        );
    }
    for e in events {
        engine.submit(e).await?;
    }
    drive_until_done(&engine, &clock, &world, args.quiet).await?;
    let _ = stop_tx.send(true);
    runner.await??;
    publisher.await??;

    if args.quiet {
        let expectations = Expectations::load(&args.expected)?;
        let failures = expectations.check(&engine)?;
        let damage = world.damage().await?;
        if !failures.is_empty() || !damage.is_empty() {
            for f in &failures {
                eprintln!("unexpected: {f}");
            }
            for d in &damage {
                eprintln!("damage: {} {}: {}", d.rule, d.user, d.what);
            }
            bail!(
                "{} unexpected end states, {} damage records",
                failures.len(),
                damage.len()
            );
        }
        return Ok(());
    }
    let expectations = Expectations::load(&args.expected)?;
    let ok = report(
        &engine,
        &world.damage().await?,
        &expectations,
        &outcomes_path,
    )?;
    if !ok {
        bail!(
            "some runs ended in an unexpected state or the tenant recorded damage (see the report)"
        );
    }
    Ok(())
}

fn read_events(dir: &Path) -> anyhow::Result<Vec<CloudEvent>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let body = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
            CloudEvent::from_json(&body).with_context(|| format!("{}", f.display()))
        })
        .collect()
}

/// Waits until every run has ended, moving the simulated clock to the next timer whenever
/// nothing else can happen.
pub async fn drive_to_end(
    engine: &Engine,
    clock: &SimClock,
    sim: &SimTenant,
    quiet: bool,
) -> anyhow::Result<()> {
    drive_until_done(engine, clock, &World::Local(sim.clone()), quiet).await
}

async fn drive_until_done(
    engine: &Engine,
    clock: &SimClock,
    world: &World,
    quiet: bool,
) -> anyhow::Result<()> {
    let mut last_line = String::new();
    let mut idle_rounds = 0;
    loop {
        let runs = engine.list_runs(None, None, None)?;
        let open = runs.iter().filter(|r| !r.status.is_terminal()).count();
        if !quiet {
            let line = progress_line(&runs);
            if line != last_line {
                eprintln!("  {line}");
                last_line = line;
            }
        }
        if open == 0 {
            return Ok(());
        }
        if engine.is_quiescent()? {
            idle_rounds += 1;
        } else {
            idle_rounds = 0;
        }
        if idle_rounds >= 3
            && let Some(due) = engine.next_timer_ms()?
        {
            let now = clock.now();
            let target = chrono::DateTime::from_timestamp_millis(due as i64).unwrap_or(now);
            if target > now {
                let jump = target - now + ChronoDuration::milliseconds(1);
                if !quiet && jump > ChronoDuration::seconds(60) {
                    eprintln!(
                        "  (moving the simulated clock forward by {} to {})",
                        humantime::format_duration(std::time::Duration::from_secs(
                            jump.num_seconds().max(0) as u64
                        )),
                        target.format("%Y-%m-%d %H:%M UTC")
                    );
                }
                world.advance_to(clock, now + jump).await?;
            }
            engine.poke_timers();
            idle_rounds = 0;
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
}

fn progress_line(runs: &[crate::engine::RunRecord]) -> String {
    let count = |s: RunStatus| runs.iter().filter(|r| r.status == s).count();
    format!(
        "{} runs: {} pending, {} running, {} waiting, {} succeeded, {} blocked, {} failed, {} cancelled",
        runs.len(),
        count(RunStatus::Pending),
        count(RunStatus::Running),
        count(RunStatus::Waiting),
        count(RunStatus::Succeeded),
        count(RunStatus::Blocked),
        count(RunStatus::Failed),
        count(RunStatus::Cancelled)
    )
}
