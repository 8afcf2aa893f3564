//! `offboard serve` metrics and readiness end to end: the `tenant` readiness component
//! follows the Graph credentials (against sim-graph), and AMQP events and dead letters are
//! counted (against the real broker, unique names, deleted after).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod serve_common;

use serde_json::json;
use serve_common::{Broker, Service, SimGraph, amqp_url, event, unique_prefix};
use std::time::{Duration, Instant};

async fn scrape(svc: &Service) -> String {
    let r = reqwest::get(format!("{}/metrics", svc.base)).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.text().await.unwrap()
}

/// Scrapes until every line of `want` is in the scrape (store figures are cached 5 s).
async fn scrape_until(svc: &Service, want: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = scrape(svc).await;
        if want.iter().all(|w| text.lines().any(|l| l == *w)) {
            return text;
        }
        if Instant::now() > deadline {
            panic!("missing {want:?} in:\n{text}\n{}", svc.log_text());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_reports_wrong_tenant_credentials_and_recovers_with_the_right_ones() {
    let dir = tempfile::tempdir().unwrap();
    let sim = SimGraph::start(dir.path(), 0);
    let mut env = sim.env.clone();
    env.push(("OFFBOARD_CLIENT_SECRET".into(), "not-the-secret".into()));
    let wrong = Service::start(&dir.path().join("wrong"), &env);
    let ready = wrong.wait_ready(false, Duration::from_secs(30)).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut tenant = ready["checks"]["tenant"].clone();
    while tenant["detail"] == "the tenant has not been checked yet" && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        tenant = wrong.get("/readyz").await.1["checks"]["tenant"].clone();
    }
    assert_eq!(tenant["ok"], false, "{tenant}");
    let detail = tenant["detail"].as_str().unwrap();
    assert!(
        detail.contains("subscribedSkus") && detail.contains("OFFBOARD_CLIENT_SECRET"),
        "{detail}"
    );
    drop(wrong);

    let right = Service::start(&dir.path().join("right"), &sim.env);
    let ready = right.wait_ready(true, Duration::from_secs(30)).await;
    assert_eq!(ready["checks"]["tenant"]["ok"], true, "{ready}");
    let text = scrape(&right).await;
    let units: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("offboard_license_units{"))
        .collect();
    assert!(units.iter().any(|l| l.contains("state=\"free\"")), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_events_and_dead_letters_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = unique_prefix("metrics");
    let broker = Broker::connect(&prefix).await;
    let env = vec![
        ("OFFBOARD_AMQP_URL".to_string(), amqp_url()),
        ("OFFBOARD_AMQP_PREFIX".to_string(), prefix.clone()),
    ];
    let svc = Service::start(dir.path(), &env);
    svc.wait_ready(true, Duration::from_secs(30)).await;
    let good = event(
        "amqp-1",
        "hr.leaver",
        "dana.lee@contoso.com",
        json!({"lastWorkingDay": "2030-01-01"}),
    );
    broker.publish(&good).await;
    broker.publish(&good).await;
    let mut no_subject = event("amqp-2", "hr.leaver", "x", json!({}));
    no_subject.as_object_mut().unwrap().remove("subject");
    broker.publish(&no_subject).await;
    scrape_until(
        &svc,
        &[
            "offboard_events_consumed_total{source=\"amqp\"} 2",
            "offboard_events_duplicate_total 1",
            "offboard_events_dead_lettered_total{reason=\"missing-attribute\"} 1",
            "offboard_events_dead_lettered_total{reason=\"invalid-json\"} 0",
            "offboard_runs{workflow=\"leaver\",status=\"waiting\"} 1",
            "offboard_timers_pending 1",
        ],
    )
    .await;
    drop(svc);
    broker.cleanup().await;
}
