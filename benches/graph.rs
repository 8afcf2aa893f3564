//! Graph connector benchmark (not a test): N leavers (default 1,000) through the real engine,
//! the shipped leaver workflow and the Graph connector over HTTP to an in-process
//! `sim-graph` with 50 ms latency per request and the directory write quota enforced.
//! Prints wall time against the quota-bound minimum (writes ÷ quota rate), the 429s, and the
//! HTTP requests per leaver with and without `$batch`.
//!
//! The published quota is 3,000 writes per 150 s (20/s). `BENCH_QUOTA_SCALE` (default 10)
//! divides the window, keeping the limit — 3,000 per 15 s, 200 writes/s — so a run takes
//! seconds, not minutes; the client's write limiter is configured for the same quota
//! (99 %). `BENCH_QUOTA_SCALE=1` measures the published quota itself (about 2.5 min).
//!
//! Run: `cargo bench --bench graph` (`BENCH_LEAVERS`, `BENCH_LATENCY_MS`, `BENCH_QUOTA_SCALE`,
//! `BENCH_EXCHANGE_RATE` — Exchange cmdlets per second the client allows itself, default 200).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use offboard::api::sim_graph::{SimGraphOptions, WriteQuota, serve};
use offboard::clock::SimClock;
use offboard::config::Config;
use offboard::engine::{Engine, EngineConfig, Registry, RunStatus};
use offboard::event::CloudEvent;
use offboard::steps::StepEnv;
use offboard::store::Store;
use offboard::tenant::graph::{GraphConfig, GraphTenant, Rate};
use offboard::tenant::sim::{Scenario, SimFaults, SimTenant};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";
/// Directory writes as the sim counts them (one per HTTP write under /users, /groups).
const WRITES: &[&str] = &[
    "set_account_enabled",
    "set_usage_location",
    "revoke_sign_in_sessions",
    "assign_license",
    "add_group_member",
    "remove_group_member",
    "delete_user",
    "restore_deleted_user",
    "purge_deleted_user",
];

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// N licensed users with a mailbox, a one-file OneDrive, a manager and three (non-licensing)
/// group memberships, so `memberOf` has groups to read in a batch.
fn scenario(n: usize) -> Scenario {
    let id = |i: usize| format!("00000000-0000-4000-8000-{i:012}");
    let mut users = vec![json!({
        "id": id(0), "userPrincipalName": "boss@contoso.com", "displayName": "Boss",
        "usageLocation": "US", "licenses": ["SPE_E3"]})];
    for i in 1..=n {
        users.push(json!({
            "id": id(i), "userPrincipalName": format!("user{i}@contoso.com"),
            "displayName": format!("User {i}"), "usageLocation": "US",
            "manager": "boss@contoso.com", "licenses": ["SPE_E3"],
            "drive": {"files": [{"path": "Documents/notes.docx", "size": 2048}]}
        }));
    }
    let members: Vec<String> = (1..=n).map(id).collect();
    let groups: Vec<Value> = ["All staff", "Office", "Newsletter"]
        .iter()
        .enumerate()
        .map(|(g, name)| {
            json!({"id": format!("9e2b1c44-0f7d-4a6b-b1e8-{g:012}"), "displayName": name,
                   "members": members})
        })
        .collect();
    serde_json::from_value(json!({
        "tenant": "contoso.com",
        "groupLicensingDelaySeconds": 0,
        "skus": [{"skuId": E3, "skuPartNumber": "SPE_E3",
                  "prepaidUnits": {"enabled": n + 10},
                  "servicePlans": [{"servicePlanId": "efb87545-963c-4e0d-99df-69c6916d9eb0",
                                    "servicePlanName": "EXCHANGE_S_ENTERPRISE"}]}],
        "users": users,
        "groups": groups,
    }))
    .unwrap()
}

struct Figures {
    wall: Duration,
    requests: u64,
    throttled: u64,
    writes: u64,
    succeeded: usize,
}

