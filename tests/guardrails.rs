//! Guardrails of leaver runs through the real engine, store and workflows/leaver.toml against
//! the example tenant: the mass-offboarding quarantine holds a flood of leavers before any
//! change until an operator approves or cancels them; protected accounts are blocked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Hook, HookFuture, Watched};
use common::{TestEnv, event, example_tenant, repo_workflows};
use offboard::engine::{EngineConfig, QuarantinePolicy, RunRecord, RunStatus, WaitReason};
use offboard::ids::RunId;
use offboard::steps::Protection;
use offboard::tenant::Tenant;
use offboard::tenant::sim::SimTenant;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Cloud-only example users a plain leaver run offboards without a blocker.
const PLAIN: &[&str] = &[
    "dana.lee@contoso.com",
    "lena.hofmann@contoso.com",
    "max.berg@contoso.com",
    "ari.khan@contoso.com",
    "gina.rossi@contoso.com",
    "nora.vidal@contoso.com",
    "otto.lang@contoso.com",
    "bo.nilsen@contoso.com",
];

/// Tenant methods that change something.
const WRITES: &[&str] = &[
    "set_account_enabled",
    "set_usage_location",
    "revoke_sign_in_sessions",
    "delete_user",
    "restore_deleted_user",
    "purge_deleted_user",
    "assign_license",
    "reprocess_license_assignment",
    "add_group_member",
    "remove_group_member",
    "update_partner_subscription",
    "set_mailbox_type",
    "set_hidden_from_address_lists",
    "set_forwarding",
    "add_mailbox_full_access",
    "remove_mailbox_full_access",
    "set_auto_reply",
    "invite",
];

/// A tenant that records the name of every call.
fn recording(sim: &SimTenant) -> (Arc<dyn Tenant>, Arc<Mutex<Vec<&'static str>>>) {
    let calls: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    let hook: Hook = {
        let calls = calls.clone();
        Arc::new(move |_sim: SimTenant, name: &'static str| {
            calls.lock().unwrap().push(name);
            Box::pin(async {}) as HookFuture
        })
    };
    let tenant = Watched {
        sim: sim.clone(),
        before: Some(hook),
        after: None,
    };
    (Arc::new(tenant), calls)
}

fn writes(calls: &Mutex<Vec<&'static str>>) -> Vec<&'static str> {
    calls
        .lock()
        .unwrap()
        .iter()
        .copied()
        .filter(|c| WRITES.contains(c))
        .collect()
}

fn quarantine(threshold: u64) -> impl FnOnce(&mut EngineConfig) {
    move |c: &mut EngineConfig| {
        c.quarantine = QuarantinePolicy {
            threshold,
            percent: 0.0,
            window: Duration::from_secs(24 * 3600),
        };
    }
}

fn leaver(i: usize, upn: &str) -> offboard::event::CloudEvent {
    event(
        &format!("flood-{i}"),
        "hr.leaver",
        upn,
        json!({"mailbox": "shared", "onedrive": "backup"}),
    )
}

/// Admits the events as one batch (as the ingress does with a burst) and returns their runs.
async fn flood(env: &TestEnv, upns: &[&str], first: usize) -> Vec<RunId> {
    let events = upns
        .iter()
        .enumerate()
        .map(|(i, u)| leaver(first + i, u))
        .collect();
    let results = env.engine.admit(events).await.durable(&env.engine).await;
    results
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap().runs[0])
        .collect()
}

fn held(r: &RunRecord) -> bool {
    r.status == RunStatus::Waiting && r.wait_reason == Some(WaitReason::Quarantine)
}

#[tokio::test]
async fn a_flood_of_leavers_reaches_no_destructive_call_until_approved_then_completes() {
    let sim = example_tenant();
    let (tenant, calls) = recording(&sim);
    let env =
        TestEnv::start_configured(repo_workflows(), sim, Some(tenant), None, quarantine(5)).await;
    let before = env.sim.fingerprint();

    let runs = flood(&env, PLAIN, 0).await;
    for id in &runs {
        let r = env.wait_for(*id, held).await;
        assert!(
            r.steps[r.cursor]
                .message
                .as_deref()
                .unwrap()
                .contains("quarantine"),
            "{r:?}"
        );
    }
    assert_eq!(writes(&calls), Vec::<&str>::new(), "writes while held");
    assert_eq!(
        env.sim.fingerprint(),
        before,
        "the tenant changed while held"
    );
    let view = env.engine.quarantine().unwrap();
    assert!(view.active);
    assert_eq!(view.count, PLAIN.len() as u64);
    assert_eq!(view.threshold, Some(5));
    let mut held_ids = view.held.clone();
    held_ids.sort();
    let mut expected = runs.clone();
    expected.sort();
    assert_eq!(held_ids, expected);
    assert_eq!(env.outcomes("quarantine.tripped").len(), 1);
    let figures = env.engine.store_figures().unwrap();
    assert!(figures.quarantine_active);
    assert_eq!(figures.quarantine_people, PLAIN.len() as u64);

    let released = env.engine.release_quarantine().await.unwrap();
    assert_eq!(released.len(), runs.len());
    env.settle().await;
    for id in &runs {
        let r = env.engine.run_record(id).unwrap();
        assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    }
    assert!(!writes(&calls).is_empty());
    assert!(env.sim.damage().is_empty(), "{:#?}", env.sim.damage());
    assert!(!env.engine.quarantine().unwrap().active);
}

