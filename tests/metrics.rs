//! Metrics and logs: a throttled call and a step retry show in `GET /metrics`, runs by status
//! match the runs, HTTP events are counted; `offboard serve --log-format json` writes only
//! JSON lines on stderr and `/readyz` carries the `tenant` component.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{example_tenant, workflow};
use offboard::api::admin::{AdminState, router};
use offboard::engine::{Engine, EngineConfig, Registry, RunStatus, WaitReason};
use offboard::health::Health;
use offboard::metrics::Metrics;
use offboard::steps::StepEnv;
use offboard::store::Store;
use offboard::tenant::sim::SimFaults;
use offboard::tenant::{CallRetry, Retrying, Tenant};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const DANA: &str = "dana.lee@contoso.com";
const SAM: &str = "sam.ortiz@contoso.com";
const TOKEN: &str = "metrics-test-token";

const WORKFLOW: &str = r#"
name = "disable-only"
version = 1
family = "lifecycle"

[[triggers]]
type = "hr.leaver"

[[steps]]
id = "disable"
action = "user.disable"
retry = { attempts = 5, backoff = "1s", max_delay = "4s" }

[[steps]]
id = "revoke"
action = "sessions.revoke"
"#;

fn leaver(id: &str, subject: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"specversion": "1.0", "id": id, "source": "tests",
        "type": "hr.leaver", "subject": subject, "time": "2026-11-01T09:00:00Z", "data": {}}))
    .unwrap()
}

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, String, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, ct, String::from_utf8(body.to_vec()).unwrap())
}

