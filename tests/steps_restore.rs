//! Restore steps against the simulated tenant, with the leaver as the ledger shows it: each
//! undoes once and changes nothing when repeated; a deleted account waits for a seat (and
//! for runs ahead in line) before it comes back; settings changed since the leaver, or that
//! were already so before it, stay; without a snapshot nothing is guessed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use offboard::clock::Clock;
use offboard::ids::{RunId, SkuId, UserId};
use offboard::steps::{PriorRun, PriorStep, StepOutcome};
use offboard::tenant::{AssignedLicense, AutoReply, MailboxType, Tenant};
use serde_json::{Value, json};

const DANA_ID: &str = "3b9f6c1e-8a24-4d57-b0e3-6f2c91d4a8b5";

/// Runs leaver steps `(id, action, params)` and returns them as the earlier run a restore
/// sees; the harness's outputs are cleared for the restore's own steps.
async fn leaver(h: &mut Harness, steps: &[(&str, &str, Value)]) -> PriorRun {
    let mut prior = Vec::new();
    for (id, action, params) in steps {
        let o = h.step(id, action, params.clone()).await;
        let (status, output) = match o {
            StepOutcome::Done(r) => ("succeeded", r.output),
            StepOutcome::Failed { .. } => ("failed", Value::Null),
            StepOutcome::Blocked { .. } => ("blocked", Value::Null),
            _ => ("waiting", Value::Null),
        };
        prior.push(PriorStep {
            id: id.to_string(),
            action: action.to_string(),
            status: status.into(),
            attempts: 1,
            output,
        });
    }
    h.outputs.clear();
    let status = if prior.iter().all(|s| s.status == "succeeded") {
        "succeeded"
    } else {
        "failed"
    };
    PriorRun {
        id: RunId::new(),
        workflow: "leaver".into(),
        status: status.into(),
        created_at: h.clock.now(),
        steps: prior,
    }
}

fn dana(patch: Value) -> Harness {
    Harness::from_json(scenario(patch, vec![], vec![]), DANA)
}

#[tokio::test]
async fn every_restore_step_undoes_once_and_changes_nothing_when_repeated() {
    let mut h = dana(json!({}));
    let p = leaver(
        &mut h,
        &[
            ("snapshot", "user.snapshot", json!({})),
            ("disable", "user.disable", json!({})),
            ("revoke", "sessions.revoke", json!({})),
            (
                "convert",
                "mailbox.convert",
                json!({"manager": SAM, "auto_reply": "Dana has left."}),
            ),
            ("licenses", "licenses.remove", json!({})),
        ],
    )
    .await;
    h.ledger.prior = vec![p];
    assert!(h.sim.user(DANA).unwrap().assigned_licenses.is_empty());

    let expected_changes = [
        ("account", "user.restore", 0),
        ("enable", "user.enable", 1),
        ("licenses", "licenses.restore", 1),
        ("mailbox", "mailbox.revert", 4),
    ];
    for (id, action, n) in expected_changes {
        let first = done(h.step(id, action, json!({})).await);
        assert_eq!(first.changed.len(), n, "{action}: {:?}", first.changed);
        let again = done(h.step(id, action, json!({})).await);
        assert!(
            again.changed.is_empty(),
            "{action} repeated: {:?}",
            again.changed
        );
        assert_eq!(again.output, first.output, "{action}");
    }
    let user = h.sim.user(DANA).unwrap();
    assert!(user.account_enabled);
    assert_eq!(user.direct_skus(), vec![SkuId::new(E3)]);
    let mb = h.sim.mailbox(DANA).unwrap();
    assert_eq!(mb.recipient_type_details, MailboxType::UserMailbox);
    assert!(!mb.hidden_from_address_lists_enabled);
    let perms = h
        .sim
        .get_mailbox_permissions(&UserId::new(DANA_ID))
        .await
        .unwrap();
    assert!(perms.iter().all(|p| p.user != SAM), "{perms:?}");
    assert!(h.sim.damage().is_empty(), "{:?}", h.sim.damage());
}

#[tokio::test]
async fn a_deleted_account_comes_back_only_when_a_seat_is_free_and_nobody_is_ahead() {
    // no OneDrive, so nothing is lost by the delete (R6)
    let patch = json!({"licenses": ["SPE_E3", "POWER_BI_PRO"], "drive": null});
    let mut s = scenario(patch, vec![], vec![]);
    s["skus"][2]["prepaidUnits"]["enabled"] = json!(1);
    let mut h = Harness::from_json(s, DANA);
    let p = leaver(
        &mut h,
        &[
            ("snapshot", "user.snapshot", json!({})),
            ("disable", "user.disable", json!({})),
            ("delete", "user.delete", json!({})),
        ],
    )
    .await;
    h.ledger.prior = vec![p];
    // Dana's Power BI seat went to Sam while she was deleted.
    let sam = h.sim.user(SAM).unwrap().id;
    let pbi = AssignedLicense {
        sku_id: SkuId::new(PBI),
        disabled_plans: vec![],
    };
    h.sim.assign_license(&sam, &[pbi], &[]).await.unwrap();

    let line = format!("seat/{PBI}");
    match h.step("account", "user.restore", json!({})).await {
        StepOutcome::WaitUntil {
            reason,
            emit,
            lines,
            ..
        } => {
            assert!(reason.contains("POWER_BI_PRO"), "{reason}");
            assert_eq!(lines, vec![line.clone()]);
            assert_eq!(emit.len(), 1);
            assert_eq!(emit[0].kind, "seat.shortage");
            assert_eq!(emit[0].data["skuPartNumber"], "POWER_BI_PRO");
        }
        other => panic!("expected a wait for a seat, got {other:?}"),
    }
    assert!(
        h.sim.deleted_user(DANA).is_some(),
        "not restored while waiting"
    );

    h.sim
        .assign_license(&sam, &[], &[SkuId::new(PBI)])
        .await
        .unwrap();
    // One seat is free, but a run that arrived earlier waits for it.
    h.ledger.ahead.insert(line.clone(), 1);
    let o = h.step("account", "user.restore", json!({})).await;
    assert!(matches!(o, StepOutcome::WaitUntil { .. }), "{o:?}");
    h.ledger.ahead.clear();
    let r = done(h.step("account", "user.restore", json!({})).await);
    assert_eq!(r.output["restored"], true);
    assert_eq!(r.facts.len(), 1, "a purge request is dropped");
    let user = h.sim.user(DANA).unwrap();
    assert!(user.holds_sku(&SkuId::new(PBI)));
    assert!(h.sim.damage().is_empty(), "{:?}", h.sim.damage());
}