#[tokio::test]
async fn leavers_within_the_limit_are_not_held() {
    let env = TestEnv::start_configured(
        repo_workflows(),
        example_tenant(),
        None,
        None,
        quarantine(5),
    )
    .await;
    let runs = flood(&env, &PLAIN[..5], 0).await;
    env.settle().await;
    for id in &runs {
        assert_eq!(
            env.engine.run_record(id).unwrap().status,
            RunStatus::Succeeded
        );
    }
    assert!(!env.engine.quarantine().unwrap().active);
    assert!(env.outcomes("quarantine.tripped").is_empty());
}

#[tokio::test]
async fn cancelling_the_quarantine_cancels_every_leaver_it_covers_and_counting_starts_afresh() {
    let sim = example_tenant();
    let (tenant, calls) = recording(&sim);
    let env =
        TestEnv::start_configured(repo_workflows(), sim, Some(tenant), None, quarantine(3)).await;
    let before = env.sim.fingerprint();
    // Two of them wait for a last working day: covered although not held yet.
    let mut events: Vec<_> = PLAIN[..3]
        .iter()
        .enumerate()
        .map(|(i, u)| leaver(i, u))
        .collect();
    for (i, u) in PLAIN[3..5].iter().enumerate() {
        events.push(event(
            &format!("later-{i}"),
            "hr.leaver",
            u,
            json!({"lastWorkingDay": "2026-12-31"}),
        ));
    }
    let runs: Vec<RunId> = env
        .engine
        .admit(events)
        .await
        .durable(&env.engine)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap().runs[0])
        .collect();
    for id in &runs[..3] {
        env.wait_for(*id, held).await;
    }
    let cancelled = env.engine.cancel_quarantined().await.unwrap();
    assert_eq!(cancelled.len(), 5, "{cancelled:?}");
    for id in &runs {
        let r = env.engine.run_record(id).unwrap();
        assert_eq!(r.status, RunStatus::Cancelled, "{r:?}");
    }
    assert_eq!(writes(&calls), Vec::<&str>::new());
    assert_eq!(env.sim.fingerprint(), before);
    assert!(!env.engine.quarantine().unwrap().active);

    // Counting starts afresh: one more leaver goes through.
    let id = flood(&env, &PLAIN[5..6], 100).await[0];
    env.settle().await;
    assert_eq!(
        env.engine.run_record(&id).unwrap().status,
        RunStatus::Succeeded
    );
}

#[tokio::test]
async fn a_tripped_quarantine_survives_a_restart_and_one_run_can_be_approved_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = example_tenant();
    let env = TestEnv::start_configured(
        repo_workflows(),
        sim.clone(),
        None,
        Some(tmp.path()),
        quarantine(2),
    )
    .await;
    let runs = flood(&env, &PLAIN[..3], 0).await;
    for id in &runs {
        env.wait_for(*id, held).await;
    }
    env.stop().await;

    let env =
        TestEnv::start_configured(repo_workflows(), sim, None, Some(tmp.path()), quarantine(2))
            .await;
    let view = env.engine.quarantine().unwrap();
    assert!(view.active);
    assert_eq!(view.held.len(), 3);
    // A leaver arriving now is held too.
    let late = flood(&env, &PLAIN[3..4], 10).await[0];
    env.wait_for(late, held).await;

    env.engine.approve(runs[0]).await.unwrap();
    let r = env.wait_status(runs[0], RunStatus::Succeeded).await;
    assert!(r.guard.released);
    for id in runs[1..].iter().chain([&late]) {
        assert!(held(&env.engine.run_record(id).unwrap()));
    }
    assert!(env.engine.quarantine().unwrap().active);
}

fn protect(p: Protection) -> impl FnOnce(&mut EngineConfig) {
    move |c: &mut EngineConfig| c.protection = p
}

