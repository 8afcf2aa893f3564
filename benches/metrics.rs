//! Metrics benchmark (not a test): what a `GET /metrics` costs with many runs in the store.
//! Prints the store read of a scrape (the store's counters: runs by workflow and status,
//! outbox backlog, pending timers), the same count by a full scan (`Store::recount`) and
//! through full run decoding for comparison, and rendering. `benches/store_scale.rs` measures
//! memory with 1,000,000 runs.
//!
//! Run: `cargo bench --bench metrics` (`BENCH_RUNS` changes the number of runs, default 100,000).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use offboard::clock::SimClock;
use offboard::engine::{Engine, EngineConfig, Registry};
use offboard::event::CloudEvent;
use offboard::metrics::Metrics;
use offboard::steps::StepEnv;
use offboard::store::Store;
use offboard::tenant::sim::SimTenant;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
[[steps]]
id = "revoke"
action = "sessions.revoke"
"#;

fn event(i: usize) -> CloudEvent {
    CloudEvent::from_value(json!({
        "specversion": "1.0", "id": format!("leaver-{i}"), "source": "bench", "type": "hr.leaver",
        "subject": format!("u{i}@bench.example"), "time": "2026-11-01T00:00:00Z",
        "data": {"manager": "boss@bench.example", "mailbox": "shared", "onedrive": "manager"}}))
    .unwrap()
}

/// The median of `n` timed calls of `f`, in milliseconds.
fn median_ms(n: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let scenario = serde_json::from_value(json!({"tenant": "bench.example", "users": []})).unwrap();
    let sim = SimTenant::from_scenario(scenario, SimClock::new()).unwrap();
    let wf = offboard::workflow::parse(std::path::Path::new("waiter.toml"), WAITING_WF).unwrap();
    let store = Store::open(dir.path()).unwrap();
    let engine = Engine::new(
        store.clone(),
        Registry::new(vec![wf]),
        Arc::new(sim.clone()),
        Arc::new(sim.clock()),
        EngineConfig::new(StepEnv::new(dir.path().join("backups"))),
    );
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn({
        let engine = engine.clone();
        async move {
            engine
                .run(async move {
                    let _ = stop_rx.wait_for(|s| *s).await;
                })
                .await
        }
    });
    let start = Instant::now();
    let mut i = 0;
    while i < runs {
        let n = (runs - i).min(1000);
        let batch: Vec<CloudEvent> = (i..i + n).map(event).collect();
        engine.admit(batch).await.durable(&engine).await.unwrap();
        i += n;
    }
    while engine.transitions() < runs as u64 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop_tx.send(true);
    runner.await.unwrap().unwrap();
    store.flush_blocking().unwrap();
    println!(
        "{runs} runs waiting on timers, stored in {:.1} s",
        start.elapsed().as_secs_f64()
    );

    let figures = engine.store_figures().unwrap();
    let counted: u64 = figures.runs.iter().map(|(_, _, n)| n).sum();
    assert_eq!(counted, runs as u64);
    assert_eq!(figures.timers_pending, runs);
    let scrape_read = median_ms(5, || {
        engine.store_figures().unwrap();
    });
    let recount = median_ms(5, || {
        assert_eq!(store.recount().unwrap(), store.counts().unwrap());
    });
    let full_decode = median_ms(5, || {
        assert_eq!(engine.list_runs(None, None, None).unwrap().len(), runs);
    });
    let metrics = Metrics::new();
    metrics
        .refresh_store(Duration::ZERO, || engine.store_figures())
        .unwrap();
    let render = median_ms(5, || {
        metrics.render();
    });
    println!("  store read of a scrape          {scrape_read:.2} ms (median of 5; the counters)");
    println!(
        "  the same by a full scan         {recount:.0} ms (workflow and status decoded, key scans)"
    );
    println!("  same count, full run decoding   {full_decode:.0} ms (list_runs, for comparison)");
    println!(
        "  render                          {render:.2} ms ({} bytes)",
        metrics.render().len()
    );
}
