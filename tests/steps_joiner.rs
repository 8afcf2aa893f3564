//! The joiner's steps one by one (`user.await`, `usage.set`, `licenses.assign`, `groups.add`):
//! backoff, code validation before any call, partial assignment and waiting in line, a seat
//! lost to a race, refusals, groups Graph cannot change; repeats change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod joiner_common;

use common::*;
use joiner_common::*;
use offboard::clock::Clock as _;
use offboard::ids::UserId;
use offboard::steps::StepOutcome;
use offboard::tenant::Tenant;
use offboard::tenant::sim::{Scenario, SimTenant};
use serde_json::json;
use std::sync::Arc;

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
