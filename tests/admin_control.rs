//! The operator endpoints of the admin API (restart, cancel, approve a run; the workflow
//! list; `since` / `until` on the run listing), called on the router with `oneshot` in front
//! of a `TestEnv` engine on the simulated tenant.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, header};
use common::{TestEnv, example_tenant, repo_workflows, workflow};
use offboard::api::admin::{AdminState, router};
use offboard::engine::{RunStatus, StepStatus};
use offboard::health::Health;
use offboard::ids::RunId;
use offboard::tenant::sim::SimFaults;
use serde_json::{Value, json};
use tower::ServiceExt;

const DANA: &str = "dana.lee@contoso.com";
const SAM: &str = "sam.ortiz@contoso.com";
const TOKEN: &str = "admin-control-token";

/// Waits an hour, disables, then (optionally) asks for an approval before revoking.
fn lite_wf(approval: bool) -> String {
    format!(
        r#"
name = "offboard-lite"
version = 1
family = "lifecycle"
description = "test"
[[triggers]]
type = "hr.leaver"
[[steps]]
id = "cool-off"
wait = "1h"
[[steps]]
id = "disable"
action = "user.disable"
retry = {{ attempts = 2, backoff = "1s", max_delay = "1s" }}
[[steps]]
id = "revoke"
action = "sessions.revoke"
approval = {approval}
"#
    )
}

struct Api {
    env: TestEnv,
    app: Router,
}

impl Api {
    async fn start(workflows: Vec<offboard::workflow::Workflow>) -> Api {
        let env = TestEnv::start(workflows, example_tenant()).await;
        let app = router(AdminState {
            metrics: offboard::metrics::Metrics::new(),
            engine: env.engine.clone(),
            health: Health::new(),
            event_key: None,
            admin_token: Some(TOKEN.into()),
        });
        Api { env, app }
    }

    async fn call_as(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: &str,
    ) -> (u16, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if !body.is_empty() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let req = req.body(Body::from(body.to_string())).unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, v)
    }

    async fn call(&self, method: Method, path: &str, body: &str) -> (u16, Value) {
        self.call_as(Some(TOKEN), method, path, body).await
    }
}