async fn post_event(app: &axum::Router, body: Vec<u8>) -> Value {
    let req = Request::post("/api/v1/events")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(header::CONTENT_TYPE, "application/cloudevents+json")
        .body(Body::from(body))
        .unwrap();
    let (status, _, body) = call(app, req).await;
    assert!(status.is_success(), "{status}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// `name{labels}` → value, from a scrape.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

fn sample(all: &BTreeMap<String, f64>, key: &str) -> f64 {
    *all.get(key)
        .unwrap_or_else(|| panic!("no sample {key} in {all:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_call_and_a_step_retry_show_in_the_scrape_and_runs_by_status_match() {
    let dir = tempfile::tempdir().unwrap();
    let sim = example_tenant();
    let clock = sim.clock();
    let metrics = Metrics::new();
    let policy = CallRetry {
        tries: 2,
        backoff: Duration::from_millis(5),
        max_wait: Duration::from_millis(20),
    };
    let tenant: Arc<dyn Tenant> =
        Arc::new(Retrying::new(Arc::new(sim.clone()), policy).with_metrics(metrics.clone()));
    let mut config = EngineConfig::new(StepEnv::new(dir.path().join("backups")));
    config.metrics = metrics.clone();
    let engine = Engine::new(
        Store::open(dir.path()).unwrap(),
        Registry::new(vec![workflow(WORKFLOW)]),
        tenant,
        Arc::new(clock.clone()),
        config,
    );
    let (stop, mut stop_rx) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn({
        let engine = engine.clone();
        async move {
            let stopped = async move {
                let _ = stop_rx.wait_for(|s| *s).await;
            };
            engine.run(stopped).await.unwrap();
        }
    });
    let app = router(AdminState {
        engine: engine.clone(),
        health: Health::new(),
        event_key: None,
        admin_token: Some(TOKEN.into()),
        metrics: metrics.clone(),
    });

    // Every call is throttled: two tries per call (both counted), then the step retries.
    sim.set_faults(SimFaults {
        throttle_rate: 1.0,
        retry_after_ms: 10,
        ..SimFaults::default()
    });
    let answer = post_event(&app, leaver("m-1", DANA)).await;
    let dana = serde_json::from_value(answer["runs"][0].clone()).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let r = engine.run_record(&dana).unwrap();
        if r.wait_reason == Some(WaitReason::Retry) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no retry: {r:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sim.set_faults(SimFaults::default());
    post_event(&app, leaver("m-1", DANA)).await; // a duplicate
    post_event(&app, leaver("m-2", SAM)).await;
    offboard::cli::demo::drive_to_end(&engine, &clock, &sim, true)
        .await
        .unwrap();

    let unauthorized = call(&app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(unauthorized.0, StatusCode::UNAUTHORIZED);
    let req = Request::get("/metrics")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let (status, ct, text) = call(&app, req).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(ct, "text/plain; version=0.0.4; charset=utf-8");
    let all = samples(&text);

    let retries = engine
        .run_view(&dana)
        .unwrap()
        .journal
        .iter()
        .filter(|j| j.attempt.outcome == "retry")
        .count() as f64;
    assert!(retries >= 1.0);
    let wa = r#"workflow="disable-only",action="user.disable""#;
    assert_eq!(
        sample(&all, &format!("offboard_step_retries_total{{{wa}}}")),
        retries
    );
    assert_eq!(
        sample(
            &all,
            &format!("offboard_step_duration_seconds_count{{{wa},outcome=\"retry\"}}")
        ),
        retries
    );
    assert_eq!(
        sample(
            &all,
            &format!("offboard_step_duration_seconds_count{{{wa},outcome=\"done\"}}")
        ),
        2.0,
        "one successful disable per run"
    );
    assert!(
        sample(&all, r#"offboard_tenant_throttled_total{api="graph"}"#) >= 2.0 * retries,
        "both tries of each throttled call are counted"
    );
    assert_eq!(
        sample(&all, r#"offboard_events_consumed_total{source="http"}"#),
        3.0
    );
    assert_eq!(sample(&all, "offboard_events_duplicate_total"), 1.0);

    let runs = engine.list_runs(None, None, None).unwrap();
    assert_eq!(runs.len(), 2);
    for status in RunStatus::ALL {
        let n = runs.iter().filter(|r| r.status == status).count() as f64;
        let key = format!(
            "offboard_runs{{workflow=\"disable-only\",status=\"{}\"}}",
            status.as_str()
        );
        assert_eq!(sample(&all, &key), n, "{key}");
    }
    assert_eq!(
        sample(
            &all,
            r#"offboard_runs{workflow="disable-only",status="succeeded"}"#
        ),
        2.0
    );
    assert_eq!(sample(&all, "offboard_timers_pending"), 0.0);
    assert_eq!(
        sample(
            &all,
            &format!(
                "offboard_build_info{{version=\"{}\"}}",
                env!("CARGO_PKG_VERSION")
            )
        ),
        1.0
    );

    let _ = stop.send(true);
    runner.await.unwrap();
}

#[test]
fn serve_with_json_logs_writes_only_json_lines_and_readiness_has_the_tenant() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_offboard"))
        .current_dir(root)
        .args(["serve", "--log-format", "json"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("OFFBOARD_DATA_DIR", dir.path())
        .env("OFFBOARD_WORKFLOWS_DIR", root.join("workflows"))
        .env("OFFBOARD_SIM_SCENARIO", root.join("examples/tenant.json"))
        .env("OFFBOARD_HTTP_ADDR", "127.0.0.1:0")
        .env("OFFBOARD_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line)
                && let Some(url) = v["fields"]["message"]
                    .as_str()
                    .and_then(|m| m.strip_prefix("offboard: admin API listening on "))
            {
                let _ = tx.send(url.to_string());
            }
            lines.push(line);
        }
        lines
    });
    let base = rx.recv_timeout(Duration::from_secs(60));
    let checks = base.as_ref().ok().map(|base| {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            offboard::tenant::graph::install_crypto_provider();
            let http = reqwest::Client::new();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            // A run, so that steps log inside their `run` and `step` spans.
            let answer: Value = http
                .post(format!("{base}/api/v1/events"))
                .header("content-type", "application/cloudevents+json")
                .body(leaver("json-1", DANA))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let run = answer["runs"][0].as_str().unwrap_or_default().to_string();
            loop {
                let r: Value = http
                    .get(format!("{base}/api/v1/runs/{run}"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if r["steps"][1]["attempts"].as_u64().unwrap_or(0) >= 1
                    || tokio::time::Instant::now() > deadline
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            loop {
                let ready: Value = http
                    .get(format!("{base}/readyz"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if ready["checks"]["tenant"]["ok"] == true || tokio::time::Instant::now() > deadline
                {
                    let scrape = http
                        .get(format!("{base}/metrics"))
                        .send()
                        .await
                        .unwrap()
                        .text()
                        .await
                        .unwrap();
                    return (ready, scrape);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    });
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let exit = child.wait().unwrap();
    let lines = reader.join().unwrap();
    assert!(base.is_ok(), "serve did not start:\n{}", lines.join("\n"));
    assert!(exit.success(), "{exit:?}\n{}", lines.join("\n"));

    let (ready, scrape) = checks.unwrap();
    let tenant = &ready["checks"]["tenant"];
    assert_eq!(tenant["ok"], true, "{ready}");
    assert!(
        tenant["detail"]
            .as_str()
            .unwrap()
            .contains("licenses were listed"),
        "{ready}"
    );
    assert!(
        scrape.contains("offboard_license_units{sku=\""),
        "licenses from the tenant watch:\n{scrape}"
    );

    assert!(lines.len() > 3, "{lines:?}");
    for line in &lines {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(v["level"].is_string(), "no level: {line}");
        assert!(v["timestamp"].is_string(), "no timestamp: {line}");
    }
    assert!(
        lines.iter().any(|l| l.contains("\"spans\"")),
        "span fields are logged"
    );
}