#[tokio::test]
async fn an_auto_reply_changed_since_the_leaver_stays() {
    let mut h = dana(json!({}));
    let p = leaver(
        &mut h,
        &[
            ("snapshot", "user.snapshot", json!({})),
            (
                "convert",
                "mailbox.convert",
                json!({"auto_reply": "Dana has left."}),
            ),
        ],
    )
    .await;
    h.ledger.prior = vec![p];
    let dana = UserId::new(DANA_ID);
    let later = AutoReply {
        status: "alwaysEnabled".into(),
        external_audience: "all".into(),
        internal_reply_message: "Write to Sam about Dana's clients.".into(),
        external_reply_message: "Write to Sam.".into(),
    };
    h.sim.set_auto_reply(&dana, &later).await.unwrap();

    done(h.step("account", "user.restore", json!({})).await);
    let r = done(h.step("mailbox", "mailbox.revert", json!({})).await);
    assert!(
        r.output["notes"].to_string().contains("changed since"),
        "{}",
        r.output
    );
    assert_eq!(h.sim.get_auto_reply(&dana).await.unwrap(), later);
    assert_eq!(
        h.sim.mailbox(DANA).unwrap().recipient_type_details,
        MailboxType::UserMailbox
    );
}

#[tokio::test]
async fn sign_in_blocked_before_the_leaver_stays_blocked() {
    let mut h = dana(json!({"accountEnabled": false}));
    let p = leaver(
        &mut h,
        &[
            ("snapshot", "user.snapshot", json!({})),
            ("disable", "user.disable", json!({})),
        ],
    )
    .await;
    h.ledger.prior = vec![p];
    done(h.step("account", "user.restore", json!({})).await);
    let r = done(h.step("enable", "user.enable", json!({})).await);
    assert!(r.changed.is_empty());
    assert!(
        r.output["notes"]
            .to_string()
            .contains("already blocked before the leaver")
    );
    assert!(!h.sim.user(DANA).unwrap().account_enabled);
}

#[tokio::test]
async fn without_a_snapshot_a_leaver_that_changed_the_account_blocks_the_undo() {
    let mut h = dana(json!({}));
    let mut p = leaver(&mut h, &[("disable", "user.disable", json!({}))]).await;
    p.steps.insert(
        0,
        PriorStep {
            id: "snapshot".into(),
            action: "user.snapshot".into(),
            status: "pending".into(),
            attempts: 0,
            output: Value::Null,
        },
    );
    h.ledger.prior = vec![p];
    let r = done(h.step("account", "user.restore", json!({})).await);
    assert_eq!(r.output["restored"], false);
    let o = h.step("enable", "user.enable", json!({})).await;
    let reason = blocked(&o);
    assert!(reason.contains("no snapshot"), "{reason}");
    assert!(reason.contains(DANA), "{reason}");
    assert!(
        !h.sim.user(DANA).unwrap().account_enabled,
        "nothing guessed"
    );
}

#[tokio::test]
async fn a_leaver_already_undone_by_a_restore_is_not_undone_again() {
    let mut h = dana(json!({}));
    let p = leaver(
        &mut h,
        &[
            ("snapshot", "user.snapshot", json!({})),
            ("disable", "user.disable", json!({})),
        ],
    )
    .await;
    let earlier_restore = PriorRun {
        id: RunId::new(),
        workflow: "restore".into(),
        status: "succeeded".into(),
        created_at: h.clock.now(),
        steps: vec![PriorStep {
            id: "account".into(),
            action: "user.restore".into(),
            status: "succeeded".into(),
            attempts: 1,
            output: json!({}),
        }],
    };
    let restore_id = earlier_restore.id;
    // newest first: the restore came after the leaver; sign-in was blocked again since
    h.ledger.prior = vec![earlier_restore, p];
    done(h.step("account", "user.restore", json!({})).await);
    let r = done(h.step("enable", "user.enable", json!({})).await);
    assert!(r.changed.is_empty());
    assert!(
        r.output["notes"]
            .to_string()
            .contains(&format!("already undone by restore run {restore_id}")),
        "{}",
        r.output
    );
    assert!(!h.sim.user(DANA).unwrap().account_enabled);
}
