//! Leaver steps against the simulated tenant: snapshot, disable, revoke, convert, delete.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Duration;
use common::*;
use offboard::clock::Clock;
use offboard::steps::{Snapshot, StepOutcome};
use offboard::tenant::MailboxType;
use offboard::tenant::sim::SimFaults;
use serde_json::{Value, json};

fn dana() -> Harness {
    Harness::from_json(scenario(json!({}), vec![], vec![]), DANA)
}

#[tokio::test]
async fn snapshot_records_user_licenses_manager_mailbox_and_drive() {
    let mut h = dana();
    let r = done(h.step("01", "user.snapshot", json!({})).await);
    assert!(r.changed.is_empty());
    assert_eq!(r.output["upn"], DANA);
    let snap: Snapshot = serde_json::from_value(r.output["snapshot"].clone()).unwrap();
    assert!(snap.account_enabled);
    assert_eq!(snap.licenses.len(), 1);
    assert_eq!(snap.licenses[0].sku_part_number, "SPE_E3");
    assert_eq!(snap.manager.as_ref().unwrap().upn, SAM);
    let mb = snap.mailbox.as_ref().unwrap();
    assert_eq!(mb.mailbox.recipient_type_details, MailboxType::UserMailbox);
    assert!(mb.auto_reply.is_some());
    assert_eq!(snap.drive_id.as_ref().unwrap().as_str(), "b!dana");
    // a repeat re-reads the same state
    let again = done(h.step("01", "user.snapshot", json!({})).await);
    assert_eq!(
        again.output["snapshot"]["licenses"],
        r.output["snapshot"]["licenses"]
    );
}

#[tokio::test]
async fn disable_then_repeat_changes_nothing() {
    let mut h = dana();
    let r = done(h.step("02", "user.disable", json!({})).await);
    assert_eq!(r.changed.len(), 1);
    assert!(!h.sim.user(DANA).unwrap().account_enabled);
    let again = done(h.step("02", "user.disable", json!({})).await);
    assert!(again.changed.is_empty());
    assert_eq!(again.output["userId"], r.output["userId"]);
}

#[tokio::test]
async fn synced_user_is_blocked_at_disable_r9() {
    let mut h = Harness::from_json(
        scenario(json!({"onPremisesSyncEnabled": true}), vec![], vec![]),
        DANA,
    );
    let o = h.step("02", "user.disable", json!({})).await;
    assert!(blocked(&o).contains("on-premises AD"), "{o:?}");
    assert!(h.sim.user(DANA).unwrap().account_enabled);
}

#[tokio::test]
async fn revoke_before_disable_fails_r16_and_after_is_idempotent() {
    let mut h = dana();
    let o = h.step("03", "sessions.revoke", json!({})).await;
    assert!(failed(&o).contains("R16"));
    done(h.step("02", "user.disable", json!({})).await);
    let started = h.clock.now();
    let r = done(
        h.step_since("03", "sessions.revoke", json!({}), started)
            .await,
    );
    assert_eq!(r.changed.len(), 1);
    let t = h
        .sim
        .user(DANA)
        .unwrap()
        .sign_in_sessions_valid_from
        .unwrap();
    assert!(t >= started);
    h.clock.advance(Duration::seconds(5));
    let again = done(
        h.step_since("03", "sessions.revoke", json!({}), started)
            .await,
    );
    assert!(again.changed.is_empty());
    assert_eq!(
        h.sim
            .user(DANA)
            .unwrap()
            .sign_in_sessions_valid_from
            .unwrap(),
        t
    );
}

#[tokio::test]
async fn convert_grants_manager_sets_reply_hides_and_repeat_is_a_no_op() {
    let mut h = dana();
    done(h.step("01", "user.snapshot", json!({})).await);
    let params = json!({"auto_reply": "Dana has left. Please contact Sam."});
    let r = done(h.step("04", "mailbox.convert", params.clone()).await);
    assert_eq!(r.changed.len(), 4, "{:?}", r.changed);
    let mb = h.sim.mailbox(DANA).unwrap();
    assert_eq!(mb.recipient_type_details, MailboxType::SharedMailbox);
    assert!(mb.hidden_from_address_lists_enabled);
    assert_eq!(r.output["managerGranted"], SAM);
    assert_eq!(r.output["convertedToShared"], true);
    assert_eq!(r.output["autoReplySet"], true);
    assert_eq!(r.output["hidden"], true);
    let again = done(h.step("04", "mailbox.convert", params).await);
    assert!(again.changed.is_empty(), "{:?}", again.changed);
    // relative to the snapshot, the repeat still reports what the run added
    assert_eq!(again.output["managerGranted"], SAM);
    assert_eq!(again.output["convertedToShared"], true);
    assert!(h.sim.damage().is_empty(), "{:?}", h.sim.damage());
}