fn assert_error(resp: &(u16, Value), status: u16, code: &str) {
    assert_eq!(resp.0, status, "{}", resp.1);
    assert_eq!(resp.1["error"], code, "{}", resp.1);
    assert!(
        resp.1["message"].as_str().unwrap_or("").len() > 10,
        "{}",
        resp.1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operator_endpoint_needs_the_token() {
    let api = Api::start(vec![workflow(&lite_wf(false))]).await;
    let run = RunId::new();
    for (method, path) in [
        (Method::POST, format!("/api/v1/runs/{run}/restart")),
        (Method::POST, format!("/api/v1/runs/{run}/cancel")),
        (Method::POST, format!("/api/v1/runs/{run}/approve")),
        (Method::GET, "/api/v1/workflows".to_string()),
    ] {
        let none = api.call_as(None, method.clone(), &path, "").await;
        assert_error(&none, 401, "unauthorized");
        let wrong = api.call_as(Some("nope"), method.clone(), &path, "").await;
        assert_error(&wrong, 401, "unauthorized");
        if method == Method::POST {
            assert_error(&api.call(method, &path, "").await, 404, "not-found");
        }
    }
    api.env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ids_bad_bodies_and_wrong_states_are_refused() {
    let api = Api::start(vec![workflow(&lite_wf(false))]).await;
    for action in ["restart", "cancel", "approve"] {
        let r = api
            .call(Method::POST, &format!("/api/v1/runs/xyz/{action}"), "")
            .await;
        assert_error(&r, 400, "bad-run-id");
    }
    let run = api.env.submit_one("e1", "hr.leaver", DANA, json!({})).await;
    api.env.wait_status(run, RunStatus::Waiting).await;
    let restart = format!("/api/v1/runs/{run}/restart");
    for body in ["{", r#"{"from_step":"disable"}"#, "[1]"] {
        assert_error(
            &api.call(Method::POST, &restart, body).await,
            400,
            "bad-body",
        );
    }
    // A waiting run cannot be restarted nor approved (it waits on a timer).
    let r = api.call(Method::POST, &restart, "").await;
    assert_error(&r, 409, "conflict");
    assert!(
        r.1["message"].as_str().unwrap().contains("only failed"),
        "{}",
        r.1
    );
    let r = api
        .call(Method::POST, &format!("/api/v1/runs/{run}/approve"), "")
        .await;
    assert_error(&r, 409, "conflict");
    // Cancel it: 200 with the run; a second cancel is a conflict.
    let cancel = format!("/api/v1/runs/{run}/cancel");
    let (status, body) = api.call(Method::POST, &cancel, "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], json!(run));
    assert_eq!(body["status"], "cancelled");
    assert_eq!(body["reason"], "cancelled by an operator");
    assert!(
        body.get("event").is_none(),
        "a listing entry has no event: {body}"
    );
    assert_error(&api.call(Method::POST, &cancel, "").await, 409, "conflict");
    // A cancelled run restarts; an unknown step lists the known ones.
    let r = api
        .call(Method::POST, &restart, r#"{"fromStep":"nope"}"#)
        .await;
    assert_error(&r, 400, "unknown-step");
    assert!(
        r.1["message"]
            .as_str()
            .unwrap()
            .contains("cool-off, disable, revoke"),
        "{}",
        r.1
    );
    api.env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_restarted_from_a_step_completes() {
    let api = Api::start(vec![workflow(&lite_wf(false))]).await;
    api.env.sim.set_faults(SimFaults {
        transient_rate: 1.0,
        ..SimFaults::default()
    });
    let run = api.env.submit_one("e1", "hr.leaver", DANA, json!({})).await;
    api.env.settle().await;
    let failed = api.env.engine.run_record(&run).unwrap();
    assert_eq!(failed.status, RunStatus::Failed);
    assert_eq!(failed.steps[1].status, StepStatus::Failed);
    api.env.sim.set_faults(SimFaults::default());
    let (status, body) = api
        .call(
            Method::POST,
            &format!("/api/v1/runs/{run}/restart"),
            r#"{"fromStep":"disable","allowProtected":false}"#,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["cursor"], 1);
    assert_eq!(body["generation"], 1);
    api.env.settle().await;
    let done = api.env.engine.run_record(&run).unwrap();
    assert_eq!(done.status, RunStatus::Succeeded, "{done:?}");
    assert!(!api.env.sim.user(DANA).unwrap().account_enabled);
    api.env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_releases_the_waiting_step() {
    let api = Api::start(vec![workflow(&lite_wf(true))]).await;
    let run = api.env.submit_one("e1", "hr.leaver", SAM, json!({})).await;
    api.env.settle_until_approval(run).await;
    let (status, body) = api
        .call(Method::POST, &format!("/api/v1/runs/{run}/approve"), "")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["steps"][2]["approved"], true);
    let done = api.env.wait_status(run, RunStatus::Succeeded).await;
    assert_eq!(done.steps[2].status, StepStatus::Succeeded);
    api.env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workflow_list_is_sorted_and_describes_every_step() {
    let api = Api::start(repo_workflows()).await;
    let (status, body) = api.call(Method::GET, "/api/v1/workflows", "").await;
    assert_eq!(status, 200, "{body}");
    let list = body["workflows"].as_array().unwrap();
    let names: Vec<&str> = list.iter().map(|w| w["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(names.len(), api.env.engine.registry().current().len());
    let leaver = list.iter().find(|w| w["name"] == "leaver").unwrap();
    assert_eq!(leaver["triggers"], json!(["hr.leaver"]));
    assert_eq!(leaver["schedule"], Value::Null);
    assert_eq!(leaver["hash"].as_str().unwrap().len(), 64);
    let first = &leaver["steps"][0];
    assert_eq!(
        (
            first["id"].as_str(),
            first["kind"].as_str(),
            &first["action"]
        ),
        (Some("last-day"), Some("waitUntil"), &Value::Null)
    );
    let disable = leaver["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "disable")
        .unwrap();
    assert_eq!(disable["action"], "user.disable");
    assert_eq!(disable["kind"], "action");
    assert_eq!(disable["approval"], false);
    let scheduled: Vec<&Value> = list.iter().filter(|w| w["schedule"].is_string()).collect();
    assert!(
        !scheduled.is_empty(),
        "the sweep runs on a schedule: {body}"
    );
    api.env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_listing_filters_on_created_at() {
    let api = Api::start(vec![workflow(&lite_wf(false))]).await;
    let run = api.env.submit_one("e1", "hr.leaver", DANA, json!({})).await;
    let created = api.env.engine.run_record(&run).unwrap().created_at;
    let at = |d: i64| (created + chrono::Duration::seconds(d)).to_rfc3339();
    let ids = |v: &Value| v["runs"].as_array().unwrap().len();
    let q = |k: &str, d: i64| format!("/api/v1/runs?{k}={}", urlenc(&at(d)));
    let (s, v) = api.call(Method::GET, &q("since", 0), "").await;
    assert_eq!((s, ids(&v)), (200, 1), "{v}");
    let (_, v) = api.call(Method::GET, &q("since", 1), "").await;
    assert_eq!(ids(&v), 0, "{v}");
    let (_, v) = api.call(Method::GET, &q("until", 0), "").await;
    assert_eq!(ids(&v), 0, "until is exclusive: {v}");
    let (_, v) = api.call(Method::GET, &q("until", 1), "").await;
    assert_eq!(ids(&v), 1, "{v}");
    let r = api
        .call(Method::GET, "/api/v1/runs?since=last-week", "")
        .await;
    assert_error(&r, 400, "bad-query");
    api.env.stop().await;
}

fn urlenc(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}
