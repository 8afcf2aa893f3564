//! Dry-run plans (`Engine::plan`, `POST /api/v1/plan`) against the example tenant: a plan
//! changes nothing in the tenant or the store, and names what would block each step and why.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{
    Hook, HookFuture, TestEnv, Watched, event, example_scenario, example_tenant, repo_workflows,
    scenario,
};
use offboard::api::admin::{AdminState, serve};
use offboard::clock::{Clock, SimClock};
use offboard::engine::{Plan, RunStatus};
use offboard::health::Health;
use offboard::tenant::Tenant;
use offboard::tenant::sim::SimTenant;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// `(read|write, method)` of every tenant method, from the crate's one list.
macro_rules! kinds {
    ($( $kind:ident fn $name:ident(&self $(, $arg:ident : $ty:ty)*) -> $ret:ty; )*) => {
        &[ $( (stringify!($kind), stringify!($name)) ),* ]
    };
}
const METHODS: &[(&str, &str)] = offboard::tenant_methods!(kinds);

fn is_write(method: &str) -> bool {
    METHODS.iter().any(|(k, m)| *k == "write" && *m == method)
}

/// An engine whose tenant records every write call that reaches it.
async fn watched_env(sim: SimTenant) -> (TestEnv, Arc<Mutex<Vec<String>>>) {
    let writes: Arc<Mutex<Vec<String>>> = Arc::default();
    let hook: Hook = {
        let writes = writes.clone();
        Arc::new(move |_sim: SimTenant, name: &'static str| {
            if is_write(name) {
                writes.lock().unwrap().push(name.to_string());
            }
            Box::pin(async {}) as HookFuture
        })
    };
    let tenant: Arc<dyn Tenant> = Arc::new(Watched {
        sim: sim.clone(),
        before: Some(hook),
        after: None,
    });
    let env = TestEnv::start_with_tenant(repo_workflows(), sim, tenant).await;
    (env, writes)
}

fn upns() -> Vec<String> {
    let v = serde_json::to_value(example_scenario()).unwrap();
    v["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userPrincipalName"].as_str().unwrap().to_string())
        .collect()
}

async fn plan(env: &TestEnv, kind: &str, subject: &str, data: Value) -> Plan {
    env.engine
        .plan(&event("plan-1", kind, subject, data))
        .await
        .unwrap()
}

fn step<'a>(p: &'a Plan, id: &str) -> &'a offboard::engine::StepPlanView {
    p.runs[0]
        .steps
        .iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("no step {id}: {p:#?}"))
}

fn codes(p: &Plan) -> Vec<&str> {
    p.blockers.iter().map(|b| b.code.as_str()).collect()
}

#[tokio::test]
async fn leaver_plans_change_nothing_for_any_example_user() {
    let sim = example_tenant();
    let (env, writes) = watched_env(sim.clone()).await;
    let before = sim.fingerprint();
    let variants = [
        json!({}),
        json!({"mailbox": "delete", "onedrive": "both", "purgeAfterDays": 7}),
        json!({"onedrive": "manager", "autoReply": "I have left."}),
    ];
    for upn in upns() {
        for data in &variants {
            let p = plan(&env, "hr.leaver", &upn, data.clone()).await;
            assert_eq!(p.runs.len(), 1, "{upn}: {p:#?}");
            assert!(p.subject.is_some(), "{upn} exists");
            let text = serde_json::to_string(&p).unwrap();
            assert!(
                !text.contains("a plan must not change the tenant"),
                "a step tried to write while planning {upn} {data}: {text}"
            );
            assert!(
                p.runs[0].steps.iter().any(|s| !s.does.is_empty()),
                "{upn}: nothing planned"
            );
        }
    }
    assert_eq!(sim.fingerprint(), before, "the tenant changed");
    assert!(
        writes.lock().unwrap().is_empty(),
        "{:?}",
        writes.lock().unwrap()
    );
    assert!(
        env.engine.list_runs(None, None, None).unwrap().is_empty(),
        "a run was stored"
    );
    env.stop().await;
}

#[tokio::test]
async fn synced_user_is_blocked_with_synced_from_ad() {
    let env = TestEnv::start(repo_workflows(), example_tenant()).await;
    let p = plan(&env, "hr.leaver", "sid.meyer@contoso.com", json!({})).await;
    let disable = step(&p, "disable");
    assert_eq!(disable.blockers[0].code, "synced-from-ad", "{p:#?}");
    assert!(disable.blockers[0].message.contains("on-premises AD"));
    assert!(codes(&p).contains(&"synced-from-ad"));
    assert!(
        p.runs[0]
            .blockers
            .iter()
            .any(|b| b.code == "synced-from-ad")
    );
    // with mailbox=delete the deletion is refused too
    let p = plan(
        &env,
        "hr.leaver",
        "sid.meyer@contoso.com",
        json!({"mailbox": "delete"}),
    )
    .await;
    assert_eq!(step(&p, "delete").blockers[0].code, "synced-from-ad");
    env.stop().await;
}

