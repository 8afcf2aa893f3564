//! Engine benchmark (not a test): prints figures for the targets of issue 2.
//!
//! 1. durable step transitions per second and per-step orchestration overhead (p50, p99) with
//!    a zero-latency simulated tenant and 1,000 concurrent runs;
//! 2. RSS with 100,000 runs waiting on timers;
//! 3. time from restart to the first step executed with 100,000 runs in the store.
//!
//! Run: `cargo bench --bench engine` (set `BENCH_RUNS` / `BENCH_WAITING` to change sizes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use offboard::clock::SimClock;
use offboard::engine::{Engine, EngineConfig, Registry};
use offboard::event::CloudEvent;
use offboard::steps::StepEnv;
use offboard::store::Store;
use offboard::tenant::sim::{Scenario, SimTenant};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TRANSITIONS_WF: &str = r#"
name = "bench-leaver"
version = 1
[[triggers]]
type = "hr.leaver"
[[steps]]
id = "disable"
action = "user.disable"
[[steps]]
id = "revoke"
action = "sessions.revoke"
[[steps]]
id = "snapshot"
action = "user.snapshot"
"#;

const WAITING_WF: &str = r#"
name = "bench-waiter"
version = 1
[[triggers]]
type = "hr.leaver"
[[steps]]
id = "cool-off"
wait = "30days"
[[steps]]
id = "disable"
action = "user.disable"
"#;

const QUICK_WF: &str = r#"
name = "bench-quick"
version = 1
[[triggers]]
type = "hr.joiner"
[[steps]]
id = "disable"
action = "user.disable"
"#;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn scenario(users: usize) -> Scenario {
    let users: Vec<_> = (0..users)
        .map(|i| {
            json!({"id": format!("00000000-0000-4000-8000-{i:012}"),
                   "userPrincipalName": format!("u{i}@bench.example"),
                   "displayName": format!("User {i}"), "usageLocation": "US"})
        })
        .collect();
    serde_json::from_value(json!({"tenant": "bench.example", "users": users})).unwrap()
}

fn event(i: usize, kind: &str) -> CloudEvent {
    CloudEvent::from_value(json!({
        "specversion": "1.0", "id": format!("{kind}-{i}"), "source": "bench", "type": kind,
        "subject": format!("u{i}@bench.example"), "time": "2026-11-01T00:00:00Z"}))
    .unwrap()
}

fn workflows(dir: &std::path::Path, files: &[(&str, &str)]) -> Vec<offboard::workflow::Workflow> {
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    offboard::workflow::load_dir(dir).unwrap()
}

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn engine(
    store: Store,
    wfs: Vec<offboard::workflow::Workflow>,
    sim: &SimTenant,
    dir: &std::path::Path,
    concurrency: usize,
) -> Engine {
    let mut cfg = EngineConfig::new(StepEnv::new(dir.join("backups")));
    cfg.concurrency = concurrency;
    Engine::new(
        store,
        Registry::new(wfs),
        Arc::new(sim.clone()),
        Arc::new(sim.clock()),
        cfg,
    )
}

