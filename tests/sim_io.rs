#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The simulated tenant: delta paging, fault injection, persistence and scenario files.

mod sim_common;

use chrono::Duration;
use offboard::clock::SimClock;
use offboard::ids::{DriveId, GroupId, SkuId};
use offboard::tenant::sim::{Scenario, SimError, SimFaults, SimTenant};
use offboard::tenant::{ErrorKind, Tenant};
use sha2::{Digest, Sha256};
use sim_common::*;
use std::path::Path;

#[tokio::test]
async fn delta_pages_through_the_drive_and_hashes_match_content() {
    let t = tenant();
    t.set_delta_page_size(2);
    let dana = uid(&t, "dana.lee@contoso.com");
    let drive = t.get_drive(&dana).await.unwrap();
    let (mut items, mut pages, mut link) = (Vec::new(), 0, None);
    let delta = loop {
        let page = t.drive_delta(&drive.id, link.as_deref()).await.unwrap();
        pages += 1;
        assert!(page.next_link.is_some() != page.delta_link.is_some());
        assert!(page.items.len() <= 2);
        items.extend(page.items);
        match (page.next_link, page.delta_link) {
            (Some(n), _) => link = Some(n),
            (None, d) => break d.unwrap(),
        }
    };
    assert_eq!(items.len(), 12, "root + 6 folders + 5 files");
    assert_eq!(pages, 6);
    assert!(items[0].is_root);
    let big = items.iter().find(|i| i.name == "budget.xlsx").unwrap();
    assert_eq!(big.size, 1_048_576);
    let bytes = t.download(&drive.id, &big.id).await.unwrap();
    assert_eq!(bytes.len(), 1_048_576);
    assert_eq!(
        big.hashes.sha256_hash.as_deref(),
        Some(hex::encode(Sha256::digest(&bytes)).as_str())
    );
    t.download(&drive.id, &big.id).await.unwrap();
    assert_eq!(t.downloads(&drive.id, &big.id), 2);
    let after = t.drive_delta(&drive.id, Some(&delta)).await.unwrap();
    assert!(after.items.is_empty() && after.delta_link.is_some());
    assert!(
        t.drive_delta(&drive.id, Some("https://example/?token=nonsense"))
            .await
            .is_err()
    );
    assert_eq!(
        kind(t.download(&drive.id, "nope").await),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(t.drive_delta(&DriveId::new("b!nope"), None).await),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn faults_throttle_transient_and_lost_responses() {
    let t = tenant();
    let dana = uid(&t, "dana.lee@contoso.com");
    t.set_faults(SimFaults {
        throttle_rate: 1.0,
        retry_after_ms: 1500,
        ..SimFaults::default()
    });
    let e = t.set_account_enabled(&dana, false).await.unwrap_err();
    assert_eq!(
        e.retry_after(),
        Some(std::time::Duration::from_millis(1500))
    );
    assert!(matches!(e.kind, ErrorKind::Throttled { .. }));
    assert!(
        t.user("dana.lee@contoso.com").unwrap().account_enabled,
        "throttled call changed nothing"
    );
    t.set_faults(SimFaults {
        transient_rate: 1.0,
        ..SimFaults::default()
    });
    assert!(matches!(
        kind(t.get_user("dana.lee@contoso.com").await),
        ErrorKind::Transient { .. }
    ));
    t.set_faults(SimFaults {
        lost_response_rate: 1.0,
        ..SimFaults::default()
    });
    let e = t.set_account_enabled(&dana, false).await.unwrap_err();
    assert!(e.is_retryable());
    assert!(
        !t.user("dana.lee@contoso.com").unwrap().account_enabled,
        "lost response still applied"
    );
    assert_eq!(t.calls("set_account_enabled"), 2);
    t.set_faults(SimFaults::default());
    t.set_account_enabled(&dana, true).await.unwrap();

    // the same seed gives the same sequence
    let seq = |seed| async move {
        let t = tenant();
        t.set_faults(SimFaults {
            throttle_rate: 0.3,
            transient_rate: 0.2,
            lost_response_rate: 0.1,
            retry_after_ms: 1,
            seed,
            latency_ms: 0,
        });
        let mut out = Vec::new();
        for _ in 0..40 {
            out.push(t.get_user("sam.ortiz@contoso.com").await.is_ok());
        }
        out
    };
    let a = seq(7).await;
    assert_eq!(a, seq(7).await);
    assert!(a.contains(&true) && a.contains(&false));
}

#[tokio::test]
async fn persistence_round_trip_keeps_state_counters_and_clock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tenant-state.json");
    let t = SimTenant::persistent(&path, scenario()).unwrap();
    assert!(path.exists());
    let dana = uid(&t, "dana.lee@contoso.com");
    t.set_account_enabled(&dana, false).await.unwrap();
    t.assign_license(&dana, &[], &[SkuId::new(E3)])
        .await
        .unwrap();
    let drive = t
        .get_drive(&uid(&t, "nora.vidal@contoso.com"))
        .await
        .unwrap();
    let file = t
        .drive_delta(&drive.id, None)
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|i| !i.is_folder)
        .unwrap();
    t.download(&drive.id, &file.id).await.unwrap();
    t.clock().advance(Duration::days(2));
    t.remove_group_member(&GroupId::new(LIC_GROUP), &uid(&t, "gina.rossi@contoso.com"))
        .await
        .unwrap();
    let fp = t.fingerprint();
    let offset = t.clock().offset_ms();
    drop(t);

    // a different scenario is ignored: the state file wins
    let reloaded = SimTenant::persistent(&path, Scenario::default()).unwrap();
    assert_eq!(reloaded.fingerprint(), fp);
    assert_eq!(reloaded.clock().offset_ms(), offset);
    assert!(offset >= Duration::days(2).num_milliseconds());
    assert_eq!(reloaded.downloads(&drive.id, &file.id), 1);
    assert_eq!(reloaded.damage().len(), 1);
    assert!(
        !reloaded
            .user("dana.lee@contoso.com")
            .unwrap()
            .account_enabled
    );
    // pending group licensing survives and completes after the delay
    reloaded.clock().advance(Duration::seconds(61));
    assert!(
        !reloaded
            .user("gina.rossi@contoso.com")
            .unwrap()
            .holds_sku(&SkuId::new(E3))
    );
}