#[tokio::test]
async fn no_manager_and_onedrive_manager_warns_that_nobody_inherits_the_onedrive() {
    let env = TestEnv::start(repo_workflows(), example_tenant()).await;
    let p = plan(
        &env,
        "hr.leaver",
        "nora.vidal@contoso.com",
        json!({"onedrive": "manager"}),
    )
    .await;
    let handover = step(&p, "handover");
    assert!(handover.runs);
    assert!(
        handover
            .warnings
            .iter()
            .any(|w| w.starts_with("no manager: nobody inherits the OneDrive")),
        "{handover:#?}"
    );
    assert_eq!(handover.blockers[0].code, "no-manager");
    assert!(
        !step(&p, "backup").runs,
        "onedrive=manager skips the backup"
    );
    // with a manager, the handover names who gets access
    let p = plan(
        &env,
        "hr.leaver",
        "dana.lee@contoso.com",
        json!({"onedrive": "manager"}),
    )
    .await;
    let handover = step(&p, "handover");
    assert!(handover.blockers.is_empty(), "{handover:#?}");
    assert!(
        handover.does[0].contains("sam.ortiz@contoso.com"),
        "{handover:#?}"
    );
    env.stop().await;
}

#[tokio::test]
async fn big_mailbox_keeps_its_exchange_license() {
    let env = TestEnv::start(repo_workflows(), example_tenant()).await;
    let p = plan(&env, "hr.leaver", "max.berg@contoso.com", json!({})).await;
    let convert = step(&p, "convert");
    assert!(
        convert
            .warnings
            .iter()
            .any(|w| w.starts_with("mailbox 62 GB: the Exchange license stays")),
        "{convert:#?}"
    );
    let licenses = step(&p, "licenses");
    assert!(
        licenses.does.iter().any(|d| d.starts_with("keep SPE_E3")),
        "{licenses:#?}"
    );
    // a small mailbox loses every license
    let p = plan(&env, "hr.leaver", "dana.lee@contoso.com", json!({})).await;
    assert!(step(&p, "convert").warnings.is_empty());
    let licenses = step(&p, "licenses");
    assert!(
        licenses.does[0].contains("SPE_E3") && licenses.does[0].contains("POWER_BI_PRO"),
        "{licenses:#?}"
    );
    env.stop().await;
}

#[tokio::test]
async fn joiner_for_a_sku_without_free_seats_names_no_free_seat() {
    let mut scenario = serde_json::to_value(example_scenario()).unwrap();
    for sku in scenario["skus"].as_array_mut().unwrap() {
        if sku["skuPartNumber"] == "EXCHANGEENTERPRISE" {
            sku["otherConsumedUnits"] = json!(5);
        }
    }
    let sim = SimTenant::from_scenario(serde_json::from_value(scenario).unwrap(), SimClock::new())
        .unwrap();
    let env = TestEnv::start(repo_workflows(), sim).await;
    let p = plan(
        &env,
        "hr.joiner",
        "jo.new@contoso.com",
        json!({"usageLocation": "DE", "licenses": ["EXCHANGEENTERPRISE", "SPE_E3"]}),
    )
    .await;
    let licenses = step(&p, "licenses");
    assert_eq!(licenses.blockers.len(), 1, "{licenses:#?}");
    assert_eq!(licenses.blockers[0].code, "no-free-seat");
    assert!(licenses.blockers[0].message.contains("EXCHANGEENTERPRISE"));
    assert!(licenses.blockers[0].message.contains("0 free"));
    assert!(
        licenses.does.iter().any(|d| d.contains("SPE_E3")),
        "{licenses:#?}"
    );
    // an unknown SKU and an invalid usage location are named too
    let p = plan(
        &env,
        "hr.joiner",
        "jo.new@contoso.com",
        json!({"usageLocation": "XX", "licenses": ["NOPE"]}),
    )
    .await;
    assert_eq!(
        step(&p, "usage-location").blockers[0].code,
        "invalid-usage-location"
    );
    assert_eq!(step(&p, "licenses").blockers[0].code, "unknown-sku");
    // groups that cannot take the joiner are named; an editable one is joined
    let p = plan(
        &env,
        "hr.joiner",
        "jo.new@contoso.com",
        json!({"usageLocation": "DE", "groups": [
            "b3d5f7a9-1c3e-4b5d-9f7a-1c3e5b7d9f02", "a1c3e5f7-2b4d-4c6e-8f0a-2b4d6f8a0c75",
            "9e2b1c44-0f7d-4a6b-b1e8-7c3d5a9f2e10", "00000000-0000-4000-8000-00000000dead"]}),
    )
    .await;
    let groups = step(&p, "groups");
    let found: Vec<&str> = groups.blockers.iter().map(|b| b.code.as_str()).collect();
    assert_eq!(
        found,
        ["dynamic-group", "synced-group", "unknown-group"],
        "{groups:#?}"
    );
    assert_eq!(groups.does, ["add jo.new@contoso.com to 'Finance Team'"]);
    // a mover to a SKU without free seats
    let p = plan(
        &env,
        "hr.mover",
        "otto.lang@contoso.com",
        json!({"from": "SPB", "to": "EXCHANGEENTERPRISE"}),
    )
    .await;
    assert_eq!(step(&p, "swap").blockers[0].code, "no-free-seat", "{p:#?}");
    // a joiner whose account does not exist yet: a warning, not a blocker
    let p = plan(
        &env,
        "hr.joiner",
        "late@contoso.com",
        json!({"usageLocation": "DE"}),
    )
    .await;
    assert!(p.subject.is_none());
    assert!(!codes(&p).contains(&"user-not-found"), "{p:#?}");
    assert!(
        p.warnings.iter().any(|w| w.contains("does not exist")),
        "{p:#?}"
    );
    env.stop().await;
}

