//! `offboard serve`: the service. One process with the engine (executor, timers, schedules),
//! the admin HTTP API, the AMQP ingress and the outcome publisher (when `OFFBOARD_AMQP_URL`
//! is set; without it outcomes go to `<data dir>/outcomes.jsonl`). SIGTERM or SIGINT stops
//! it gracefully: no new events, running step attempts get `shutdown_grace` to reach their
//! checkpoint (a second signal abandons them; they are repeated on restart), outcomes are
//! flushed for a few seconds, the store is made durable.

use crate::api::admin::{self, AdminState};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, redact_url};
use crate::engine::{Engine, EngineConfig, JsonlSink, OutcomeSink, Registry, drain_outbox};
use crate::health::Health;
use crate::ingress::{self, AmqpOutcomes, IngressConfig, PoisonCounters, Topology};
use crate::metrics::{Metrics, tenant_watch};
use crate::signature::EventKey;
use crate::steps::StepEnv;
use crate::store::Store;
use crate::tenant::graph::{GraphConfig, GraphTenant};
use crate::tenant::sim::SimTenant;
use crate::tenant::{CallRetry, Retrying, Tenant};
use anyhow::{Context, bail};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::{info, warn};

/// How long a stopping service keeps trying to hand queued outcomes to the broker.
const OUTBOX_FLUSH: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Configuration file (default: `offboard.toml` in the working directory, if present).
    /// Every key can be overridden by its OFFBOARD_* environment variable.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let cfg = Config::load(args.config.as_deref())?;
    if let Some(url) = &cfg.amqp_url {
        ingress::check_url(url).context("OFFBOARD_AMQP_URL")?;
    }
    let workflows_dir = cfg.workflows_dir();
    let workflows = crate::workflow::load_dir(&workflows_dir).map_err(|problems| {
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("the workflows are invalid:\n{}", lines.join("\n"))
    })?;
    let data_dir = cfg.data_dir();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    let store = Store::open(&data_dir)?;
    let metrics = Metrics::new();
    let (tenant, clock) = tenant(&cfg, &data_dir, &metrics)?;
    let mut step_env = StepEnv::new(cfg.backup_dir());
    step_env.seats = cfg.seats();
    let mut engine_config = EngineConfig::new(step_env);
    engine_config.metrics = metrics.clone();
    if let Some(n) = cfg.concurrency {
        engine_config.concurrency = n.max(1);
    }
    engine_config.protection = cfg.protection();
    engine_config.quarantine = cfg.quarantine();
    let engine = Engine::new(
        store.clone(),
        Registry::new(workflows),
        tenant.clone(),
        clock,
        engine_config,
    );
    let health = Health::new();
    let event_key = cfg.event_key.as_deref().and_then(EventKey::new);

    let addr = cfg.http_addr();
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("listening on {addr} (OFFBOARD_HTTP_ADDR)"))?;
    let local = listener.local_addr()?;
    if !local.ip().is_loopback() && cfg.admin_token.is_none() {
        bail!(
            "the admin API would listen on {local} without a token: set OFFBOARD_ADMIN_TOKEN, or listen on a loopback address"
        );
    }
    let limits = admin::HttpLimits {
        max_connections: cfg.http_max_connections(),
        ..admin::HttpLimits::default()
    };
    warn_if_few_open_files(cfg.open_files_budget());

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    tasks.push(tokio::spawn({
        let engine = engine.clone();
        let stop = stopped(&stop_rx);
        async move {
            if let Err(e) = engine.run(stop).await {
                warn!(error = %e, "The engine stopped on a store error.");
            }
        }
    }));
    let state = AdminState {
        engine: engine.clone(),
        health: health.clone(),
        event_key: event_key.clone(),
        admin_token: cfg.admin_token.clone(),
        metrics: metrics.clone(),
    };
    tasks.push(tokio::spawn({
        let (engine, stop) = (engine.clone(), stopped(&stop_rx));
        let (keep, every) = (cfg.retention(), crate::engine::retention::EVERY);
        info!(retention = %humantime::format_duration(keep), "Ended runs and dedup records older than the retention are pruned hourly.");
        crate::engine::retention::run(engine, keep, every, stop)
    }));
    tasks.push(tokio::spawn({
        let (metrics, health, stop) = (metrics.clone(), health.clone(), stopped(&stop_rx));
        let every = tenant_watch::TENANT_REFRESH;
        async move { tenant_watch::run(&*tenant, &metrics, &health, every, stop).await }
    }));
    tasks.push(tokio::spawn({
        let stop = stopped(&stop_rx);
        async move {
            if let Err(e) = admin::serve_with(listener, state, limits, stop).await {
                warn!(error = %e, "The admin API stopped.");
            }
        }
    }));
    let mut topology = match &cfg.amqp_prefix {
        Some(p) => Topology::prefixed(p),
        None => Topology::default(),
    };
    topology.shards = cfg.sharding().map_err(anyhow::Error::msg)?;
    // Kept to close its connection before the runtime goes (lapin's I/O thread needs it).
    let mut amqp_outcomes: Option<Arc<AmqpOutcomes>> = None;
    let sink: Arc<dyn OutcomeSink> = match &cfg.amqp_url {
        Some(url) => {
            let mut config = IngressConfig::new(url.clone());
            config.topology = topology.clone();
            config.event_key = event_key.clone();
            config.connection_name = format!("offboard-ingress@{}", hostname());
            config.metrics = metrics.clone();
            let counters = Arc::new(PoisonCounters::default());
            metrics.watch_dead_letters(counters.clone());
            let (engine, ingress_health, stop) =
                (engine.clone(), health.clone(), stopped(&stop_rx));
            tasks.push(tokio::spawn(async move {
                if let Err(e) =
                    ingress::run(&engine, &config, &counters, &ingress_health, stop).await
                {
                    warn!(error = %e, "The AMQP ingress stopped.");
                }
            }));
            info!(broker = %redact_url(url), exchange = %topology.events_exchange, "AMQP ingress enabled.");
            let outcomes = Arc::new(AmqpOutcomes::new(
                url,
                topology,
                &format!("offboard-outcomes@{}", hostname()),
                health.clone(),
            ));
            amqp_outcomes = Some(outcomes.clone());
            outcomes
        }
        None => {
            let path = data_dir.join("outcomes.jsonl");
            info!(path = %path.display(), "No OFFBOARD_AMQP_URL: events come in over the admin API only; outcomes go to a file.");
            Arc::new(JsonlSink::new(path))
        }
    };
    let mut publisher = tokio::spawn({
        let store = store.clone();
        let stop = stop_rx.clone();
        async move { drain_outbox(store, sink.as_ref(), stop).await }
    });
    // Tests and scripts read this line to find the port (`127.0.0.1:0` picks a free one).
    super::logging::announce(&format!("offboard: admin API listening on http://{local}"));

    let signal = termination().await;
    info!(
        signal,
        "Stopping: no new events; running step attempts finish."
    );
    let _ = stop_tx.send(true);
    let grace = cfg.shutdown_grace();
    let all = futures_join(tasks);
    tokio::select! {
        () = all => {}
        () = tokio::time::sleep(grace) => {
            warn!(grace_s = grace.as_secs(), "Step attempts still running after the grace period are abandoned; they are repeated on restart.");
        }
        signal = termination() => {
            warn!(signal, "Second signal: abandoning running step attempts; they are repeated on restart.");
        }
    }
    match tokio::time::timeout(OUTBOX_FLUSH, &mut publisher).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => warn!(error = %e, "The outcome publisher stopped on a store error."),
        Ok(Err(e)) => warn!(error = %e, "The outcome publisher failed."),
        Err(_) => {
            publisher.abort();
            warn!("Outcomes not yet published stay in the outbox and go out after the restart.")
        }
    }
    if let Some(outcomes) = amqp_outcomes {
        outcomes.close().await;
    }
    store.durable().await?;
    info!("Stopped.");
    Ok(())
}

