//! The full leaver sequence over every user of `examples/tenant.json`, in both variants
//! (mailbox kept as shared; account deleted), with the expected end state or blocked reason
//! per user, and no silent damage in the simulated tenant.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use offboard::steps::StepOutcome;
use offboard::tenant::MailboxType;
use offboard::tenant::sim::SimTenant;
use serde_json::{Value, json};

/// How a leaver run ended: every step done, or the first step that did not finish.
#[derive(Debug)]
enum End {
    Succeeded,
    Stopped(&'static str, StepOutcome),
}

async fn run_steps(h: &mut Harness, steps: &[(&'static str, &'static str, Value)]) -> End {
    for (id, action, params) in steps {
        let started = offboard::clock::Clock::now(&h.clock);
        let mut out = h.step_since(id, action, params.clone(), started).await;
        let mut polls = 0;
        while let StepOutcome::WaitUntil { until, .. } = out {
            polls += 1;
            assert!(polls < 1000, "{action} keeps waiting");
            h.clock.advance_to(until);
            out = h.step_since(id, action, params.clone(), started).await;
        }
        if !matches!(out, StepOutcome::Done(_)) {
            return End::Stopped(action, out);
        }
    }
    End::Succeeded
}

fn upns() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tenant.json");
    let s = SimTenant::load_scenario(&path).unwrap();
    s.users
        .iter()
        .map(|u| u.user_principal_name.clone())
        .collect()
}

fn shared_steps() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("01-snapshot", "user.snapshot", json!({})),
        ("02-disable", "user.disable", json!({})),
        ("03-revoke", "sessions.revoke", json!({})),
        (
            "04-convert",
            "mailbox.convert",
            json!({"auto_reply": "I have left Contoso."}),
        ),
        ("05-backup", "onedrive.backup", json!({})),
        ("06-licenses", "licenses.remove", json!({})),
    ]
}

fn delete_steps() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("01-snapshot", "user.snapshot", json!({})),
        ("02-disable", "user.disable", json!({})),
        ("03-revoke", "sessions.revoke", json!({})),
        ("05-backup", "onedrive.backup", json!({})),
        ("09-delete", "user.delete", json!({"onedrive": "backup"})),
    ]
}

/// The step that must stop the run, and words its reason must contain; `None` = succeeds.
fn expected_stop(upn: &str, variant: &str) -> Option<(&'static str, &'static str)> {
    match (upn.split('@').next().unwrap(), variant) {
        ("sid.meyer", _) => Some(("user.disable", "on-premises AD")),
        ("dylan.park", "shared") => Some(("licenses.remove", "Sales - dynamic")),
        ("fred.fischer", "delete") => Some(("user.delete", "forwards")),
        ("info", "delete") => Some(("user.delete", "R4")),
        _ => None,
    }
}

async fn check_variant(variant: &str) {
    let upns = upns();
    assert!(upns.len() >= 12, "{upns:?}");
    for upn in upns {
        let mut h = Harness::example(&upn);
        let steps = if variant == "shared" {
            shared_steps()
        } else {
            delete_steps()
        };
        let end = run_steps(&mut h, &steps).await;
        match (expected_stop(&upn, variant), &end) {
            (None, End::Succeeded) => {}
            (Some((step, why)), End::Stopped(action, StepOutcome::Blocked { reason })) => {
                assert_eq!(step, *action, "{upn}: {reason}");
                assert!(reason.contains(why), "{upn}: {reason}");
                assert!(
                    reason.contains(&upn),
                    "{upn}: the reason must name the user: {reason}"
                );
            }
            (want, got) => panic!("{variant} leaver of {upn}: expected {want:?}, got {got:?}"),
        }
        if matches!(end, End::Succeeded) {
            check_end_state(&h, &upn, variant);
        }
        assert!(
            h.sim.damage().is_empty(),
            "{variant} leaver of {upn}: {:?}",
            h.sim.damage()
        );
    }
}

fn check_end_state(h: &Harness, upn: &str, variant: &str) {
    if variant == "delete" {
        assert!(h.sim.user(upn).is_none(), "{upn} still active");
        assert!(
            h.sim.deleted_user(upn).is_some(),
            "{upn} not in deleted items"
        );
        return;
    }
    let user = h.sim.user(upn).unwrap();
    assert!(!user.account_enabled, "{upn}");
    let needs_license =
        ["lena.hofmann", "max.berg", "ari.khan"].contains(&upn.split('@').next().unwrap());
    if let Some(mb) = h.sim.mailbox(upn) {
        assert_eq!(
            mb.recipient_type_details,
            MailboxType::SharedMailbox,
            "{upn}"
        );
        assert!(mb.hidden_from_address_lists_enabled, "{upn}");
    }
    if needs_license {
        assert_eq!(
            user.assigned_licenses.len(),
            1,
            "{upn}: {:?}",
            user.assigned_licenses
        );
        let sku = &user.assigned_licenses[0].sku_id;
        assert!(
            h.sim.sku("SPE_E3").unwrap().sku_id == *sku
                || h.sim.sku("EXCHANGEENTERPRISE").unwrap().sku_id == *sku
        );
    } else {
        assert!(
            user.assigned_licenses.is_empty(),
            "{upn}: {:?}",
            user.assigned_licenses
        );
    }
}

#[tokio::test]
async fn leaver_keeping_the_shared_mailbox_for_every_example_user() {
    check_variant("shared").await;
}

#[tokio::test]
async fn leaver_deleting_the_account_for_every_example_user() {
    check_variant("delete").await;
}