#[tokio::test]
async fn restore_for_a_user_not_deleted_names_the_blocker() {
    let env = TestEnv::start(repo_workflows(), example_tenant()).await;
    let p = plan(&env, "hr.restore", "bo.nilsen@contoso.com", json!({})).await;
    let restore = step(&p, "account");
    assert_eq!(restore.blockers[0].code, "not-deleted", "{p:#?}");
    assert!(codes(&p).contains(&"not-deleted"));
    // an account that does not exist at all
    let p = plan(&env, "hr.restore", "ghost@contoso.com", json!({})).await;
    assert!(p.subject.is_none());
    assert_eq!(
        step(&p, "account").blockers[0].code,
        "not-deleted",
        "{p:#?}"
    );
    // a leaver of an account that does not exist
    let p = plan(&env, "hr.leaver", "ghost@contoso.com", json!({})).await;
    assert!(codes(&p).contains(&"user-not-found"), "{p:#?}");
    env.stop().await;
}

/// Dana deleted `days` ago (no leaver on record), with `extra` users.
fn deleted_dana(days: i64, extra: Vec<Value>) -> SimTenant {
    let clock = SimClock::new();
    let at = clock.now() - chrono::Duration::days(days);
    let s = scenario(json!({"deletedDateTime": at}), extra, vec![]);
    SimTenant::from_scenario(serde_json::from_value(s).unwrap(), clock).unwrap()
}

#[tokio::test]
async fn restore_of_a_deleted_user_names_its_window_or_who_took_the_upn() {
    let dana = "dana.lee@contoso.com";
    let env = TestEnv::start(repo_workflows(), deleted_dana(3, vec![])).await;
    let p = plan(&env, "hr.restore", dana, json!({})).await;
    assert!(p.subject.is_none(), "a deleted account is not a user");
    assert!(codes(&p).is_empty(), "{p:#?}");
    let account = step(&p, "account");
    assert!(account.blockers.is_empty(), "{account:#?}");
    assert!(
        account.does[0].starts_with(&format!("restore {dana}")),
        "{account:#?}"
    );
    assert!(account.does[0].contains("restorable until"));
    env.stop().await;

    let new_dana = json!({"id": "77777777-1c3b-4e9a-97d5-2b8e4f61c0d3", "userPrincipalName": dana,
        "displayName": "Dana Lee (new)", "usageLocation": "US"});
    let env = TestEnv::start(repo_workflows(), deleted_dana(3, vec![new_dana])).await;
    let p = plan(
        &env,
        "hr.restore",
        "3b9f6c1e-8a24-4d57-b0e3-6f2c91d4a8b5",
        json!({}),
    )
    .await;
    let account = step(&p, "account");
    assert_eq!(account.blockers[0].code, "upn-taken", "{account:#?}");
    assert!(
        account.blockers[0]
            .message
            .contains("77777777-1c3b-4e9a-97d5-2b8e4f61c0d3")
    );
    env.stop().await;

    let env = TestEnv::start(repo_workflows(), deleted_dana(31, vec![])).await;
    let p = plan(&env, "hr.restore", dana, json!({})).await;
    // past its 30 days the account is purged: nothing to bring back
    let account = step(&p, "account");
    assert_eq!(account.blockers[0].code, "not-deleted", "{p:#?}");
    assert!(account.blockers[0].message.contains("purged"));
    env.stop().await;
}