#[test]
fn bad_scenarios_fail_with_file_and_reason() {
    let e = SimTenant::load_scenario(Path::new("/nonexistent/tenant.json")).unwrap_err();
    assert!(
        matches!(e, SimError::Read { .. }) && e.to_string().contains("/nonexistent/tenant.json")
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.json");
    std::fs::write(&p, r#"{"tenant": "x", "userz": []}"#).unwrap();
    let e = SimTenant::load_scenario(&p).unwrap_err();
    assert!(matches!(e, SimError::Parse { .. }) && e.to_string().contains("bad.json"));
    let mut s = scenario();
    s.users[0].manager = Some("ghost@contoso.com".into());
    let e = SimTenant::from_scenario(s, SimClock::new()).unwrap_err();
    assert!(e.to_string().contains("ghost@contoso.com"), "{e}");
    let mut s = scenario();
    s.groups[0].licenses = vec!["NOPE".into()];
    assert!(SimTenant::from_scenario(s, SimClock::new()).is_err());
}

#[tokio::test]
async fn group_license_without_a_free_seat_is_a_count_violation() {
    let mut s = scenario();
    let e3 = s
        .skus
        .iter_mut()
        .find(|k| k.sku_part_number == "SPE_E3")
        .unwrap();
    e3.other_consumed_units = 39; // 39 + 11 = 50: no free seat
    let t = SimTenant::from_scenario(s, SimClock::new()).unwrap();
    assert_eq!(t.sku("SPE_E3").unwrap().free_units(), 0);
    let otto = uid(&t, "otto.lang@contoso.com");
    t.add_group_member(&GroupId::new(LIC_GROUP), &otto)
        .await
        .unwrap();
    t.clock().advance(Duration::seconds(60));
    let u = t.get_user(otto.as_str()).await.unwrap();
    assert!(!u.holds_sku(&SkuId::new(E3)));
    let st = u
        .license_assignment_states
        .iter()
        .find(|s| s.sku_id.as_str() == E3)
        .unwrap();
    assert_eq!(
        (st.state.as_str(), st.error.as_deref()),
        ("Error", Some("CountViolation"))
    );
    assert_eq!(t.sku("SPE_E3").unwrap().consumed_units, 50);
}

#[tokio::test]
async fn every_mutation_is_on_disk_before_the_call_returns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let t = SimTenant::persistent(&path, scenario()).unwrap();
    let sam = uid(&t, "sam.ortiz@contoso.com");
    t.add_mailbox_full_access(&uid(&t, "dana.lee@contoso.com"), "nora.vidal@contoso.com")
        .await
        .unwrap();
    t.set_forwarding(&sam, Some("smtp:dana.lee@contoso.com"))
        .await
        .unwrap();
    // a second process opening the file now (the first one still alive, as after kill -9)
    let other = SimTenant::persistent(&path, scenario()).unwrap();
    assert_eq!(other.fingerprint(), t.fingerprint());
    assert_eq!(
        other
            .mailbox("sam.ortiz@contoso.com")
            .unwrap()
            .forwarding_smtp_address
            .as_deref(),
        Some("smtp:dana.lee@contoso.com")
    );
    assert_eq!(other.calls("set_forwarding"), 1);
}

#[tokio::test]
async fn synced_user_mailbox_cannot_be_hidden_in_the_cloud_but_others_can() {
    let t = tenant();
    let sid = uid(&t, "sid.meyer@contoso.com");
    assert_eq!(
        kind(t.set_hidden_from_address_lists(&sid, true).await),
        ErrorKind::OnPremisesMastered
    );
    let dana = uid(&t, "dana.lee@contoso.com");
    t.set_hidden_from_address_lists(&dana, true).await.unwrap();
    assert!(
        t.get_mailbox(&dana)
            .await
            .unwrap()
            .hidden_from_address_lists_enabled
    );
    t.remove_mailbox_full_access(&dana, "sam.ortiz@contoso.com")
        .await
        .unwrap();
    t.remove_mailbox_full_access(&dana, "sam.ortiz@contoso.com")
        .await
        .unwrap();
    let perms = t.get_mailbox_permissions(&dana).await.unwrap();
    assert!(!perms.iter().any(|p| p.user == "sam.ortiz@contoso.com"));
}
