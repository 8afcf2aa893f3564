//! `licenses.remove` against the simulated tenant: order (R3), forwarding (R5), the kept
//! Exchange license (R2/R8), group licensing (R10) with its asynchronous processing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Duration;
use common::*;
use offboard::clock::Clock;
use offboard::ids::{GroupId, SkuId};
use offboard::steps::StepOutcome;
use serde_json::{Value, json};

const LIC_GROUP: &str = "5d1a7e02-96c4-4b3f-8e17-c2a9f0b6d4e8";
const DYN_GROUP: &str = "6e2b8f13-07d5-4c40-9f28-d3b0a1c7e5f9";

fn groups() -> Vec<Value> {
    vec![
        json!({"id": LIC_GROUP, "displayName": "Licensing - M365 E3", "licenses": ["SPE_E3", "POWER_BI_PRO"], "members": [DANA]}),
        json!({"id": DYN_GROUP, "displayName": "All Sales (dynamic)", "groupTypes": ["DynamicMembership"],
               "membershipRule": "user.department -eq \"Sales\"", "licenses": ["POWER_BI_PRO"], "members": []}),
    ]
}

async fn converted(patch: Value, groups: Vec<Value>) -> Harness {
    let mut h = Harness::from_json(scenario(patch, vec![], groups), DANA);
    done(h.step("01", "user.snapshot", json!({})).await);
    done(h.step("04", "mailbox.convert", json!({})).await);
    h
}

#[tokio::test]
async fn unconverted_mailbox_fails_r3_and_forwarding_blocks_r5() {
    let mut h = Harness::from_json(scenario(json!({}), vec![], vec![]), DANA);
    let o = h.step("07", "licenses.remove", json!({})).await;
    assert!(failed(&o).contains("R3"), "{o:?}");
    assert!(h.sim.user(DANA).unwrap().holds_sku(&SkuId::new(E3)));

    let mut h = Harness::from_json(
        scenario(
            json!({"mailbox": {"forwardingSmtpAddress": "smtp:x@fabrikam.com"}}),
            vec![],
            vec![],
        ),
        DANA,
    );
    let o = h.step("07", "licenses.remove", json!({})).await;
    assert!(blocked(&o).contains("R5"), "{o:?}");
    assert!(h.sim.damage().is_empty());
}

#[tokio::test]
async fn direct_licenses_go_in_one_call_and_repeat_changes_nothing() {
    let mut h = converted(json!({"licenses": ["SPE_E3", "POWER_BI_PRO"]}), vec![]).await;
    let calls = h.sim.calls("assign_license");
    let r = done(h.step("07", "licenses.remove", json!({})).await);
    assert_eq!(h.sim.calls("assign_license") - calls, 1);
    assert_eq!(r.changed.len(), 1);
    assert_eq!(r.output["removed"].as_array().unwrap().len(), 2);
    assert!(h.sim.user(DANA).unwrap().assigned_licenses.is_empty());
    let again = done(h.step("07", "licenses.remove", json!({})).await);
    assert!(again.changed.is_empty());
    assert_eq!(h.sim.calls("assign_license") - calls, 1);
    // the snapshot lets the repeat still say what was removed
    assert_eq!(again.output["removed"].as_array().unwrap().len(), 2);
    assert!(h.sim.damage().is_empty(), "{:?}", h.sim.damage());
}

