//! The joiner (`workflows/joiner.toml`) through the real engine and against single steps:
//! waiting for a late account and giving up clearly; a bad usage location failing before any
//! license call; joiners competing for the last seats getting them in arrival order while
//! the others wait and publish `seat.shortage`; never the same SKU twice; groups that cannot
//! be edited blocking with their name. Every run ends with zero damage records.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use offboard::clock::Clock as _;
use offboard::engine::{RunRecord, RunStatus, StepStatus};
use offboard::ids::UserId;
use offboard::steps::StepOutcome;
use offboard::tenant::Tenant;
use offboard::tenant::sim::{Scenario, SimTenant};
use serde_json::{Value, json};
use std::sync::Arc;

const FINANCE: &str = "9e2b1c44-0f7d-4a6b-b1e8-7c3d5a9f2e10";
const DYNAMIC: &str = "b3d5f7a9-1c3e-4b5d-9f7a-1c3e5b7d9f02";
const DL: &str = "d7f9b1d3-5a7c-4e9f-b1d3-5a7c9e1f3b64";
const ANA: &str = "ana.alves@contoso.com";
const BEN: &str = "ben.brandt@contoso.com";
const CLEO: &str = "cleo.cruz@contoso.com";
const HUGO: &str = "hugo.holder@contoso.com";

fn user(n: u32, upn: &str, licenses: &[&str], extra: Value) -> Value {
    let mut u = json!({"id": format!("00000000-0000-4000-8000-{n:012}"), "userPrincipalName": upn,
        "displayName": upn.split('@').next().unwrap(), "licenses": licenses});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        u[k] = v;
    }
    u
}

/// E3 with `e3_seats` seats held by Hugo (a user mailbox) and `shared_holders` licensed
/// shared mailboxes (their license can go without harm, R2); three joiners without usage
/// location or license; an editable, a dynamic and a mail-enabled group.
fn tenant(e3_seats: i64, pbi_seats: i64, shared_holders: u32) -> Scenario {
    serde_json::from_value(tenant_json(e3_seats, pbi_seats, shared_holders)).unwrap()
}

fn tenant_json(e3_seats: i64, pbi_seats: i64, shared_holders: u32) -> Value {
    let mut users = vec![
        user(1, ANA, &[], json!({})),
        user(2, BEN, &[], json!({})),
        user(3, CLEO, &[], json!({})),
        user(4, HUGO, &["SPE_E3"], json!({"usageLocation": "US"})),
    ];
    for i in 0..shared_holders {
        users.push(user(
            10 + i,
            &format!("shared{i}@contoso.com"),
            &["SPE_E3"],
            json!({"usageLocation": "US", "accountEnabled": false,
                   "mailbox": {"type": "SharedMailbox", "sizeGb": 1.0}}),
        ));
    }
    json!({
        "tenant": "contoso.com",
        "groupLicensingDelaySeconds": 60,
        "skus": [
            {"skuId": E3, "skuPartNumber": "SPE_E3", "prepaidUnits": {"enabled": e3_seats}, "servicePlans": [
                {"servicePlanId": "efb87545-963c-4e0d-99df-69c6916d9eb0", "servicePlanName": "EXCHANGE_S_ENTERPRISE"},
                {"servicePlanId": "5dbe027f-2339-4123-9542-606e4d348a72", "servicePlanName": "SHAREPOINTENTERPRISE"}]},
            {"skuId": PBI, "skuPartNumber": "POWER_BI_PRO", "prepaidUnits": {"enabled": pbi_seats},
             "servicePlans": [{"servicePlanId": "70d33638-9c74-4d01-bfd3-562de28bd4ba", "servicePlanName": "BI_AZURE_P2"}]}
        ],
        "users": users,
        "groups": [
            {"id": FINANCE, "displayName": "Finance Team", "groupTypes": ["Unified"], "mailEnabled": true,
             "securityEnabled": false, "members": [HUGO]},
            {"id": DYNAMIC, "displayName": "Sales - dynamic", "groupTypes": ["DynamicMembership"],
             "membershipRule": "(user.department -eq \"Sales\")", "members": []},
            {"id": DL, "displayName": "All Staff DL", "mailEnabled": true, "securityEnabled": false, "members": []}
        ]
    })
}

