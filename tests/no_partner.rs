//! A tenant without a CSP partner: `offboard serve` on the Graph connector against
//! `offboard sim-graph`. Without a partner configured, or when Partner Center refuses the
//! tenant (401), the leaver's seat step handles every subscription as bought directly (a
//! recommendation for the billing admin, never a change), the run succeeds, and the output
//! says why.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod serve_common;

use serde_json::{Value, json};
use serve_common::{ROOT, Service, SimGraph, has_status};
use std::path::Path;
use std::time::Duration;

fn dana(id: &str) -> Value {
    let path = Path::new(ROOT).join("examples/events/01-dana-lee.json");
    let mut ev: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    ev["id"] = json!(id);
    ev["data"]["lastWorkingDay"] = json!("2026-11-01");
    ev
}

/// Runs Dana's leaver with seat reduction on leave turned on and returns the `seats` step's
/// output, after checking the run succeeded.
async fn leaver_seats(env: Vec<(String, String)>, dir: &Path) -> Value {
    let mut env = env;
    env.push(("OFFBOARD_SEATS_ON_LEAVE".into(), "true".into()));
    let svc = Service::start(&dir.join("data"), &env);
    let run = svc.submit_one(&dana("no-partner-1")).await;
    let run = svc
        .wait_run(&run, Duration::from_secs(120), |r| {
            ["succeeded", "failed", "blocked"]
                .iter()
                .any(|s| has_status(r, s))
        })
        .await;
    assert!(has_status(&run, "succeeded"), "{run:#}\n{}", svc.log_text());
    let seats = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "seats")
        .unwrap()
        .clone();
    assert_eq!(seats["status"], "succeeded", "{seats:#}");
    // The outbox is drained to outcomes.jsonl after the run's checkpoint.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let outcomes = std::fs::read_to_string(dir.join("data/outcomes.jsonl")).unwrap_or_default();
        if outcomes.contains("seat.recommendation") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a recommendation for the billing admin is published: {outcomes}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    seats
}

fn actions(seats: &Value) -> Vec<String> {
    seats["output"]["skus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_partner_configured_subscriptions_are_direct_and_the_leaver_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = SimGraph::start(dir.path(), 0);
    let env: Vec<(String, String)> = sandbox
        .env
        .iter()
        .filter(|(k, _)| !k.starts_with("OFFBOARD_PARTNER") && k != "OFFBOARD_CSP_CUSTOMER_ID")
        .cloned()
        .collect();
    let seats = leaver_seats(env, dir.path()).await;
    let text = seats["output"].to_string();
    assert!(
        text.contains("no CSP partner is configured"),
        "the output says why: {seats:#}"
    );
    assert!(
        actions(&seats)
            .iter()
            .all(|a| a == "recommended" || a == "none"),
        "{seats:#}"
    );
    assert!(actions(&seats).iter().any(|a| a == "recommended"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_center_that_refuses_the_tenant_means_direct_subscriptions() {
    let dir = tempfile::tempdir().unwrap();
    // Partner Center accepts only tokens of the partner's tenant; offboard is not told it
    // (as for a direct customer whose deployment still names the Partner Center endpoint).
    let sandbox = SimGraph::start_with(
        dir.path(),
        0,
        &["--partner-tenant-id", "partner.onmicrosoft.com"],
    );
    let env: Vec<(String, String)> = sandbox
        .env
        .iter()
        .filter(|(k, _)| k != "OFFBOARD_PARTNER_TENANT_ID")
        .cloned()
        .collect();
    assert!(env.iter().any(|(k, _)| k == "OFFBOARD_PARTNER_CENTER_URL"));
    let seats = leaver_seats(env, dir.path()).await;
    let text = seats["output"].to_string();
    assert!(
        text.contains("Partner Center refused") && text.contains("401"),
        "the output names the refusal: {seats:#}"
    );
    assert!(
        actions(&seats).iter().any(|a| a == "recommended"),
        "{seats:#}"
    );
}
