//! Parity: every example event through the real engine, once against the in-process simulated
//! tenant and once through the Graph connector over HTTP to `offboard sim-graph`, ends in the
//! identical tenant state, with the same run outcomes and no damage — also with throttling,
//! transient faults and applied-then-lost responses switched on for the HTTP path.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use offboard::api::sim_graph::{SimGraphOptions, serve};
use offboard::clock::SimClock;
use offboard::config::Config;
use offboard::engine::{Engine, EngineConfig, Registry};
use offboard::steps::StepEnv;
use offboard::store::Store;
use offboard::tenant::graph::{GraphConfig, GraphTenant};
use offboard::tenant::sim::{SimFaults, SimTenant};
use offboard::tenant::{CallRetry, Retrying, Tenant};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

struct Outcome {
    fingerprint: Value,
    /// (event id + workflow, status + reason) of every run.
    runs: Vec<(String, String)>,
    damage: usize,
}

/// The connector configured, through `OFFBOARD_*` variables, for a sim-graph on `base`.
fn graph_tenant(base: &str, opts: &SimGraphOptions) -> GraphTenant {
    let env = [
        ("OFFBOARD_TENANT", "graph".to_string()),
        ("OFFBOARD_TENANT_ID", opts.tenant_id.clone()),
        ("OFFBOARD_CLIENT_ID", opts.client_id.clone()),
        ("OFFBOARD_CLIENT_SECRET", "s3cret".to_string()),
        ("OFFBOARD_LOGIN_URL", format!("{base}/login")),
        ("OFFBOARD_GRAPH_URL", format!("{base}/graph")),
        ("OFFBOARD_EXCHANGE_URL", format!("{base}/exchange")),
        ("OFFBOARD_PARTNER_CENTER_URL", format!("{base}/partner")),
    ];
    let mut cfg = Config::default();
    cfg.apply_env(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
        .unwrap();
    GraphTenant::new(GraphConfig::from_config(&cfg).unwrap()).unwrap()
}

async fn run_examples(http_faults: Option<SimFaults>) -> Outcome {
    let scenario = SimTenant::load_scenario(&Path::new(ROOT).join("examples/tenant.json")).unwrap();
    let sim = SimTenant::from_scenario(scenario, SimClock::new()).unwrap();
    let tenant: Arc<dyn Tenant> = match http_faults {
        Some(faults) => {
            let mut opts = SimGraphOptions::new("contoso.com", "s3cret");
            opts.faults = faults;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(serve(listener, sim.clone(), opts.clone()));
            Arc::new(graph_tenant(&base, &opts))
        }
        // In process, like the demo: Microsoft's clients retry a failed call themselves.
        None => Arc::new(Retrying::new(Arc::new(sim.clone()), CallRetry::default())),
    };
    let mut workflows = offboard::workflow::load_dir(&Path::new(ROOT).join("workflows")).unwrap();
    for w in &mut workflows {
        w.schedule = None;
    }
    let clock = sim.clock();
    let tmp = tempfile::tempdir().unwrap();
    let engine = Engine::new(
        Store::open(tmp.path()).unwrap(),
        Registry::new(workflows),
        tenant,
        Arc::new(clock.clone()),
        EngineConfig::new(StepEnv::new(tmp.path().join("backups"))),
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let runner = {
        let engine = engine.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            engine
                .run(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await
        })
    };
    let mut files: Vec<_> = std::fs::read_dir(Path::new(ROOT).join("examples/events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let e = offboard::event::CloudEvent::from_json(&std::fs::read(&f).unwrap()).unwrap();
        engine.submit(e).await.unwrap();
    }
    tokio::time::timeout(
        std::time::Duration::from_secs(120),
        offboard::cli::demo::drive_to_end(&engine, &clock, &sim, true),
    )
    .await
    .expect("the runs did not end within 120 s")
    .unwrap();
    let _ = stop_tx.send(true);
    runner.await.unwrap().unwrap();
    let mut runs: Vec<(String, String)> = engine
        .list_runs(None, None, None)
        .unwrap()
        .iter()
        .map(|r| {
            (
                format!("{} {}", r.event.id, r.workflow),
                format!("{} {}", r.status, r.reason.clone().unwrap_or_default()),
            )
        })
        .collect();
    runs.sort();
    Outcome {
        fingerprint: sim.fingerprint(),
        runs,
        damage: sim.damage().len(),
    }
}

fn assert_same(a: &Outcome, b: &Outcome) {
    assert_eq!(a.damage, 0);
    assert_eq!(b.damage, 0);
    assert_eq!(a.runs.len(), b.runs.len());
    for (x, y) in a.runs.iter().zip(&b.runs) {
        assert_eq!(x.0, y.0);
        // Statuses must agree; reasons too, except where they quote a request id.
        let (sx, sy) = (x.1.split(' ').next(), y.1.split(' ').next());
        assert_eq!(sx, sy, "{}: in process `{}`, over HTTP `{}`", x.0, x.1, y.1);
    }
    if a.fingerprint != b.fingerprint {
        let (sa, sb) = (
            serde_json::to_string_pretty(&a.fingerprint).unwrap(),
            serde_json::to_string_pretty(&b.fingerprint).unwrap(),
        );
        let diff: Vec<String> = sa
            .lines()
            .zip(sb.lines())
            .enumerate()
            .filter(|(_, (x, y))| x != y)
            .take(20)
            .map(|(i, (x, y))| format!("line {i}: in process {x} | over HTTP {y}"))
            .collect();
        panic!("the tenants differ:\n{}", diff.join("\n"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_examples_end_in_the_same_tenant_in_process_and_over_http() {
    let in_process = run_examples(None).await;
    let over_http = run_examples(Some(SimFaults::default())).await;
    assert_same(&in_process, &over_http);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_over_http_change_nothing_in_the_end() {
    let in_process = run_examples(None).await;
    let over_http = run_examples(Some(SimFaults {
        throttle_rate: 0.05,
        transient_rate: 0.03,
        lost_response_rate: 0.05,
        retry_after_ms: 50,
        seed: 7,
        latency_ms: 0,
    }))
    .await;
    assert_same(&in_process, &over_http);
}