fn sim(s: Scenario) -> SimTenant {
    SimTenant::from_scenario(s, offboard::clock::SimClock::new()).unwrap()
}

fn joiner_data(licenses: &[&str]) -> Value {
    json!({"usageLocation": "de", "licenses": licenses, "groups": [FINANCE]})
}

fn step<'a>(run: &'a RunRecord, id: &str) -> &'a offboard::engine::StepState {
    run.steps.iter().find(|s| s.id.0 == id).unwrap()
}

fn waits_for_a_seat(r: &RunRecord) -> bool {
    r.status == RunStatus::Waiting
        && step(r, "licenses").status == StepStatus::Waiting
        // (not just taking its place in line, which comes first)
        && step(r, "licenses")
            .message
            .as_deref()
            .is_some_and(|m| m.contains("waiting for a free seat"))
        && r.lines == vec![format!("seat/{E3}")]
}

fn e3_count(sim: &SimTenant, upn: &str) -> usize {
    sim.user(upn)
        .map(|u| {
            u.license_assignment_states
                .iter()
                .filter(|s| s.sku_id.as_str() == E3)
                .count()
        })
        .unwrap_or(0)
}

async fn free_a_seat(sim: &SimTenant, holder: u32) {
    let id = UserId::new(format!("00000000-0000-4000-8000-{:012}", 10 + holder));
    sim.assign_license(&id, &[], &[offboard::ids::SkuId::new(E3)])
        .await
        .unwrap();
}

