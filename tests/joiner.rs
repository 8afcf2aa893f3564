//! The joiner (`workflows/joiner.toml`) through the real engine (single steps:
//! tests/steps_joiner.rs):
//! waiting for a late account and giving up clearly; a bad usage location failing before any
//! license call; joiners competing for the last seats getting them in arrival order while
//! the others wait and publish `seat.shortage`; never the same SKU twice; groups that cannot
//! be edited blocking with their name. Every run ends with zero damage records.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod joiner_common;

use common::*;
use joiner_common::*;
use offboard::engine::{RunStatus, StepStatus};
use offboard::ids::UserId;
use serde_json::json;

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
