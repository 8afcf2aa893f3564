//! `offboard serve` as a process: over HTTP alone, with the real broker (exactly one run per
//! event, outcomes published with confirms), through a broker outage (runs keep going,
//! readiness says so, everything catches up), and stopped by SIGTERM in the middle of a run
//! (the attempt reaches its checkpoint; the restart completes the run without repeating a
//! step). Broker tests use their own uniquely named exchanges and queues and delete them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod serve_common;

use serde_json::{Value, json};
use serve_common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

/// An example event with a new id, due at once.
fn example(file: &str, id: &str) -> Value {
    let path = Path::new(ROOT).join("examples/events").join(file);
    let mut ev: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    ev["id"] = json!(id);
    ev["data"]["lastWorkingDay"] = json!("2026-11-01");
    ev
}

fn succeeded(run: &Value) -> bool {
    has_status(run, "succeeded")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_broker_events_come_over_http_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut svc = Service::start(dir.path(), &[]);
    assert_eq!(svc.get("/healthz").await.0, 200);
    let ready = svc.wait_ready(true, Duration::from_secs(10)).await;
    assert!(ready["checks"].get("broker").is_none(), "{ready}");

    let ev = example("01-dana-lee.json", "serve-http-1");
    let run = svc.submit_one(&ev).await;
    svc.wait_run(&run, Duration::from_secs(60), succeeded).await;
    let (status, again) = svc.post("/api/v1/events", &ev).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["runs"], json!([run]));

    // Without a broker the outcomes go to a file in the data directory.
    let outcomes = dir.path().join("outcomes.jsonl");
    let mut seen = false;
    for _ in 0..200 {
        let text = std::fs::read_to_string(&outcomes).unwrap_or_default();
        seen = text.lines().any(|l| {
            let o: Value = serde_json::from_str(l).unwrap();
            o["type"] == "run.succeeded" && o["runId"] == json!(run)
        });
        if seen {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen, "run.succeeded never reached outcomes.jsonl");

    svc.terminate();
    let status = svc.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "exit {status:?}\n{}", svc.log_text());
    assert!(svc.log_text().contains("Stopped."), "{}", svc.log_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_run_stops_at_a_checkpoint_and_the_restart_completes_it() {
    let dir = tempfile::tempdir().unwrap();
    // Every Microsoft 365 call takes 150 ms, so the run is mid-way when the signal comes.
    let sandbox = SimGraph::start(dir.path(), 150);
    let mut env = sandbox.env.clone();
    env.push(("OFFBOARD_SHUTDOWN_GRACE".into(), "30s".into()));
    let data = dir.path().join("data");
    let mut svc = Service::start(&data, &env);
    let run = svc
        .submit_one(&example("01-dana-lee.json", "serve-term-1"))
        .await;
    let before = svc
        .wait_run(&run, Duration::from_secs(60), |r| {
            let steps = r["steps"].as_array().unwrap();
            let done = steps.iter().filter(|s| s["status"] == "succeeded").count();
            done >= 2 && done < steps.len()
        })
        .await;
    svc.terminate();
    let status = svc.wait_exit(Duration::from_secs(45));
    assert!(status.success(), "exit {status:?}\n{}", svc.log_text());
    assert!(
        !svc.log_text().contains("abandon"),
        "an attempt was abandoned:\n{}",
        svc.log_text()
    );
    drop(svc);

    let svc = Service::start(&data, &env);
    let after = svc
        .wait_run(&run, Duration::from_secs(120), succeeded)
        .await;
    let finished_before: BTreeMap<String, Value> = before["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "succeeded")
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["finishedAt"].clone(),
            )
        })
        .collect();
    for step in after["steps"].as_array().unwrap() {
        let id = step["id"].as_str().unwrap();
        // The signal let the running attempt finish and record its result: no step ran twice
        // (wait steps make no attempts).
        assert!(
            step["attempts"].as_u64().unwrap() <= 1,
            "step {id} ran again: {after:#}"
        );
        if let Some(at) = finished_before.get(id) {
            assert_eq!(&step["finishedAt"], at, "step {id} was redone");
        }
    }
    let state = sandbox.state().await;
    assert_eq!(state["damage"], json!([]), "{:#}", state["damage"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_events_make_one_run_each_and_outcomes_are_published_with_confirms() {
    let prefix = unique_prefix("once");
    let broker = Broker::connect(&prefix).await;
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        ("OFFBOARD_AMQP_URL".to_string(), amqp_url()),
        ("OFFBOARD_AMQP_PREFIX".to_string(), prefix.clone()),
        // 201 people leaving a tenant of 15 would trip the quarantine's share limit
        // (tests/guardrails.rs tests it); this test is about delivery.
        ("OFFBOARD_QUARANTINE_PERCENT".to_string(), "0".to_string()),
    ];
    let mut svc = Service::start(dir.path(), &env);
    let ready = svc.wait_ready(true, Duration::from_secs(30)).await;
    assert_eq!(ready["checks"]["broker"]["ok"], true, "{ready}");

    let mut events: Vec<Value> = (0..200)
        .map(|i| {
            event(
                &format!("amqp-{i}"),
                "hr.leaver",
                &format!("user{i}@contoso.com"),
                json!({"lastWorkingDay": "2030-01-01"}),
            )
        })
        .collect();
    events.push(example("08-gina-rossi-delete.json", "amqp-gina"));
    for ev in &events {
        broker.publish(ev).await;
    }
    let mut got = Vec::new();
    broker
        .outcomes_until(&mut got, Duration::from_secs(120), |got| {
            let started: BTreeSet<String> = got
                .iter()
                .filter(|o| o.body["type"] == "run.started")
                .map(|o| o.body["runId"].to_string())
                .collect();
            started.len() == events.len()
                && got.iter().any(|o| {
                    o.body["type"] == "run.succeeded"
                        && o.body["subject"] == "gina.rossi@contoso.com"
                })
        })
        .await;
    for o in &got {
        assert_eq!(o.routing_key, o.body["type"].as_str().unwrap(), "{o:?}");
        assert_eq!(o.message_id.as_deref(), o.body["id"].as_str(), "{o:?}");
        assert!(o.persistent, "{o:?}");
    }

    // The same events again: no new runs.
    for ev in &events {
        broker.publish(ev).await;
    }
    for _ in 0..3000 {
        if broker.depth(&broker.topology.events_queue).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Stopping settles every message in hand; an unsettled one would be back in the queue.
    svc.terminate();
    assert!(
        svc.wait_exit(Duration::from_secs(30)).success(),
        "{}",
        svc.log_text()
    );
    assert_eq!(broker.depth(&broker.topology.events_queue).await, 0);
    let store = offboard::store::Store::open(dir.path()).unwrap();
    assert_eq!(
        store.runs().count(),
        events.len(),
        "an event made a second run"
    );
    for ev in &events {
        let rec = store.event(ev["id"].as_str().unwrap()).unwrap().unwrap();
        assert_eq!(rec.runs.len(), 1);
    }
    broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_broker_outage_runs_continue_readiness_reports_it_and_all_catches_up() {
    let prefix = unique_prefix("outage");
    let broker = Broker::connect(&prefix).await;
    let target = amqp_url()
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("127.0.0.1:5672")
        .to_string();
    let mut proxy = Proxy::start(&target).await;
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        ("OFFBOARD_AMQP_URL".to_string(), proxy.url()),
        ("OFFBOARD_AMQP_PREFIX".to_string(), prefix.clone()),
    ];
    let mut svc = Service::start(dir.path(), &env);
    svc.wait_ready(true, Duration::from_secs(30)).await;

    proxy.cut().await;
    let down = svc.wait_ready(false, Duration::from_secs(30)).await;
    assert_eq!(down["checks"]["broker"]["ok"], false, "{down}");
    // Runs need only the store and the tenant: one submitted over HTTP completes.
    let run = svc
        .submit_one(&example("08-gina-rossi-delete.json", "outage-gina"))
        .await;
    svc.wait_run(&run, Duration::from_secs(60), succeeded).await;
    // An event published meanwhile waits in the broker.
    broker
        .publish(&example("11-otto-lang-delete.json", "outage-otto"))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        broker.depth(&broker.outcomes_queue).await,
        0,
        "outcomes cannot have left while the broker was unreachable"
    );

    proxy.restore().await;
    svc.wait_ready(true, Duration::from_secs(60)).await;
    let mut got = Vec::new();
    broker
        .outcomes_until(&mut got, Duration::from_secs(60), |got| {
            ["gina.rossi@contoso.com", "otto.lang@contoso.com"]
                .iter()
                .all(|who| {
                    got.iter()
                        .any(|o| o.body["type"] == "run.succeeded" && o.body["subject"] == *who)
                })
        })
        .await;
    let (_, list) = svc.get("/api/v1/runs?subject=otto.lang@contoso.com").await;
    assert_eq!(list["runs"].as_array().unwrap().len(), 1, "{list}");
    svc.terminate();
    assert!(
        svc.wait_exit(Duration::from_secs(30)).success(),
        "{}",
        svc.log_text()
    );
    broker.cleanup().await;
}