#[tokio::test]
async fn an_entra_admin_is_blocked_before_any_change_and_runs_only_when_an_operator_allows_it() {
    let sim = example_tenant();
    let (tenant, calls) = recording(&sim);
    let env = TestEnv::start_configured(
        repo_workflows(),
        sim,
        Some(tenant),
        None,
        protect(Protection {
            admin_roles: true,
            ..Protection::default()
        }),
    )
    .await;
    let before = env.sim.fingerprint();
    let id = env
        .submit_one("admin", "hr.leaver", "ada.admin@contoso.com", json!({}))
        .await;
    let r = env.wait_status(id, RunStatus::Blocked).await;
    let reason = r.reason.clone().unwrap();
    assert!(
        reason.contains("protected account") && reason.contains("Global Administrator"),
        "{reason}"
    );
    assert_eq!(writes(&calls), Vec::<&str>::new());
    assert_eq!(env.sim.fingerprint(), before);
    assert_eq!(env.outcomes("run.blocked").len(), 1);

    // A plain restart blocks again; allowing the protected account lets it complete.
    env.engine.restart(id, None).await.unwrap();
    env.wait_status(id, RunStatus::Blocked).await;
    env.engine.restart_with(id, None, true).await.unwrap();
    env.settle().await;
    let r = env.engine.run_record(&id).unwrap();
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    assert!(
        !env.sim
            .user("ada.admin@contoso.com")
            .unwrap()
            .account_enabled
    );
}

#[tokio::test]
async fn protected_upns_and_groups_are_blocked_and_others_go_through() {
    let env = TestEnv::start_configured(
        repo_workflows(),
        example_tenant(),
        None,
        None,
        protect(Protection {
            upns: vec!["MAX.BERG@contoso.com".into()],
            groups: vec!["finance team".into()],
            admin_roles: false,
        }),
    )
    .await;
    let max = env
        .submit_one("max", "hr.leaver", "max.berg@contoso.com", json!({}))
        .await;
    // Dana is in Finance Team (by name); Sam too, by the group's id.
    let dana = env
        .submit_one("dana", "hr.leaver", "dana.lee@contoso.com", json!({}))
        .await;
    let ada = env
        .submit_one("ada", "hr.leaver", "ada.admin@contoso.com", json!({}))
        .await;
    env.settle().await;
    let r = env.engine.run_record(&max).unwrap();
    assert_eq!(r.status, RunStatus::Blocked);
    assert!(r.reason.unwrap().contains("protected_upns"));
    let r = env.engine.run_record(&dana).unwrap();
    assert_eq!(r.status, RunStatus::Blocked);
    assert!(r.reason.unwrap().contains("Finance Team"));
    // Admin roles are not protected in this configuration.
    assert_eq!(
        env.engine.run_record(&ada).unwrap().status,
        RunStatus::Succeeded
    );
    assert!(
        env.sim
            .user("max.berg@contoso.com")
            .unwrap()
            .account_enabled
    );
    assert!(
        env.sim
            .user("dana.lee@contoso.com")
            .unwrap()
            .account_enabled
    );
}

/// The admin token of the quarantine API test.
const TOKEN: &str = "guardrails-admin-token";