#[tokio::test]
async fn exchange_license_is_kept_for_large_archived_or_held_mailboxes() {
    let cases = [
        (json!({"type": "UserMailbox", "sizeGb": 62.0}), "50 GB"),
        (json!({"type": "UserMailbox", "archive": true}), "archive"),
        (
            json!({"type": "UserMailbox", "litigationHold": true}),
            "litigation hold",
        ),
    ];
    for (mailbox, why) in cases {
        let mut h = converted(json!({"licenses": ["EXCHANGEENTERPRISE", "SPE_E3", "POWER_BI_PRO"], "mailbox": mailbox}), vec![]).await;
        let r = done(h.step("07", "licenses.remove", json!({})).await);
        let kept = r.output["kept"].as_array().unwrap();
        assert_eq!(kept.len(), 1, "{why}: {kept:?}");
        assert!(
            kept[0]["reason"].as_str().unwrap().contains(why),
            "{kept:?}"
        );
        let user = h.sim.user(DANA).unwrap();
        assert_eq!(user.assigned_licenses.len(), 1);
        // both carry EXCHANGE_S_ENTERPRISE; the standalone Exchange SKU is kept, not the suite
        assert_eq!(user.assigned_licenses[0].sku_id.as_str(), EXO2);
        assert!(h.sim.damage().is_empty(), "{why}: {:?}", h.sim.damage());
    }
}

#[tokio::test]
async fn group_license_polls_until_processing_and_leaves_the_group() {
    let mut h = converted(json!({"licenses": []}), groups()).await;
    let started = h.clock.now();
    let first = h
        .step_since("07", "licenses.remove", json!({}), started)
        .await;
    let until = match first {
        StepOutcome::WaitUntil { until, reason, .. } => {
            assert!(reason.contains("R10"), "{reason}");
            until
        }
        other => panic!("expected WaitUntil, got {other:?}"),
    };
    assert!(h.sim.group_members(&GroupId::new(LIC_GROUP)).is_empty());
    h.clock.advance_to(until);
    let mut outcome = h
        .step_since("07", "licenses.remove", json!({}), started)
        .await;
    for _ in 0..10 {
        if let StepOutcome::WaitUntil { until, .. } = outcome {
            h.clock.advance_to(until);
            outcome = h
                .step_since("07", "licenses.remove", json!({}), started)
                .await;
        }
    }
    let r = done(outcome);
    assert!(h.sim.user(DANA).unwrap().assigned_licenses.is_empty());
    assert_eq!(r.output["leftGroups"][0]["name"], "Licensing - M365 E3");
    let removed = r.output["removed"].as_array().unwrap();
    assert!(removed.iter().all(|x| x["via"] == "group"), "{removed:?}");
    assert!(h.sim.damage().is_empty(), "{:?}", h.sim.damage());
}

#[tokio::test]
async fn group_license_that_never_goes_fails_after_two_hours() {
    let mut h = converted(json!({"licenses": []}), groups()).await;
    let started = h.clock.now() - Duration::hours(3);
    let o = h
        .step_since("07", "licenses.remove", json!({}), started)
        .await;
    assert!(failed(&o).contains("still holds"), "{o:?}");
}

#[tokio::test]
async fn dynamic_licensing_group_blocks_naming_the_group() {
    let mut g = groups();
    g[1]["members"] = json!([DANA]);
    let mut h = converted(json!({}), g).await;
    let o = h.step("07", "licenses.remove", json!({})).await;
    let why = blocked(&o);
    assert!(
        why.contains("All Sales (dynamic)") && why.contains("dynamic membership"),
        "{why}"
    );
    // nothing was changed before blocking
    assert!(h.sim.user(DANA).unwrap().holds_sku(&SkuId::new(E3)));
    assert_eq!(h.sim.group_members(&GroupId::new(LIC_GROUP)).len(), 1);
}

#[tokio::test]
async fn direct_and_group_copy_of_the_same_sku_both_go() {
    let mut h = converted(json!({"licenses": ["SPE_E3"]}), groups()).await;
    let started = h.clock.now();
    let mut o = h
        .step_since("07", "licenses.remove", json!({}), started)
        .await;
    while let StepOutcome::WaitUntil { until, .. } = o {
        h.clock.advance_to(until);
        o = h
            .step_since("07", "licenses.remove", json!({}), started)
            .await;
    }
    let r = done(o);
    assert!(
        h.sim.user(DANA).unwrap().assigned_licenses.is_empty(),
        "{r:?}"
    );
    assert!(h.sim.damage().is_empty(), "{:?}", h.sim.damage());
}