#[tokio::test]
async fn a_waiting_leaver_is_replaced_by_a_corrected_one_and_queued_behind_by_a_restore() {
    let env = TestEnv::start(repo_workflows(), example_tenant()).await;
    let run = env
        .submit_one(
            "l-1",
            "hr.leaver",
            "dana.lee@contoso.com",
            json!({"lastWorkingDay": "2030-01-01"}),
        )
        .await;
    env.wait_status(run, RunStatus::Waiting).await;
    let p = plan(
        &env,
        "hr.leaver",
        "dana.lee@contoso.com",
        json!({"lastWorkingDay": "2030-02-01"}),
    )
    .await;
    assert_eq!(p.runs[0].replaces, vec![run]);
    assert!(p.runs[0].queued_behind.is_empty());
    let starts = p.runs[0].starts_at.unwrap().to_rfc3339();
    assert!(starts.starts_with("2030-02-0"), "{starts}");
    let p = plan(&env, "hr.restore", "dana.lee@contoso.com", json!({})).await;
    assert_eq!(p.runs[0].queued_behind, vec![run]);
    assert!(p.runs[0].replaces.is_empty());
    assert_eq!(env.engine.list_runs(None, None, None).unwrap().len(), 1);
    env.stop().await;
}

const TOKEN: &str = "plan-test-admin-token";

async fn api() -> (TestEnv, String, oneshot::Sender<()>) {
    let env = TestEnv::start(repo_workflows(), example_tenant()).await;
    let state = AdminState {
        engine: env.engine.clone(),
        health: Health::new(),
        event_key: None,
        admin_token: Some(TOKEN.into()),
        metrics: offboard::metrics::Metrics::new(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, rx) = oneshot::channel::<()>();
    tokio::spawn(serve(listener, state, async move {
        let _ = rx.await;
    }));
    offboard::tenant::graph::install_crypto_provider();
    (env, base, stop)
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

#[tokio::test]
async fn api_answers_with_the_plan_contract() {
    let (env, base, stop) = api().await;
    let client = Client::new();
    let body = json!({"specversion": "1.0", "id": "p-1", "source": "tests", "type": "hr.leaver",
        "subject": "max.berg@contoso.com", "time": "2026-11-01T09:00:00Z", "data": {}});
    let resp = client
        .post(format!("{base}/api/v1/plan"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/cloudevents+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        keys(&v),
        ["blockers", "event", "runs", "subject", "warnings"]
    );
    assert_eq!(keys(&v["event"]), ["id", "subject", "type"]);
    assert_eq!(v["event"]["type"], "hr.leaver");
    assert_eq!(
        keys(&v["subject"]),
        ["accountEnabled", "displayName", "id", "userPrincipalName"]
    );
    let run = &v["runs"][0];
    assert_eq!(
        keys(run),
        [
            "blockers",
            "queuedBehind",
            "replaces",
            "startsAt",
            "steps",
            "warnings",
            "workflow",
            "workflowVersion"
        ]
    );
    assert_eq!(run["workflow"], "leaver");
    assert!(run["startsAt"].is_null());
    let steps = run["steps"].as_array().unwrap();
    for s in steps {
        assert_eq!(
            keys(s),
            [
                "action",
                "blockers",
                "does",
                "id",
                "runs",
                "skipReason",
                "warnings"
            ]
        );
    }
    assert!(steps[0]["action"].is_null(), "the wait step has no action");
    let delete = steps.iter().find(|s| s["id"] == "delete").unwrap();
    assert_eq!(delete["runs"], false);
    assert_eq!(delete["skipReason"], "its `when` condition is false");

    let bad = client
        .post(format!("{base}/api/v1/plan"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{\"id\": 1}")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let e: Value = bad.json().await.unwrap();
    assert!(e["error"].is_string() && e["message"].is_string(), "{e}");

    let anon = client
        .post(format!("{base}/api/v1/plan"))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
    assert!(env.engine.list_runs(None, None, None).unwrap().is_empty());
    let _ = stop.send(());
    env.stop().await;
}