/// The simulated tenant (default; its state persists in the data directory so a restart
/// continues with the same tenant) or Microsoft 365 through the Graph connector.
fn tenant(
    cfg: &Config,
    data_dir: &Path,
    metrics: &Metrics,
) -> anyhow::Result<(Arc<dyn Tenant>, Arc<dyn Clock>)> {
    match cfg.tenant.as_deref().unwrap_or("sim") {
        "graph" => {
            // The connector retries, throttles and honours Retry-After itself.
            let graph = GraphTenant::with_metrics(GraphConfig::from_config(cfg)?, metrics.clone())?;
            Ok((Arc::new(graph), Arc::new(SystemClock)))
        }
        _ => {
            let scenario_path = cfg.sim_scenario();
            let scenario = SimTenant::load_scenario(&scenario_path).with_context(|| {
                format!(
                    "loading the simulated tenant {} (OFFBOARD_SIM_SCENARIO)",
                    scenario_path.display()
                )
            })?;
            let sim = SimTenant::persistent(&data_dir.join("sim-tenant.json"), scenario)?;
            let clock = sim.clock();
            let tenant: Arc<dyn Tenant> = Arc::new(
                Retrying::new(Arc::new(sim), CallRetry::default()).with_metrics(metrics.clone()),
            );
            Ok((tenant, Arc::new(clock)))
        }
    }
}

/// Warns when the process may open fewer files than `budget` ([`Config::open_files_budget`]):
/// past the limit, accepting a connection, opening a backup file or reaching the tenant
/// fails. Linux only (`/proc/self/limits`); elsewhere nothing is checked.
fn warn_if_few_open_files(budget: u64) {
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else {
        return;
    };
    let soft = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|soft| soft.parse::<u64>().ok());
    if let Some(soft) = soft
        && soft < budget
    {
        warn!(
            limit = soft,
            needed = budget,
            "The process may open fewer files than the configured connections and runs can need; raise it (systemd: LimitNOFILE=, see deploy/systemd/offboard.service) or lower http_max_connections / concurrency."
        );
    }
}

/// Resolves when `stop` turns true.
fn stopped(stop: &watch::Receiver<bool>) -> impl Future<Output = ()> + Send + 'static {
    let mut stop = stop.clone();
    async move {
        let _ = stop.wait_for(|s| *s).await;
    }
}

async fn futures_join(tasks: Vec<tokio::task::JoinHandle<()>>) {
    for t in tasks {
        let _ = t.await;
    }
}

/// Waits for SIGTERM or SIGINT; returns its name.
async fn termination() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return "SIGINT";
        };
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = tokio::signal::ctrl_c() => "SIGINT",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_else(|| "localhost".into())
}