async fn submit_all(engine: &Engine, events: Vec<CloudEvent>, parallel: usize) {
    let events = Arc::new(std::sync::Mutex::new(events));
    let mut tasks = Vec::new();
    for _ in 0..parallel {
        let engine = engine.clone();
        let events = events.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(e) = events.lock().unwrap().pop() else {
                    break;
                };
                engine.submit(e).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// CPU seconds (user + system) used by this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // After the command name: utime is field 12, stime field 13 (0-based from the state).
    (ticks(11) + ticks(12)) / 100.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn transitions_bench(runs: usize) {
    let dir = tempfile::tempdir().unwrap();
    let sim = SimTenant::from_scenario(scenario(runs), SimClock::new()).unwrap();
    let wfs = workflows(&dir.path().join("wf"), &[("bench.toml", TRANSITIONS_WF)]);
    let store = Store::open(dir.path()).unwrap();
    let engine = engine(store, wfs, &sim, dir.path(), runs);
    let events: Vec<_> = (0..runs).map(|i| event(i, "hr.leaver")).collect();
    submit_all(&engine, events, 256).await;
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let runner = {
        let engine = engine.clone();
        tokio::spawn(async move {
            engine
                .run(async move {
                    let _ = stop_rx.wait_for(|s| *s).await;
                })
                .await
        })
    };
    let start = Instant::now();
    let cpu_start = cpu_seconds();
    // 2 checkpoints per step (before and after); poll a counter, not the store.
    while engine.transitions() < (runs * 3 * 2) as u64 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_start;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let done = engine
        .list_runs(Some(offboard::engine::RunStatus::Succeeded), None, None)
        .unwrap()
        .len();
    assert_eq!(done, runs, "every run must succeed");
    let _ = stop_tx.send(true);
    runner.await.unwrap().unwrap();
    let checkpoints = engine.transitions();
    let (flushes, writers, micros) = engine.store().flush_stats();
    // Per-step orchestration overhead: time between the starts of consecutive steps of a run
    // (includes the checkpoint after one step and the checkpoint before the next; the tenant
    // itself answers in microseconds).
    let mut gaps = Vec::new();
    for r in engine.list_runs(None, None, None).unwrap() {
        let view = engine.run_view(&r.id).unwrap();
        for w in view.journal.windows(2) {
            let gap = w[1].attempt.started_at - w[0].attempt.started_at;
            gaps.push(gap.num_microseconds().unwrap_or(0) as f64 / 1000.0);
        }
    }
    gaps.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let steps = runs * 3;
    println!("transitions: {runs} concurrent runs x 3 steps, zero-latency simulated tenant");
    println!("  wall time                      {elapsed:.2} s");
    println!(
        "  durable transitions            {checkpoints} ({:.0}/s; attempt started + result per step)",
        checkpoints as f64 / elapsed
    );
    println!(
        "  steps completed                {steps} ({:.0}/s)",
        steps as f64 / elapsed
    );
    println!(
        "  CPU                            {cpu:.2} s ({:.0} µs per step, {:.0} % of 2 cores)",
        cpu * 1e6 / steps as f64,
        cpu * 100.0 / (2.0 * elapsed)
    );
    println!(
        "  group commit                   {flushes} flushes, {:.1} writers each, {:.2} ms each",
        writers as f64 / flushes.max(1) as f64,
        micros as f64 / 1000.0 / flushes.max(1) as f64
    );
    println!(
        "  per-step overhead p50 / p99    {:.2} ms / {:.2} ms",
        percentile(&gaps, 0.5),
        percentile(&gaps, 0.99)
    );
}

async fn waiting_and_restart_bench(waiting: usize) {
    let dir = tempfile::tempdir().unwrap();
    let sim = SimTenant::from_scenario(scenario(1), SimClock::new()).unwrap();
    let files = [("waiter.toml", WAITING_WF), ("quick.toml", QUICK_WF)];
    let wfs = workflows(&dir.path().join("wf"), &files);
    let rss_before = rss_mb();
    {
        let store = Store::open(dir.path()).unwrap();
        let engine = engine(store.clone(), wfs.clone(), &sim, dir.path(), 256);
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let runner = {
            let engine = engine.clone();
            tokio::spawn(async move {
                engine
                    .run(async move {
                        let _ = stop_rx.wait_for(|s| *s).await;
                    })
                    .await
            })
        };
        let start = Instant::now();
        let events: Vec<_> = (0..waiting).map(|i| event(i, "hr.leaver")).collect();
        submit_all(&engine, events, 256).await;
        let admitted = start.elapsed().as_secs_f64();
        // One checkpoint per run (its wait starts); poll a counter, not the store.
        while engine.transitions() < waiting as u64 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(store.timer_count(), waiting);
        println!(
            "waiting: {waiting} runs admitted in {admitted:.1} s ({:.0} events/s), all on timers after {:.1} s",
            waiting as f64 / admitted,
            start.elapsed().as_secs_f64()
        );
        println!(
            "  RSS with {waiting} runs waiting   {:.0} MB (process before: {rss_before:.0} MB)",
            rss_mb()
        );
        let _ = stop_tx.send(true);
        runner.await.unwrap().unwrap();
        // One runnable run for the restart measurement: admitted, not executed.
        engine.submit(event(0, "hr.joiner")).await.unwrap();
        store.flush_blocking().unwrap();
    }
    let start = Instant::now();
    let store = Store::open(dir.path()).unwrap();
    let opened = start.elapsed().as_secs_f64();
    let engine = engine(store, wfs, &sim, dir.path(), 256);
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let runner = {
        let engine = engine.clone();
        tokio::spawn(async move {
            engine
                .run(async move {
                    let _ = stop_rx.wait_for(|s| *s).await;
                })
                .await
        })
    };
    while engine.transitions() == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    println!(
        "restart: store with {} runs reopened in {opened:.2} s; first step executed after {:.2} s",
        waiting + 1,
        start.elapsed().as_secs_f64()
    );
    let _ = stop_tx.send(true);
    runner.await.unwrap().unwrap();
}

/// The store alone: `writers` tasks each committing small batches (one run record each) as
/// fast as group commit lets them.
async fn store_bench(writers: usize, per_writer: usize) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let sample = serde_json::json!({"k": "v".repeat(200)});
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = store.clone();
        let sample = sample.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_writer {
                let mut b = offboard::store::WriteBatch::new();
                let outcome = offboard::engine::Outcome {
                    id: format!("{w}-{i}"),
                    outcome_type: "bench".into(),
                    run_id: offboard::ids::RunId::new(),
                    workflow: "bench".into(),
                    subject: "bench".into(),
                    time: chrono::Utc::now(),
                    data: sample.clone(),
                };
                b.put_outcome(store.next_seq().unwrap(), &outcome);
                store.commit(b).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let n = writers * per_writer;
    let (flushes, served, micros) = store.flush_stats();
    println!(
        "store: {writers} concurrent writers, {n} durable commits in {elapsed:.2} s ({:.0}/s); {flushes} flushes, {:.1} writers each, {:.2} ms each",
        n as f64 / elapsed,
        served as f64 / flushes.max(1) as f64,
        micros as f64 / 1000.0 / flushes.max(1) as f64
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        store_bench(256, 100).await;
        transitions_bench(env_usize("BENCH_RUNS", 1000)).await;
        waiting_and_restart_bench(env_usize("BENCH_WAITING", 100_000)).await;
    });
}