fn shortage_subjects(env: &TestEnv) -> Vec<String> {
    env.outcomes("seat.shortage")
        .into_iter()
        .map(|o| {
            assert_eq!(o.data["sku"], json!(E3), "{o:?}");
            assert_eq!(o.data["skuPartNumber"], json!("SPE_E3"));
            assert_eq!(o.data["step"], json!("licenses"));
            o.subject
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_joiner_takes_the_last_seat_and_the_second_waits_until_a_leaver_frees_one() {
    // two seats: Hugo holds one, one is free
    let env = TestEnv::start(repo_workflows(), sim(tenant(2, 10, 0))).await;
    let a = env
        .submit_one("j-ana", "hr.joiner", ANA, joiner_data(&["SPE_E3"]))
        .await;
    env.wait_status(a, RunStatus::Succeeded).await;
    let b = env
        .submit_one("j-ben", "hr.joiner", BEN, joiner_data(&["SPE_E3"]))
        .await;
    let waiting = env.wait_for(b, waits_for_a_seat).await;
    assert!(
        step(&waiting, "licenses")
            .message
            .clone()
            .unwrap_or_default()
            .contains("SPE_E3"),
        "{waiting:?}"
    );
    let shortage = env.outcomes("seat.shortage");
    assert_eq!(shortage.len(), 1, "{shortage:?}");
    assert_eq!(shortage[0].subject, BEN);
    assert_eq!(shortage[0].data["enabled"], json!(2));
    assert_eq!(shortage[0].data["consumed"], json!(2));
    assert_eq!(shortage[0].data["waiting"], json!(1));
    assert_eq!(e3_count(&env.sim, BEN), 0, "no license while waiting");
    // the usage location was set before the wait, the groups step has not run yet
    assert_eq!(
        env.sim.user(BEN).unwrap().usage_location.as_deref(),
        Some("DE")
    );

    // polls keep waiting without publishing the shortage again
    for _ in 0..3 {
        let before = env.engine.run_record(&b).unwrap().steps[2].attempts;
        env.advance_until(b, 1, |r| r.steps[2].attempts > before)
            .await;
    }
    env.wait_for(b, waits_for_a_seat).await;
    assert_eq!(env.outcomes("seat.shortage").len(), 1);

    // Hugo leaves: his seat goes to Ben
    let leaver = env
        .submit_one(
            "l-hugo",
            "hr.leaver",
            HUGO,
            json!({"mailbox": "shared", "onedrive": "none"}),
        )
        .await;
    let done = env.advance_until(b, 20, |r| r.status.is_terminal()).await;
    assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.reason);
    assert_eq!(
        env.wait_status(leaver, RunStatus::Succeeded).await.status,
        RunStatus::Succeeded
    );
    assert_eq!(e3_count(&env.sim, ANA), 1);
    assert_eq!(e3_count(&env.sim, BEN), 1);
    assert_eq!(e3_count(&env.sim, HUGO), 0);
    assert!(
        done.lines.is_empty(),
        "left the seat line: {:?}",
        done.lines
    );
    let finance = env.sim.group_members(&offboard::ids::GroupId::new(FINANCE));
    for n in [1, 2] {
        let id = UserId::new(format!("00000000-0000-4000-8000-{n:012}"));
        assert!(finance.contains(&id), "{id} not in Finance: {finance:?}");
    }
    assert!(env.sim.damage().is_empty(), "{:?}", env.sim.damage());
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_joiners_get_seats_freed_one_at_a_time_in_arrival_order() {
    // three seats, all held by licensed shared mailboxes (their license can go, R2)
    let env = TestEnv::start(repo_workflows(), sim(tenant(4, 10, 3))).await;
    let runs = [
        env.submit_one("j-1", "hr.joiner", ANA, joiner_data(&["SPE_E3"]))
            .await,
        env.submit_one("j-2", "hr.joiner", BEN, joiner_data(&["SPE_E3"]))
            .await,
        env.submit_one("j-3", "hr.joiner", CLEO, joiner_data(&["SPE_E3"]))
            .await,
    ];
    for r in runs {
        env.wait_for(r, waits_for_a_seat).await;
    }
    let mut subjects = shortage_subjects(&env);
    subjects.sort();
    assert_eq!(
        subjects,
        vec![ANA, BEN, CLEO],
        "one shortage per waiting run"
    );

    let upns = [ANA, BEN, CLEO];
    for (i, run) in runs.iter().enumerate() {
        free_a_seat(&env.sim, i as u32).await;
        let done = env.advance_until(*run, 5, |r| r.status.is_terminal()).await;
        assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.reason);
        assert_eq!(e3_count(&env.sim, upns[i]), 1);
        // everyone who arrived later still waits, without a license
        for (later, upn) in runs.iter().zip(upns).skip(i + 1) {
            // (it may be in the middle of a poll right now: let that poll end)
            let r = env
                .wait_for(*later, |r| r.status != RunStatus::Running)
                .await;
            assert!(waits_for_a_seat(&r), "{upn}: {r:?}");
            assert_eq!(e3_count(&env.sim, upn), 0, "{upn} jumped the line");
        }
    }
    assert_eq!(env.sim.sku("SPE_E3").unwrap().consumed_units, 4);
    assert_eq!(
        env.outcomes("seat.shortage").len(),
        3,
        "published once per run"
    );
    assert!(env.sim.damage().is_empty(), "{:?}", env.sim.damage());
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joiner_with_an_invalid_usage_location_fails_clearly_before_any_license_call() {
    let env = TestEnv::start(repo_workflows(), sim(tenant(5, 10, 0))).await;
    let run = env
        .submit_one(
            "j-uk",
            "hr.joiner",
            ANA,
            json!({"usageLocation": "UK", "licenses": ["SPE_E3"], "groups": [FINANCE]}),
        )
        .await;
    let r = env.wait_status(run, RunStatus::Failed).await;
    let reason = r.reason.clone().unwrap_or_default();
    for phrase in ["`UK`", "data.usageLocation", "ISO 3166-1", "GB", ANA] {
        assert!(reason.contains(phrase), "`{phrase}` missing in: {reason}");
    }
    assert_eq!(step(&r, "usage-location").status, StepStatus::Failed);
    assert_eq!(step(&r, "usage-location").attempts, 1, "not retried");
    assert_eq!(env.sim.calls("set_usage_location"), 0);
    assert_eq!(env.sim.calls("assign_license"), 0);
    assert_eq!(env.sim.calls("list_skus"), 0);
    let ana = env.sim.user(ANA).unwrap();
    assert!(ana.usage_location.is_none() && ana.assigned_licenses.is_empty());
    assert!(env.sim.damage().is_empty(), "{:?}", env.sim.damage());
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_or_repeated_joiner_never_assigns_a_sku_twice() {
    let env = TestEnv::start(repo_workflows(), sim(tenant(5, 10, 0))).await;
    let data = joiner_data(&["SPE_E3"]);
    let first = env.submit_one("j-a", "hr.joiner", ANA, data.clone()).await;
    let again = env
        .engine
        .submit(event("j-a", "hr.joiner", ANA, data))
        .await
        .unwrap();
    assert_eq!(again.runs, vec![first], "a redelivery makes no second run");
    let second = env
        .submit_one(
            "j-a2",
            "hr.joiner",
            ANA,
            json!({"usageLocation": "DE", "licenses": ["spe_e3", "POWER_BI_PRO"]}),
        )
        .await;
    let r1 = env.wait_status(first, RunStatus::Succeeded).await;
    let r2 = env.wait_status(second, RunStatus::Succeeded).await;
    assert_eq!(step(&r1, "licenses").output["assigned"], json!(["SPE_E3"]));
    assert_eq!(
        step(&r2, "licenses").output["assigned"],
        json!(["POWER_BI_PRO"])
    );
    assert_eq!(
        step(&r2, "licenses").output["alreadyHeld"],
        json!(["SPE_E3"])
    );
    assert_eq!(step(&r2, "groups").status, StepStatus::Skipped);
    assert_eq!(e3_count(&env.sim, ANA), 1);
    assert_eq!(env.sim.sku("SPE_E3").unwrap().consumed_units, 2);
    assert_eq!(env.sim.calls("assign_license"), 2, "one call per run");
    assert!(env.sim.damage().is_empty(), "{:?}", env.sim.damage());
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joiner_whose_account_never_appears_fails_with_what_to_check() {
    let env = TestEnv::start(repo_workflows(), sim(tenant(5, 10, 0))).await;
    let ghost = "nobody.yet@contoso.com";
    let run = env
        .submit_one("j-ghost", "hr.joiner", ghost, joiner_data(&["SPE_E3"]))
        .await;
    let r = env.advance_until(run, 60, |r| r.status.is_terminal()).await;
    assert_eq!(r.status, RunStatus::Failed);
    let reason = r.reason.clone().unwrap_or_default();
    for phrase in [ghost, "4h", "Entra Connect", "restart this step"] {
        assert!(reason.contains(phrase), "`{phrase}` missing in: {reason}");
    }
    let account = step(&r, "account");
    // 30 s doubling up to 10 min over 4 h: about 30 looks, not one a second
    assert!(
        (20..=40).contains(&account.attempts),
        "{} looks",
        account.attempts
    );
    assert_eq!(env.sim.calls("set_usage_location"), 0);
    assert_eq!(env.sim.calls("assign_license"), 0);
    assert!(env.sim.damage().is_empty(), "{:?}", env.sim.damage());
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_synced_in_late_is_awaited_and_then_set_up() {
    let late = "lou.late@contoso.com";
    let appears = chrono::Utc::now() + chrono::Duration::minutes(20);
    let mut t = tenant_json(5, 10, 0);
    t["users"].as_array_mut().unwrap().push(user(
        7,
        late,
        &[],
        json!({"appearsAt": appears.to_rfc3339()}),
    ));
    let env = TestEnv::start(repo_workflows(), sim(serde_json::from_value(t).unwrap())).await;
    assert!(env.sim.user(late).is_none(), "not synced yet");
    let run = env
        .submit_one("j-lou", "hr.joiner", late, joiner_data(&["SPE_E3"]))
        .await;
    let looking = env
        .wait_for(run, |r| {
            r.status == RunStatus::Waiting && step(r, "account").status == StepStatus::Waiting
        })
        .await;
    assert!(
        step(&looking, "account")
            .message
            .clone()
            .unwrap_or_default()
            .contains("does not exist yet"),
        "{looking:?}"
    );
    let r = env.advance_until(run, 20, |r| r.status.is_terminal()).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.reason);
    let account = step(&r, "account");
    // looked at 0, 30 s, 1, 2, 4, 8, 16 min, then found it at 26 min
    assert!((5..=10).contains(&account.attempts), "{account:?}");
    assert!(offboard::clock::Clock::now(&env.clock) >= appears);
    let lou = env.sim.user(late).unwrap();
    assert_eq!(lou.usage_location.as_deref(), Some("DE"));
    assert!(lou.holds_sku(&offboard::ids::SkuId::new(E3)));
    assert_eq!(
        step(&r, "licenses").output["userId"],
        json!("00000000-0000-4000-8000-000000000007")
    );
    assert!(env.sim.damage().is_empty(), "{:?}", env.sim.damage());
    env.stop().await;
}

// ---- single steps ----

fn harness(s: Scenario, subject: &str) -> Harness {
    let mut h = Harness::new(s, subject);
    h.event.event_type = "hr.joiner".into();
    h
}

#[tokio::test]
async fn user_await_finds_an_existing_account_at_once_and_backs_off_for_a_missing_one() {
    let mut h = harness(tenant(5, 10, 0), ANA);
    let r = done(h.step("account", "user.await", json!({})).await);
    assert_eq!(r.output["upn"], json!(ANA));
    assert_eq!(
        r.output["userId"],
        json!("00000000-0000-4000-8000-000000000001")
    );

    let mut h = harness(tenant(5, 10, 0), "late@contoso.com");
    let started = offboard::clock::Clock::now(&h.clock);
    let params = json!({"give_up_after": "1h"});
    let mut delays = Vec::new();
    let reason = loop {
        let now = offboard::clock::Clock::now(&h.clock);
        match h
            .step_since("account", "user.await", params.clone(), started)
            .await
        {
            StepOutcome::WaitUntil { until, reason, .. } => {
                assert!(reason.contains("late@contoso.com"), "{reason}");
                delays.push((until - now).num_seconds());
                h.clock.advance_to(until);
            }
            StepOutcome::Failed { reason } => break reason,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(&delays[..6], &[30, 30, 60, 120, 240, 480]);
    assert!(delays.iter().all(|d| *d <= 600), "{delays:?}");
    assert!(
        reason.contains("late@contoso.com") && reason.contains("AD sync"),
        "{reason}"
    );
    assert_eq!(h.sim.calls("get_user") as usize, delays.len() + 1);

    let bad = h
        .step("account", "user.await", json!({"give_up_after": "soon"}))
        .await;
    assert!(failed(&bad).contains("give_up_after"));
}

#[tokio::test]
async fn usage_set_validates_the_code_before_any_call_and_changes_only_what_differs() {
    let mut h = harness(tenant(5, 10, 0), ANA);
    h.event.data = json!({"usageLocation": "zz"});
    let out = h
        .step("usage", "usage.set", json!({"usage_location": "zz"}))
        .await;
    let reason = failed(&out);
    assert!(
        reason.contains("`zz`") && reason.contains("event field data.usageLocation"),
        "{reason}"
    );
    assert_eq!(h.sim.calls("get_user"), 0, "refused before any tenant call");

    let r = done(
        h.step("usage", "usage.set", json!({"usage_location": "gb"}))
            .await,
    );
    assert_eq!(r.output["usageLocation"], json!("GB"));
    assert_eq!(r.changed.len(), 1);
    assert_eq!(
        h.sim.user(ANA).unwrap().usage_location.as_deref(),
        Some("GB")
    );
    let again = done(
        h.step("usage", "usage.set", json!({"usage_location": "GB"}))
            .await,
    );
    assert!(again.changed.is_empty(), "{again:?}");
    assert_eq!(h.sim.calls("set_usage_location"), 1);

    // no code given: fine when the account has one, a clear failure when not
    done(h.step("usage", "usage.set", json!({})).await);
    let mut h = harness(tenant(5, 10, 0), BEN);
    assert!(failed(&h.step("usage", "usage.set", json!({})).await).contains("R12"));
}

#[tokio::test]
async fn licenses_assign_takes_what_is_free_now_and_waits_in_line_for_the_rest() {
    // PBI: one seat, held by Hugo below
    let mut h = harness(tenant(5, 1, 0), ANA);
    done(
        h.step("usage", "usage.set", json!({"usage_location": "DE"}))
            .await,
    );
    let hugo = UserId::new("00000000-0000-4000-8000-000000000004");
    h.sim
        .assign_license(
            &hugo,
            &[offboard::tenant::AssignedLicense {
                sku_id: offboard::ids::SkuId::new(PBI),
                disabled_plans: vec![],
            }],
            &[],
        )
        .await
        .unwrap();
    let params =
        json!({"licenses": "SPE_E3, POWER_BI_PRO", "disabled_plans": ["SHAREPOINTENTERPRISE"]});
    // first it takes its places in both seat lines, changing nothing …
    let t0 = h.clock.now();
    let out = h.step("licenses", "licenses.assign", params.clone()).await;
    let StepOutcome::WaitUntil {
        until,
        changed,
        emit,
        lines,
        ..
    } = out
    else {
        panic!("{out:?}")
    };
    assert!(
        until - t0 < chrono::Duration::seconds(1),
        "counts again at once"
    );
    assert!(changed.is_empty() && emit.is_empty());
    assert_eq!(lines, vec![format!("seat/{E3}"), format!("seat/{PBI}")]);
    assert_eq!(h.sim.calls("assign_license"), 1, "only the test's own");
    // … then counts from there
    let out = h
        .step_since("licenses", "licenses.assign", params.clone(), t0)
        .await;
    let StepOutcome::WaitUntil {
        changed,
        emit,
        lines,
        reason,
        ..
    } = out
    else {
        panic!("{out:?}")
    };
    assert_eq!(lines, vec![format!("seat/{PBI}")]);
    assert_eq!(emit.len(), 1);
    assert_eq!(emit[0].kind, "seat.shortage");
    assert_eq!(
        emit[0].data,
        json!({"sku": PBI, "skuPartNumber": "POWER_BI_PRO", "enabled": 1, "consumed": 1, "waiting": 1})
    );
    assert!(changed[0].contains("SPE_E3"), "{changed:?}");
    assert!(reason.contains("POWER_BI_PRO"), "{reason}");
    let ana = h.sim.user(ANA).unwrap();
    assert!(ana.holds_sku(&offboard::ids::SkuId::new(E3)));
    assert_eq!(
        ana.assigned_licenses[0].disabled_plans,
        vec!["5dbe027f-2339-4123-9542-606e4d348a72".to_string()]
    );

    // the next poll waits again without publishing again
    h.clock.advance(chrono::Duration::minutes(5));
    let out = h
        .step_since("licenses", "licenses.assign", params.clone(), t0)
        .await;
    let StepOutcome::WaitUntil { emit, changed, .. } = out else {
        panic!("{out:?}")
    };
    assert!(emit.is_empty() && changed.is_empty());

    // another run stands ahead in the line: a freed seat is its, not ours
    h.sim
        .assign_license(&hugo, &[], &[offboard::ids::SkuId::new(PBI)])
        .await
        .unwrap();
    h.ledger.ahead.insert(format!("seat/{PBI}"), 1);
    assert!(matches!(
        h.step("licenses", "licenses.assign", params.clone()).await,
        StepOutcome::WaitUntil { .. }
    ));
    h.ledger.ahead.clear();
    let r = done(h.step("licenses", "licenses.assign", params.clone()).await);
    assert_eq!(r.output["assigned"], json!(["POWER_BI_PRO"]));
    assert_eq!(r.output["alreadyHeld"], json!(["SPE_E3"]));
    assert!(h.ledger.lines.is_empty());
    // a crash after the assignment: the repeat changes nothing
    let again = done(h.step("licenses", "licenses.assign", params).await);
    assert!(again.changed.is_empty());
    assert_eq!(again.output["assigned"], json!([]));
    assert_eq!(
        h.sim.calls("assign_license"),
        2 + 2,
        "two by the step, two by the test"
    );
    assert!(h.sim.damage().is_empty(), "{:?}", h.sim.damage());
}

#[tokio::test]
async fn licenses_assign_refuses_unknown_skus_and_a_missing_usage_location() {
    let mut h = harness(tenant(5, 10, 0), ANA);
    let out = h
        .step(
            "licenses",
            "licenses.assign",
            json!({"licenses": ["SPE_E5"]}),
        )
        .await;
    let reason = failed(&out);
    assert!(
        reason.contains("SPE_E5") && reason.contains("POWER_BI_PRO, SPE_E3"),
        "{reason}"
    );
    let out = h
        .step(
            "licenses",
            "licenses.assign",
            json!({"licenses": ["SPE_E3"]}),
        )
        .await;
    assert!(failed(&out).contains("usage location"), "{out:?}");
    let out = h
        .step(
            "licenses",
            "licenses.assign",
            json!({"licenses": ["SPE_E3"], "disabled_plans": "NOPE"}),
        )
        .await;
    assert!(failed(&out).contains("NOPE"), "{out:?}");
    assert_eq!(h.sim.calls("assign_license"), 0);
}

#[tokio::test]
async fn licenses_assign_waits_when_another_assignment_takes_the_seat_first() {
    // one free E3 seat, taken by someone else between the count and the call
    let s = tenant(2, 10, 0);
    let mut h = harness(s, ANA);
    done(
        h.step("usage", "usage.set", json!({"usage_location": "DE"}))
            .await,
    );
    let raced = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let before: Hook = {
        let raced = raced.clone();
        Arc::new(move |sim: SimTenant, name: &'static str| {
            let raced = raced.clone();
            Box::pin(async move {
                if name == "assign_license"
                    && !raced.swap(true, std::sync::atomic::Ordering::SeqCst)
                {
                    let ben = UserId::new("00000000-0000-4000-8000-000000000002");
                    sim.set_usage_location(&ben, "DE").await.unwrap();
                    sim.assign_license(
                        &ben,
                        &[offboard::tenant::AssignedLicense {
                            sku_id: offboard::ids::SkuId::new(E3),
                            disabled_plans: vec![],
                        }],
                        &[],
                    )
                    .await
                    .unwrap();
                }
            }) as HookFuture
        })
    };
    h.tenant = Some(Arc::new(Watched {
        sim: h.sim.clone(),
        before: Some(before),
        after: None,
    }));
    let params = json!({"licenses": ["SPE_E3"]});
    // its place in line first (no call), then the count and the call that loses the race
    let first = h.step("licenses", "licenses.assign", params.clone()).await;
    assert!(matches!(first, StepOutcome::WaitUntil { .. }), "{first:?}");
    let out = h.step("licenses", "licenses.assign", params).await;
    let StepOutcome::WaitUntil { emit, lines, .. } = out else {
        panic!("{out:?}")
    };
    assert_eq!(lines, vec![format!("seat/{E3}")]);
    assert_eq!(emit.len(), 1);
    assert_eq!(emit[0].data["consumed"], json!(2));
    assert!(
        !h.sim
            .user(ANA)
            .unwrap()
            .holds_sku(&offboard::ids::SkuId::new(E3))
    );
    assert!(h.sim.damage().is_empty(), "{:?}", h.sim.damage());
}

#[tokio::test]
async fn groups_add_is_idempotent_and_blocks_on_groups_graph_cannot_change() {
    let mut h = harness(tenant(5, 10, 0), ANA);
    let r = done(
        h.step(
            "groups",
            "groups.add",
            json!({"groups": [FINANCE.to_uppercase()]}),
        )
        .await,
    );
    assert_eq!(r.output["added"][0]["name"], json!("Finance Team"));
    let again = done(
        h.step("groups", "groups.add", json!({"groups": FINANCE}))
            .await,
    );
    assert!(again.changed.is_empty());
    assert_eq!(again.output["alreadyMember"][0]["id"], json!(FINANCE));
    assert_eq!(h.sim.calls("add_group_member"), 1);

    let out = h
        .step(
            "groups",
            "groups.add",
            json!({"groups": [FINANCE, DYNAMIC, DL]}),
        )
        .await;
    let reason = blocked(&out);
    for phrase in [
        "Sales - dynamic",
        "dynamic membership",
        "All Staff DL",
        "Exchange",
        ANA,
    ] {
        assert!(reason.contains(phrase), "`{phrase}` missing in: {reason}");
    }
    assert_eq!(h.sim.calls("add_group_member"), 1, "nothing changed");

    let out = h
        .step(
            "groups",
            "groups.add",
            json!({"groups": ["00000000-dead-4000-8000-000000000000"]}),
        )
        .await;
    assert!(failed(&out).contains("does not exist"));
}