async fn run(
    n: usize,
    latency_ms: u64,
    quota: WriteQuota,
    exchange_rate: f64,
    batching: bool,
) -> Figures {
    let sim = SimTenant::from_scenario(scenario(n), SimClock::new()).unwrap();
    let mut opts = SimGraphOptions::new("contoso.com", "s3cret");
    opts.faults = SimFaults {
        latency_ms,
        ..SimFaults::default()
    };
    opts.write_quota = Some(quota);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, sim.clone(), opts.clone()));

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
    let mut gc = GraphConfig::from_config(&cfg).unwrap();
    let per_second = f64::from(quota.limit) / quota.window.as_secs_f64();
    gc.limits.directory_write = Rate {
        per_second: per_second * 0.99,
        burst: 10.0,
    };
    // A tenant with more than 500 users: 8,000 resource units per 10 s (§8.2).
    gc.limits.directory_read = Rate {
        per_second: 790.0,
        burst: 790.0,
    };
    // Exchange's admin API publishes no limits (§8.2); the connector's default (10 cmdlets/s)
    // is a guess that would bound this run instead of the directory quota.
    gc.limits.exchange = Rate {
        per_second: exchange_rate,
        burst: exchange_rate,
    };
    gc.batching = batching;
    let tenant = Arc::new(GraphTenant::new(gc).unwrap());

    let mut workflows =
        offboard::workflow::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows"))
            .unwrap();
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
    let started = Instant::now();
    for i in 1..=n {
        let e = CloudEvent::from_value(json!({
            "specversion": "1.0", "id": format!("leaver-{i}"), "source": "bench",
            "type": "hr.leaver", "subject": format!("user{i}@contoso.com"),
            "time": "2026-11-30T00:00:00Z", "data": {"manager": "boss@contoso.com"}}))
        .unwrap();
        engine.submit(e).await.unwrap();
    }
    offboard::cli::demo::drive_to_end(&engine, &clock, &sim, true)
        .await
        .unwrap();
    let wall = started.elapsed();
    let _ = stop_tx.send(true);
    runner.await.unwrap().unwrap();
    let succeeded = engine
        .list_runs(None, None, None)
        .unwrap()
        .iter()
        .filter(|r| r.status == RunStatus::Succeeded)
        .count();
    assert!(sim.damage().is_empty(), "damage: {:?}", sim.damage());
    let stats: Value = reqwest::get(format!("{base}/_sim/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Figures {
        wall,
        requests: stats["requests"].as_u64().unwrap_or(0),
        throttled: stats["throttled"].as_u64().unwrap_or(0)
            + stats["quotaThrottled"].as_u64().unwrap_or(0),
        writes: WRITES.iter().map(|w| sim.calls(w)).sum(),
        succeeded,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    offboard::tenant::graph::install_crypto_provider();
    let n = env_num("BENCH_LEAVERS", 1000) as usize;
    let latency = env_num("BENCH_LATENCY_MS", 50);
    let scale = env_num("BENCH_QUOTA_SCALE", 10).max(1);
    let exchange_rate = env_num("BENCH_EXCHANGE_RATE", 200) as f64;
    let quota = WriteQuota {
        limit: WriteQuota::PUBLISHED.limit,
        window: WriteQuota::PUBLISHED.window / scale as u32,
    };
    let rate = f64::from(quota.limit) / quota.window.as_secs_f64();
    println!(
        "Graph connector: {n} leavers, {latency} ms per request, write quota {} per {:?} ({rate:.0} writes/s{})",
        quota.limit,
        quota.window,
        if scale > 1 {
            format!("; the published 3,000 per 150 s with the window divided by {scale}")
        } else {
            String::new()
        }
    );
    println!(
        "  (client limiter: writes at 99 % of the quota, reads 790 RU/s (§8.2, > 500 users), Exchange {exchange_rate:.0}/s: unpublished, BENCH_EXCHANGE_RATE)"
    );
    for batching in [true, false] {
        let f = run(n, latency, quota, exchange_rate, batching).await;
        let bound = Duration::from_secs_f64(f.writes as f64 / rate);
        println!(
            "  {}: {} of {n} runs succeeded in {:.1} s; {} directory writes → quota-bound minimum {:.1} s → {:.0} % of the quota-bound rate",
            if batching {
                "with $batch   "
            } else {
                "without $batch"
            },
            f.succeeded,
            f.wall.as_secs_f64(),
            f.writes,
            bound.as_secs_f64(),
            100.0 * bound.as_secs_f64() / f.wall.as_secs_f64()
        );
        println!(
            "      {} HTTP requests ({:.1} per leaver), {} answered 429 ({:.2} % of calls)",
            f.requests,
            f.requests as f64 / n as f64,
            f.throttled,
            100.0 * f.throttled as f64 / f.requests.max(1) as f64
        );
    }
}
