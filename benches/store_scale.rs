//! Store scale benchmark (not a test): memory and time of one `GET /metrics` and one
//! `GET /api/v1/runs?limit=1000` with 1,000,000 ended runs in the store.
//!
//! The store is filled with copies of one real run: the shipped mover workflow (or
//! `BENCH_WORKFLOW=leaver|joiner`) run to its end on the simulated tenant, with its journal,
//! subject-history entry and dedup record, each copy with its own id, subject and event id,
//! created over the past year. The mover is the default because it fits the disk: sled keeps
//! about 3.5 KB per mover run, 31 KB per leaver run (31 GB for a million). Then, each in a
//! FRESH process (this binary again, `BENCH_MODE=<mode>`): opening the store (a layout-1
//! store left by an earlier version is migrated here), and each request through the admin
//! router (`oneshot`), with peak RSS (VmHWM) before and after.
//!
//! With `BENCH_SWEEP=1`, last, one retention sweep with a 30-day retention (it prunes the
//! runs last updated more than 30 days ago, about 86 % of them: destructive, so opt-in).
//!
//! Run: `cargo bench --bench store_scale` (`BENCH_RUNS`, default 1,000,000; `BENCH_DIR` keeps
//! the filled store there and reuses it on the next run).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Duration as Days;
use offboard::api::admin::{AdminState, router};
use offboard::clock::SimClock;
use offboard::engine::{Engine, EngineConfig, EventRecord, Registry, RunRecord};
use offboard::event::CloudEvent;
use offboard::health::Health;
use offboard::ids::RunId;
use offboard::metrics::Metrics;
use offboard::steps::StepEnv;
use offboard::store::{Store, WriteBatch};
use offboard::tenant::sim::SimTenant;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tower::ServiceExt;

const REQUESTS: [(&str, &str); 4] = [
    ("open", ""),
    ("metrics", "/metrics"),
    ("runs", "/api/v1/runs?limit=1000"),
    // Matches nothing: the listing reads every run before it can answer.
    ("runs-none", "/api/v1/runs?status=blocked&limit=1000"),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn workflows() -> Vec<offboard::workflow::Workflow> {
    offboard::workflow::load_dir(&root().join("workflows")).unwrap()
}

fn sim() -> SimTenant {
    let scenario = SimTenant::load_scenario(&root().join("examples/tenant.json")).unwrap();
    SimTenant::from_scenario(scenario, SimClock::new()).unwrap()
}

/// `VmHWM` and `VmRSS` of this process, in MB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kb("VmHWM:") / 1024.0, kb("VmRSS:") / 1024.0)
}

fn engine_on(store: Store, sim: &SimTenant, backups: &Path) -> Engine {
    Engine::new(
        store,
        Registry::new(workflows()),
        Arc::new(sim.clone()),
        Arc::new(sim.clock()),
        EngineConfig::new(StepEnv::new(backups.to_path_buf())),
    )
}

/// One run of `workflow` driven to its end on the simulated tenant, with its journal.
async fn template(workflow: &str) -> (RunRecord, Vec<(u16, offboard::engine::AttemptRecord)>) {
    let tmp = tempfile::tempdir().unwrap();
    let sim = sim();
    let engine = engine_on(Store::temporary().unwrap(), &sim, &tmp.path().join("b"));
    let (kind, subject, data) = match workflow {
        "joiner" => (
            "hr.joiner",
            "new.hire@contoso.com",
            json!({"usageLocation": "DE", "licenses": ["SPE_E3"]}),
        ),
        "mover" => (
            "hr.mover",
            "sam.ortiz@contoso.com",
            json!({"from": "SPE_E3", "to": "SPE_E5"}),
        ),
        _ => (
            "hr.leaver",
            "dana.lee@contoso.com",
            json!({"lastWorkingDay": "2026-12-15", "mailbox": "shared", "onedrive": "backup",
                   "manager": "sam.ortiz@contoso.com"}),
        ),
    };
    let event = CloudEvent::from_value(json!({
        "specversion": "1.0", "id": "template", "source": "bench", "type": kind,
        "subject": subject, "time": "2026-11-01T09:00:00Z", "data": data}))
    .unwrap();
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
    let s = engine.submit(event).await.unwrap();
    offboard::cli::demo::drive_to_end(&engine, &sim.clock(), &sim, true)
        .await
        .unwrap();
    let _ = stop_tx.send(true);
    runner.await.unwrap().unwrap();
    let view = engine.run_view(&s.runs[0]).unwrap();
    let journal = view
        .journal
        .into_iter()
        .map(|j| (j.step_index, j.attempt))
        .collect();
    (view.run, journal)
}