/// One request to the admin router (no socket), with `token`.
async fn call(
    state: &offboard::api::admin::AdminState,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, serde_json::Value) {
    use tower::ServiceExt;
    let mut req = axum::http::Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = offboard::api::admin::router(state.clone())
        .oneshot(req.body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn the_quarantine_api_shows_approves_and_cancels_held_runs() {
    let env = TestEnv::start_configured(
        repo_workflows(),
        example_tenant(),
        None,
        None,
        quarantine(2),
    )
    .await;
    let state = offboard::api::admin::AdminState {
        metrics: offboard::metrics::Metrics::new(),
        engine: env.engine.clone(),
        health: offboard::health::Health::new(),
        event_key: None,
        admin_token: Some(TOKEN.into()),
    };
    let (status, body) = call(&state, "GET", "/api/v1/quarantine", None).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = call(
        &state,
        "GET",
        "/api/v1/quarantine",
        Some("wrong-token-wrong-token"),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = call(&state, "GET", "/api/v1/quarantine", Some(TOKEN)).await;
    assert_eq!(
        (status, body["active"].as_bool()),
        (200, Some(false)),
        "{body}"
    );
    assert_eq!(body["threshold"], 2);

    let runs = flood(&env, &PLAIN[..3], 0).await;
    for id in &runs {
        env.wait_for(*id, held).await;
    }
    let (status, body) = call(&state, "GET", "/api/v1/quarantine", Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(body["active"], true);
    assert_eq!(body["count"], 3);
    assert_eq!(body["held"].as_array().unwrap().len(), 3);
    assert!(body["trippedAt"].is_string() && body["windowStart"].is_string());
    let (status, body) = call(&state, "GET", "/api/v1/quarantine/approve", Some(TOKEN)).await;
    assert_eq!(status, 405, "{body}");

    let (status, body) = call(&state, "POST", "/api/v1/quarantine/approve", Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(body["runs"].as_array().unwrap().len(), 3, "{body}");
    env.settle().await;
    for id in &runs {
        assert_eq!(
            env.engine.run_record(id).unwrap().status,
            RunStatus::Succeeded
        );
    }

    // A second flood, cancelled this time.
    let runs = flood(&env, &PLAIN[3..7], 10).await;
    for id in &runs {
        env.wait_for(*id, held).await;
    }
    let (status, body) = call(&state, "POST", "/api/v1/quarantine/cancel", Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(body["runs"].as_array().unwrap().len(), 4, "{body}");
    for id in &runs {
        assert_eq!(
            env.engine.run_record(id).unwrap().status,
            RunStatus::Cancelled
        );
    }
    let (_, body) = call(&state, "GET", "/api/v1/quarantine", Some(TOKEN)).await;
    assert_eq!(body["active"], false);
}

#[tokio::test]
async fn the_share_of_the_tenant_trips_the_quarantine_with_its_floor_of_ten_people() {
    let env = TestEnv::start_configured(
        repo_workflows(),
        example_tenant(),
        None,
        None,
        |c: &mut EngineConfig| {
            c.quarantine = QuarantinePolicy {
                threshold: 0,
                percent: 10.0,
                window: Duration::from_secs(3600),
            };
        },
    )
    .await;
    // 10 % of the example tenant's 15 users is 2 people; the floor makes it 10. The count
    // comes from the tenant (count_users) once the engine runs.
    for _ in 0..400 {
        if env.engine.quarantine().unwrap().threshold.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(env.engine.quarantine().unwrap().threshold, Some(10));
    let later = json!({"lastWorkingDay": "2026-12-31"});
    for i in 0..10 {
        env.submit_one(
            &format!("p{i}"),
            "hr.leaver",
            &format!("p{i}@contoso.com"),
            later.clone(),
        )
        .await;
    }
    assert!(!env.engine.quarantine().unwrap().active);
    env.submit_one("p10", "hr.leaver", "p10@contoso.com", later)
        .await;
    let view = env.engine.quarantine().unwrap();
    assert!(view.active);
    assert_eq!(view.count, 11);
}

#[tokio::test]
async fn a_plan_names_a_protected_account_and_the_quarantine_without_changing_anything() {
    let env = TestEnv::start_configured(
        repo_workflows(),
        example_tenant(),
        None,
        None,
        |c: &mut EngineConfig| {
            c.protection = Protection {
                admin_roles: true,
                ..Protection::default()
            };
            c.quarantine = QuarantinePolicy {
                threshold: 2,
                percent: 0.0,
                window: Duration::from_secs(3600),
            };
        },
    )
    .await;
    let before = env.sim.fingerprint();
    let codes = |p: &offboard::engine::Plan| -> Vec<String> {
        p.blockers.iter().map(|b| b.code.clone()).collect()
    };
    let plan = env
        .engine
        .plan(&event(
            "p-ada",
            "hr.leaver",
            "ada.admin@contoso.com",
            json!({}),
        ))
        .await
        .unwrap();
    assert!(
        codes(&plan).contains(&"protected-account".to_string()),
        "{plan:?}"
    );
    let dana = env.engine.plan(&leaver(90, PLAIN[0])).await.unwrap();
    assert!(codes(&dana).is_empty(), "{dana:?}");

    // Two people in the window: a third would trip it.
    let later = json!({"lastWorkingDay": "2026-12-31"});
    env.submit_one("w1", "hr.leaver", PLAIN[1], later.clone())
        .await;
    env.submit_one("w2", "hr.leaver", PLAIN[2], later.clone())
        .await;
    let plan = env.engine.plan(&leaver(91, PLAIN[0])).await.unwrap();
    assert!(
        plan.runs[0]
            .warnings
            .iter()
            .any(|w| w.contains("would trip")),
        "{plan:?}"
    );
    env.submit_one("w3", "hr.leaver", PLAIN[3], later).await;
    let plan = env.engine.plan(&leaver(92, PLAIN[0])).await.unwrap();
    assert!(codes(&plan).contains(&"quarantine".to_string()), "{plan:?}");
    assert_eq!(env.sim.fingerprint(), before);
}