#[tokio::test]
async fn convert_without_mailbox_or_manager_notes_it() {
    let mut h = Harness::from_json(
        scenario(
            json!({"licenses": ["POWER_BI_PRO"], "mailbox": null}),
            vec![],
            vec![],
        ),
        DANA,
    );
    let r = done(h.step("04", "mailbox.convert", json!({})).await);
    assert!(r.changed.is_empty());
    assert_eq!(r.output["mailbox"], Value::Null);

    let mut h = Harness::from_json(scenario(json!({"manager": null}), vec![], vec![]), DANA);
    let r = done(h.step("04", "mailbox.convert", json!({})).await);
    assert_eq!(r.output["managerGranted"], Value::Null);
    assert!(
        r.output["notes"][0]
            .as_str()
            .unwrap()
            .contains("no manager")
    );
}

#[tokio::test]
async fn throttling_becomes_retry_with_retry_after() {
    let mut h = dana();
    h.sim.set_faults(SimFaults {
        throttle_rate: 1.0,
        retry_after_ms: 7000,
        seed: 1,
        ..SimFaults::default()
    });
    match h.step("02", "user.disable", json!({})).await {
        StepOutcome::Retry { after, reason } => {
            assert_eq!(after, Some(std::time::Duration::from_millis(7000)));
            assert!(reason.contains(DANA), "{reason}");
        }
        other => panic!("expected Retry, got {other:?}"),
    }
}

#[tokio::test]
async fn delete_then_repeat_reports_the_deletion_time() {
    let mut h = Harness::from_json(scenario(json!({"drive": null}), vec![], vec![]), DANA);
    let r = done(h.step("09", "user.delete", json!({})).await);
    assert_eq!(r.changed.len(), 1);
    let deleted = h.sim.deleted_user(DANA).unwrap();
    assert_eq!(
        r.output["deletedDateTime"],
        json!(deleted.deleted_date_time)
    );
    h.clock.advance(Duration::minutes(3));
    let again = done(h.step("09", "user.delete", json!({})).await);
    assert!(again.changed.is_empty());
    assert_eq!(again.output["deletedDateTime"], r.output["deletedDateTime"]);
    assert!(h.sim.damage().is_empty());
}

#[tokio::test]
async fn delete_is_blocked_for_synced_shared_forwarding_and_unsaved_onedrive() {
    let cases = [
        (
            json!({"onPremisesSyncEnabled": true, "drive": null}),
            "on-premises AD",
        ),
        (
            json!({"mailbox": {"type": "SharedMailbox"}, "licenses": [], "drive": null}),
            "R4",
        ),
        (
            json!({"mailbox": {"forwardingSmtpAddress": "smtp:x@fabrikam.com"}, "drive": null}),
            "forwards",
        ),
        (json!({}), "R6"),
    ];
    for (patch, why) in cases {
        let mut h = Harness::from_json(scenario(patch.clone(), vec![], vec![]), DANA);
        let o = h.step("09", "user.delete", json!({})).await;
        assert!(blocked(&o).contains(why), "{patch}: {o:?}");
        assert!(h.sim.user(DANA).is_some(), "{patch}: deleted anyway");
    }
}

#[tokio::test]
async fn delete_after_verified_backup_or_grant_or_onedrive_none() {
    let mut h = dana();
    done(h.step("05", "onedrive.backup", json!({})).await);
    done(h.step("09", "user.delete", json!({})).await);
    assert!(h.sim.damage().is_empty(), "{:?}", h.sim.damage());

    let mut h = dana();
    done(h.step("06", "onedrive.grant", json!({})).await);
    done(h.step("09", "user.delete", json!({})).await);
    assert!(h.sim.damage().is_empty(), "{:?}", h.sim.damage());

    let mut h = dana();
    done(
        h.step("09", "user.delete", json!({"onedrive": "none"}))
            .await,
    );
    assert!(h.sim.deleted_user(DANA).is_some());
}

#[tokio::test]
async fn lost_responses_are_retried_until_done_without_damage() {
    let mut h = Harness::from_json(scenario(json!({"drive": null}), vec![], vec![]), DANA);
    h.sim.set_faults(SimFaults {
        lost_response_rate: 0.15,
        seed: 3,
        ..SimFaults::default()
    });
    let mut total_retries = 0;
    for (id, action) in [
        ("02", "user.disable"),
        ("03", "sessions.revoke"),
        ("04", "mailbox.convert"),
        ("09", "user.delete"),
    ] {
        let started = h.clock.now();
        let mut retries = 0;
        loop {
            match h.step_since(id, action, json!({}), started).await {
                StepOutcome::Done(_) => break,
                StepOutcome::Retry { .. } => retries += 1,
                other if action == "user.delete" => {
                    // the converted mailbox is shared: R4 must stop the delete
                    assert!(blocked(&other).contains("R4"), "{other:?}");
                    break;
                }
                other => panic!("{action}: {other:?}"),
            }
            assert!(retries < 50, "{action} never finished");
        }
        total_retries += retries;
    }
    assert!(total_retries > 0, "no response was lost");
    h.sim.set_faults(SimFaults::default());
    let user = h.sim.user(DANA).unwrap();
    assert!(!user.account_enabled);
    assert_eq!(
        h.sim.mailbox(DANA).unwrap().recipient_type_details,
        MailboxType::SharedMailbox
    );
    assert!(h.sim.damage().is_empty(), "{:?}", h.sim.damage());
}