async fn fill(dir: &Path, runs: usize, workflow: &str) {
    let (run, journal) = template(workflow).await;
    let run_bytes = serde_json::to_vec(&run).unwrap().len();
    let journal_bytes: usize = journal
        .iter()
        .map(|(_, a)| serde_json::to_vec(a).unwrap().len())
        .sum();
    println!(
        "template: `{}` run ended {}, {} steps, {run_bytes} bytes; journal {} entries, {journal_bytes} bytes",
        run.workflow,
        run.status,
        run.steps.len(),
        journal.len()
    );
    let store = Store::open(dir).unwrap();
    let sim = sim();
    let engine = engine_on(store.clone(), &sim, &dir.join("b"));
    let wf = engine
        .registry()
        .current()
        .iter()
        .find(|w| w.name == run.workflow)
        .unwrap()
        .clone();
    let mut batch = WriteBatch::new();
    batch.put_workflow(&wf.hash, &wf.source);
    store.commit(batch).await.unwrap();
    let started = Instant::now();
    // Created over the past year, oldest first (ids are UUIDv7, so in that order too).
    let now = chrono::Utc::now();
    let step = Days::milliseconds((365 * 86_400_000 / runs.max(1)) as i64);
    let mut i = 0;
    while i < runs {
        let mut batch = WriteBatch::new();
        for i in i..(i + 1000).min(runs) {
            let mut r = run.clone();
            r.id = RunId::new();
            r.subject = format!("user{i}@contoso.com");
            r.event.subject = r.subject.clone();
            r.event.id = offboard::ids::EventId::new(format!("bench-{i}"));
            r.queue_seq = i as u64;
            let age = step * (runs - i) as i32;
            r.created_at = now - age;
            r.updated_at = r.created_at + Days::days(20);
            for (index, a) in &journal {
                batch.put_attempt(&r.id, usize::from(*index), a);
            }
            batch.record_history(&r.family, &r.subject, r.queue_seq, &r.id);
            batch.put_event(
                r.event.id.as_str(),
                &EventRecord {
                    received_at: r.created_at,
                    runs: vec![r.id],
                    note: None,
                },
            );
            batch.put_run(&r);
        }
        store.commit(batch).await.unwrap();
        i = (i + 1000).min(runs);
        if i % 100_000 == 0 {
            eprintln!(
                "  {i} runs stored ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    store.flush_blocking().unwrap();
    println!(
        "{runs} ended runs stored in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

/// One request in this (fresh) process: figures on stdout.
async fn measure(dir: &Path, name: &str, uri: &str) {
    let (hwm0, _) = memory();
    let opening = Instant::now();
    let store = Store::open(dir).unwrap();
    if name == "open" {
        let (hwm, rss) = memory();
        println!(
            "  open the store{:<28} {:>8.0} ms   peak RSS {hwm:>6.0} MB (at exec {hwm0:.0} MB; RSS after {rss:.0} MB)",
            "",
            opening.elapsed().as_secs_f64() * 1000.0
        );
        return;
    }
    let sim = sim();
    let engine = engine_on(store, &sim, &dir.join("b"));
    if name == "sweep" {
        let (ready, _) = memory();
        let started = Instant::now();
        let pruned = engine
            .prune_expired(std::time::Duration::from_secs(30 * 86_400))
            .await
            .unwrap();
        let (hwm, rss) = memory();
        let counts = engine.store().counts().unwrap();
        println!(
            "  retention sweep (30 days)                {:>8.0} ms   peak RSS {hwm:>6.0} MB (before the sweep {ready:.0} MB; RSS after {rss:.0} MB)   {} runs and {} dedup records pruned, {} runs left",
            started.elapsed().as_secs_f64() * 1000.0,
            pruned.runs,
            pruned.events,
            counts.runs.values().sum::<u64>()
        );
        return;
    }
    let metrics = Metrics::new();
    let app = router(AdminState {
        engine,
        health: Health::new(),
        event_key: None,
        admin_token: None,
        metrics,
    });
    let (ready, _) = memory();
    let started = Instant::now();
    let res = app
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let (hwm, rss) = memory();
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let detail = if name.starts_with("runs") {
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        format!(
            "{} runs, next {}",
            v["runs"].as_array().map_or(0, Vec::len),
            if v["next"].is_null() { "null" } else { "set" }
        )
    } else {
        let text = String::from_utf8_lossy(&body);
        let runs: f64 = text
            .lines()
            .filter(|l| l.starts_with("offboard_runs{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        format!("offboard_runs sums to {runs}")
    };
    println!(
        "  {uri:<42} {ms:>8.0} ms   peak RSS {hwm:>6.0} MB (before the request {ready:.0} MB, at exec {hwm0:.0} MB; RSS after {rss:.0} MB)   {} bytes, {detail}",
        body.len()
    );
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            n += if p.is_dir() {
                dir_bytes(&p)
            } else {
                e.metadata().map(|m| m.len()).unwrap_or(0)
            };
        }
    }
    n
}

#[tokio::main]
async fn main() {
    if let Ok(mode) = std::env::var("BENCH_MODE") {
        let dir = PathBuf::from(std::env::var("BENCH_DIR").unwrap());
        let (name, uri) = REQUESTS
            .iter()
            .chain(&[("sweep", "")])
            .find(|(n, _)| *n == mode)
            .unwrap();
        measure(&dir, name, uri).await;
        return;
    }
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let workflow = std::env::var("BENCH_WORKFLOW").unwrap_or_else(|_| "mover".into());
    let tmp;
    let dir = match std::env::var("BENCH_DIR") {
        Ok(d) => PathBuf::from(d),
        Err(_) => {
            tmp = tempfile::tempdir().unwrap();
            tmp.path().to_path_buf()
        }
    };
    let marker = dir.join("bench-filled");
    let filled = std::fs::read_to_string(&marker).ok();
    if filled.as_deref() != Some(&format!("{runs} {workflow}")) {
        std::fs::create_dir_all(&dir).unwrap();
        fill(&dir, runs, &workflow).await;
        std::fs::write(&marker, format!("{runs} {workflow}")).unwrap();
    } else {
        println!("reusing the store in {} ({runs} runs)", dir.display());
    }
    println!(
        "store on disk: {:.2} GB; each request in a fresh process:",
        dir_bytes(&dir) as f64 / 1e9
    );
    let exe = std::env::current_exe().unwrap();
    let sweep = std::env::var("BENCH_SWEEP").is_ok_and(|v| v == "1");
    let modes = REQUESTS.iter().map(|(n, _)| *n);
    for name in modes.chain(sweep.then_some("sweep")) {
        let out = std::process::Command::new(&exe)
            .env("BENCH_MODE", name)
            .env("BENCH_DIR", &dir)
            .output()
            .unwrap();
        print!("{}", String::from_utf8_lossy(&out.stdout));
        if !out.status.success() {
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
            panic!("measuring {name} failed");
        }
    }
    if sweep {
        // The store was pruned: the next run fills it again.
        let _ = std::fs::remove_file(&marker);
    }
}
