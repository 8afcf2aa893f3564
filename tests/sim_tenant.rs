#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The simulated tenant behaves like Microsoft 365: errors, idempotency, seats, group
//! licensing delay, silent damage, purge, delta paging, faults and persistence.

use chrono::Duration;
use offboard::clock::{Clock, SimClock};
use offboard::ids::{DriveId, GroupId, SkuId, UserId};
use offboard::tenant::sim::{Scenario, SimError, SimFaults, SimTenant};
use offboard::tenant::{AssignedLicense, AutoReply, ErrorKind, MailboxType, Tenant, TenantError};
use sha2::{Digest, Sha256};
use std::path::Path;

const E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";
const SPB: &str = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46";
const EXO2: &str = "19ec0d23-8335-4cbd-94ac-6050e30712fa";
const PBI: &str = "f8a1db68-be16-40ed-86d5-cb42ce701560";
const LIC_GROUP: &str = "5d1a7e02-96c4-4b3f-8e17-c2a9f0b6d4e8";
const DYN_GROUP: &str = "b3d5f7a9-1c3e-4b5d-9f7a-1c3e5b7d9f02";
const FINANCE: &str = "9e2b1c44-0f7d-4a6b-b1e8-7c3d5a9f2e10";
const DL_GROUP: &str = "d7f9b1d3-5a7c-4e9f-b1d3-5a7c9e1f3b64";
const AD_GROUP: &str = "a1c3e5f7-2b4d-4c6e-8f0a-2b4d6f8a0c75";

fn scenario() -> Scenario {
    SimTenant::load_scenario(Path::new("examples/tenant.json")).unwrap()
}

fn tenant() -> SimTenant {
    SimTenant::from_scenario(scenario(), SimClock::new()).unwrap()
}

fn uid(t: &SimTenant, upn: &str) -> UserId {
    t.user(upn).unwrap_or_else(|| panic!("{upn} missing")).id
}

fn lic(sku: &str) -> AssignedLicense {
    AssignedLicense {
        sku_id: SkuId::new(sku),
        disabled_plans: vec![],
    }
}

fn kind(r: Result<impl std::fmt::Debug, TenantError>) -> ErrorKind {
    let e = r.expect_err("expected an error");
    assert!(e.request_id.is_some(), "error without request id: {e}");
    e.kind
}

fn consumed(t: &SimTenant, part: &str) -> i64 {
    t.sku(part).unwrap().consumed_units
}

fn rules(t: &SimTenant) -> Vec<String> {
    t.damage().into_iter().map(|d| d.rule).collect()
}

#[tokio::test]
async fn example_loads_with_seats_paths_and_roles() {
    let t = tenant();
    assert_eq!(consumed(&t, "SPE_E3"), 35 + 11);
    assert_eq!(t.sku("SPB").unwrap().free_units(), 0);
    assert_eq!(consumed(&t, "POWER_BI_PRO"), 6);
    let bo = t.user("bo.nilsen@contoso.com").unwrap();
    assert_eq!(bo.assigned_licenses.len(), 1);
    assert_eq!(bo.license_assignment_states.len(), 2);
    assert_eq!(
        bo.group_skus(),
        vec![(SkuId::new(E3), GroupId::new(LIC_GROUP))]
    );
    let dylan = t.user("dylan.park@contoso.com").unwrap();
    assert!(dylan.direct_skus().is_empty() && dylan.holds_sku(&SkuId::new(SPB)));
    let ada = uid(&t, "ada.admin@contoso.com");
    let roles = t.member_of(&ada).await.unwrap();
    assert!(roles.iter().any(|o| matches!(o,
        offboard::tenant::DirectoryObject::DirectoryRole { display_name, .. } if display_name == "Global Administrator")));
    assert!(t.damage().is_empty());
    assert!(t.mailbox("info@contoso.com").is_some());
    assert!(t.mailbox("jo.new@contoso.com").is_none());
}

#[tokio::test]
async fn user_lookup_errors_and_manager() {
    let t = tenant();
    let e = t.get_user("nobody@contoso.com").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(e.code, "Request_ResourceNotFound");
    assert!(e.message.contains("nobody@contoso.com"));
    let dana = t.get_user("DANA.LEE@contoso.com").await.unwrap();
    let m = t.get_manager(&dana.id).await.unwrap().unwrap();
    assert_eq!(m.user_principal_name, "sam.ortiz@contoso.com");
    let nora = uid(&t, "nora.vidal@contoso.com");
    assert_eq!(t.get_manager(&nora).await.unwrap(), None);
    t.delete_user(&dana.id).await.unwrap();
    assert_eq!(
        kind(t.get_user(dana.id.as_str()).await),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(t.set_account_enabled(&dana.id, false).await),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn synced_user_cannot_be_disabled_or_deleted_in_the_cloud() {
    let t = tenant();
    let sid = uid(&t, "sid.meyer@contoso.com");
    let e = t.set_account_enabled(&sid, false).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::OnPremisesMastered);
    assert!(
        e.message
            .starts_with("Unable to update the specified properties for on-premises mastered")
    );
    assert_eq!(
        kind(t.delete_user(&sid).await),
        ErrorKind::OnPremisesMastered
    );
    assert!(t.user("sid.meyer@contoso.com").unwrap().account_enabled);
    t.revoke_sign_in_sessions(&sid).await.unwrap();
}

#[tokio::test]
async fn assign_license_errors_carry_the_real_messages() {
    let t = tenant();
    let jo = uid(&t, "jo.new@contoso.com");
    assert_eq!(
        kind(t.assign_license(&jo, &[lic(E3)], &[]).await),
        ErrorKind::InvalidUsageLocation
    );
    t.set_usage_location(&jo, "GB").await.unwrap();
    assert_eq!(
        kind(t.set_usage_location(&jo, "Great Britain").await),
        ErrorKind::BadRequest
    );
    let e = t.assign_license(&jo, &[lic(SPB)], &[]).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NoFreeSeats);
    assert_eq!(
        e.message,
        format!("Subscription with SKU {SPB} does not have any available licenses.")
    );
    let bogus = "00000000-1111-2222-3333-444444444444";
    assert_eq!(
        kind(t.assign_license(&jo, &[lic(bogus)], &[]).await),
        ErrorKind::InvalidLicense
    );
    assert_eq!(
        kind(t.assign_license(&jo, &[], &[SkuId::new(E3)]).await),
        ErrorKind::NoCorrespondingLicense
    );
    let gina = uid(&t, "gina.rossi@contoso.com");
    let e = t
        .assign_license(&gina, &[], &[SkuId::new(E3)])
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::LicenseInheritedFromGroup);
    assert!(e.message.contains("inherited from a group membership"));
    // a failed call changes nothing
    assert!(
        t.user("jo.new@contoso.com")
            .unwrap()
            .assigned_licenses
            .is_empty()
    );
    assert!(t.damage().is_empty());
}

#[tokio::test]
async fn seats_one_per_user_per_sku_freed_by_delete_taken_by_restore() {
    let t = tenant();
    let jo = uid(&t, "jo.new@contoso.com");
    t.set_usage_location(&jo, "US").await.unwrap();
    let before = consumed(&t, "SPE_E3");
    t.assign_license(&jo, &[lic(E3)], &[]).await.unwrap();
    assert_eq!(consumed(&t, "SPE_E3"), before + 1);
    assert!(
        t.mailbox("jo.new@contoso.com").is_some(),
        "Exchange license provisions a mailbox"
    );
    // re-adding the same SKU takes no second seat
    t.assign_license(&jo, &[lic(E3)], &[]).await.unwrap();
    assert_eq!(consumed(&t, "SPE_E3"), before + 1);
    // bo holds E3 twice (direct + group) and uses one seat; removing direct keeps it
    let bo = uid(&t, "bo.nilsen@contoso.com");
    t.assign_license(&bo, &[], &[SkuId::new(E3)]).await.unwrap();
    assert_eq!(consumed(&t, "SPE_E3"), before + 1);
    assert!(
        t.user("bo.nilsen@contoso.com")
            .unwrap()
            .holds_sku(&SkuId::new(E3))
    );
    // fill the remaining seats, then the next add fails
    let free = t.sku("SPE_E3").unwrap().free_units();
    assert_eq!(free, 3);
    let nora = uid(&t, "nora.vidal@contoso.com");
    t.delete_user(&nora).await.unwrap();
    assert_eq!(consumed(&t, "SPE_E3"), before);
    t.restore_deleted_user(&nora).await.unwrap();
    assert_eq!(consumed(&t, "SPE_E3"), before + 1);
}

#[tokio::test]
async fn mover_swap_in_one_call_keeps_the_mailbox() {
    let t = tenant();
    let sam = uid(&t, "sam.ortiz@contoso.com");
    t.assign_license(&sam, &[lic(EXO2)], &[SkuId::new(E3)])
        .await
        .unwrap();
    let u = t.user("sam.ortiz@contoso.com").unwrap();
    assert!(u.holds_sku(&SkuId::new(EXO2)) && !u.holds_sku(&SkuId::new(E3)));
    assert!(t.mailbox("sam.ortiz@contoso.com").is_some());
    assert!(t.damage().is_empty());
}

#[tokio::test]
async fn group_membership_errors() {
    let t = tenant();
    let sam = uid(&t, "sam.ortiz@contoso.com");
    let dana = uid(&t, "dana.lee@contoso.com");
    let g = GroupId::new(FINANCE);
    let e = t.add_group_member(&g, &sam).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::AlreadyMember);
    assert!(e.message.contains("already exist"));
    t.remove_group_member(&g, &sam).await.unwrap();
    assert_eq!(
        kind(t.remove_group_member(&g, &sam).await),
        ErrorKind::NotMember
    );
    t.add_group_member(&g, &sam).await.unwrap();
    assert!(t.group_members(&g).contains(&sam));
    let e = t
        .remove_group_member(&GroupId::new(DL_GROUP), &dana)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::GroupNotEditable);
    assert!(e.message.contains("mail-enabled"));
    let dylan = uid(&t, "dylan.park@contoso.com");
    assert_eq!(
        kind(
            t.remove_group_member(&GroupId::new(DYN_GROUP), &dylan)
                .await
        ),
        ErrorKind::GroupNotEditable
    );
    assert_eq!(
        kind(t.remove_group_member(&GroupId::new(AD_GROUP), &dana).await),
        ErrorKind::OnPremisesMastered
    );
    assert!(t.group_members(&GroupId::new(DYN_GROUP)).contains(&dylan));
    let grp = t.get_group(&GroupId::new(DYN_GROUP)).await.unwrap();
    assert!(grp.not_editable_reason().is_some());
}

#[tokio::test]
async fn group_licensing_takes_effect_after_the_delay() {
    let t = tenant();
    let clock = t.clock();
    let gina = uid(&t, "gina.rossi@contoso.com");
    let g = GroupId::new(LIC_GROUP);
    let before = consumed(&t, "SPE_E3");
    t.remove_group_member(&g, &gina).await.unwrap();
    clock.advance(Duration::seconds(59));
    assert!(
        t.get_user(gina.as_str())
            .await
            .unwrap()
            .holds_sku(&SkuId::new(E3))
    );
    assert_eq!(consumed(&t, "SPE_E3"), before);
    clock.advance(Duration::seconds(2));
    let u = t.get_user(gina.as_str()).await.unwrap();
    assert!(!u.holds_sku(&SkuId::new(E3)));
    assert!(u.license_assignment_states.is_empty());
    assert_eq!(consumed(&t, "SPE_E3"), before - 1);
    // gina's user mailbox lost its only Exchange license: R3
    assert_eq!(rules(&t), vec!["R3"]);
    // joining takes a seat, also only after the delay
    let otto = uid(&t, "otto.lang@contoso.com");
    t.add_group_member(&g, &otto).await.unwrap();
    assert!(
        !t.user("otto.lang@contoso.com")
            .unwrap()
            .holds_sku(&SkuId::new(E3))
    );
    clock.advance(Duration::seconds(60));
    assert!(
        t.user("otto.lang@contoso.com")
            .unwrap()
            .holds_sku(&SkuId::new(E3))
    );
    assert_eq!(consumed(&t, "SPE_E3"), before);
}

#[tokio::test]
async fn mailbox_and_drive_absence_errors() {
    let t = tenant();
    let jo = uid(&t, "jo.new@contoso.com");
    assert_eq!(kind(t.get_mailbox(&jo).await), ErrorKind::MailboxNotEnabled);
    let e = t.get_auto_reply(&jo).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_str()),
        (ErrorKind::MailboxNotEnabled, "MailboxNotEnabledForRESTAPI")
    );
    assert_eq!(
        kind(t.set_mailbox_type(&jo, MailboxType::SharedMailbox).await),
        ErrorKind::MailboxNotEnabled
    );
    let otto = uid(&t, "otto.lang@contoso.com");
    let e = t.get_drive(&otto).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::DriveNotFound);
    assert_eq!(e.message, "User's mysite not found.");
}

#[tokio::test]
async fn idempotency_table_of_section_10() {
    let t = tenant();
    let dana = uid(&t, "dana.lee@contoso.com");
    t.set_account_enabled(&dana, false).await.unwrap();
    t.set_account_enabled(&dana, false).await.unwrap();
    t.revoke_sign_in_sessions(&dana).await.unwrap();
    let first = t
        .user("dana.lee@contoso.com")
        .unwrap()
        .sign_in_sessions_valid_from
        .unwrap();
    t.clock().advance(Duration::seconds(5));
    t.revoke_sign_in_sessions(&dana).await.unwrap();
    assert!(
        t.user("dana.lee@contoso.com")
            .unwrap()
            .sign_in_sessions_valid_from
            .unwrap()
            > first
    );
    let reply = AutoReply {
        status: "alwaysEnabled".into(),
        external_audience: "all".into(),
        internal_reply_message: "Dana has left.".into(),
        external_reply_message: "Dana has left.".into(),
    };
    t.set_auto_reply(&dana, &reply).await.unwrap();
    t.set_auto_reply(&dana, &reply).await.unwrap();
    assert_eq!(t.get_auto_reply(&dana).await.unwrap(), reply);
    t.set_mailbox_type(&dana, MailboxType::SharedMailbox)
        .await
        .unwrap();
    t.set_mailbox_type(&dana, MailboxType::SharedMailbox)
        .await
        .unwrap();
    t.add_mailbox_full_access(&dana, "sam.ortiz@contoso.com")
        .await
        .unwrap();
    let perms = t.get_mailbox_permissions(&dana).await.unwrap();
    assert_eq!(
        perms
            .iter()
            .filter(|p| p.user == "sam.ortiz@contoso.com")
            .count(),
        1
    );
    t.assign_license(&dana, &[], &[SkuId::new(PBI)])
        .await
        .unwrap();
    assert_eq!(
        kind(t.assign_license(&dana, &[], &[SkuId::new(PBI)]).await),
        ErrorKind::NoCorrespondingLicense
    );
    let drive = t.get_drive(&dana).await.unwrap();
    let root = t.drive_delta(&drive.id, None).await.unwrap().items[0]
        .id
        .clone();
    let p1 = t
        .invite(&drive.id, &root, "sam.ortiz@contoso.com", "write")
        .await
        .unwrap();
    let p2 = t
        .invite(&drive.id, &root, "sam.ortiz@contoso.com", "write")
        .await
        .unwrap();
    assert_eq!(p1, p2);
    assert_eq!(
        t.list_permissions(&drive.id, &root).await.unwrap(),
        vec![p1]
    );
    t.assign_license(&dana, &[], &[SkuId::new(E3)])
        .await
        .unwrap();
    // the shared mailbox is below 50 GB: losing the license is fine; deleting it is not tested here
    t.delete_user(&uid(&t, "jo.new@contoso.com")).await.unwrap();
    let jo = t.deleted_user("jo.new@contoso.com").unwrap().id;
    assert_eq!(kind(t.delete_user(&jo).await), ErrorKind::NotFound);
    assert!(t.get_deleted_user(&jo).await.is_ok());
    t.restore_deleted_user(&jo).await.unwrap();
    assert_eq!(kind(t.restore_deleted_user(&jo).await), ErrorKind::NotFound);
    t.delete_user(&jo).await.unwrap();
    t.purge_deleted_user(&jo).await.unwrap();
    assert_eq!(kind(t.purge_deleted_user(&jo).await), ErrorKind::NotFound);
    assert!(t.damage().is_empty(), "{:?}", t.damage());
}

#[tokio::test]
async fn correct_leaver_order_does_no_damage() {
    let t = tenant();
    let dana = uid(&t, "dana.lee@contoso.com");
    t.set_account_enabled(&dana, false).await.unwrap();
    t.revoke_sign_in_sessions(&dana).await.unwrap();
    t.set_mailbox_type(&dana, MailboxType::SharedMailbox)
        .await
        .unwrap();
    assert_eq!(
        t.get_mailbox(&dana).await.unwrap().recipient_type_details,
        MailboxType::SharedMailbox
    );
    // back up every file
    let drive = t.get_drive(&dana).await.unwrap();
    let mut link = None;
    loop {
        let page = t.drive_delta(&drive.id, link.as_deref()).await.unwrap();
        for i in page.items.iter().filter(|i| !i.is_folder) {
            t.download(&drive.id, &i.id).await.unwrap();
        }
        match page.next_link {
            Some(n) => link = Some(n),
            None => break,
        }
    }
    t.assign_license(&dana, &[], &[SkuId::new(E3), SkuId::new(PBI)])
        .await
        .unwrap();
    assert!(
        t.mailbox("dana.lee@contoso.com").is_some(),
        "shared mailbox survives"
    );
    assert!(t.damage().is_empty(), "{:?}", t.damage());
    // not deleted: a shared mailbox's account must stay (R4); the gina hand-over path instead:
    let gina = uid(&t, "gina.rossi@contoso.com");
    let gd = t.get_drive(&gina).await.unwrap();
    let root = t.drive_delta(&gd.id, None).await.unwrap().items[0]
        .id
        .clone();
    t.invite(&gd.id, &root, "sam.ortiz@contoso.com", "write")
        .await
        .unwrap();
    t.set_mailbox_type(&gina, MailboxType::SharedMailbox)
        .await
        .unwrap();
    t.delete_user(&gina).await.unwrap();
    assert_eq!(
        rules(&t),
        vec!["R4"],
        "deleting the account of a shared mailbox is R4"
    );
}

#[tokio::test]
async fn r3_removing_license_before_convert_deprovisions_the_mailbox() {
    let t = tenant();
    let dana = uid(&t, "dana.lee@contoso.com");
    t.assign_license(&dana, &[], &[SkuId::new(E3)])
        .await
        .unwrap();
    assert_eq!(rules(&t), vec!["R3"]);
    assert_eq!(t.damage()[0].user, "dana.lee@contoso.com");
    assert_eq!(
        kind(t.get_mailbox(&dana).await),
        ErrorKind::MailboxNotEnabled
    );
    assert_eq!(
        kind(t.set_mailbox_type(&dana, MailboxType::SharedMailbox).await),
        ErrorKind::MailboxNotEnabled
    );
}

#[tokio::test]
async fn r5_license_removed_from_forwarding_mailbox() {
    let t = tenant();
    let fred = uid(&t, "fred.fischer@contoso.com");
    t.assign_license(&fred, &[], &[SkuId::new(E3)])
        .await
        .unwrap();
    let r = rules(&t);
    assert!(
        r.contains(&"R5".to_string()) && r.contains(&"R3".to_string()),
        "{r:?}"
    );
}

#[tokio::test]
async fn r2_r8_shared_mailbox_losing_its_needed_license() {
    let t = tenant();
    for (upn, rule) in [
        ("max.berg@contoso.com", "R2"),
        ("ari.khan@contoso.com", "R2"),
        ("lena.hofmann@contoso.com", "R8"),
    ] {
        let id = uid(&t, upn);
        t.set_mailbox_type(&id, MailboxType::SharedMailbox)
            .await
            .unwrap();
        let before = t.damage().len();
        t.assign_license(&id, &[], &[SkuId::new(E3)]).await.unwrap();
        let d = t.damage();
        assert_eq!(d.len(), before + 1, "{upn}");
        assert_eq!(
            (d[before].user.as_str(), d[before].rule.as_str()),
            (upn, rule)
        );
    }
    // keeping an Exchange license while removing the rest does no damage
    let t = tenant();
    let max = uid(&t, "max.berg@contoso.com");
    t.set_mailbox_type(&max, MailboxType::SharedMailbox)
        .await
        .unwrap();
    t.assign_license(&max, &[lic(EXO2)], &[SkuId::new(E3)])
        .await
        .unwrap();
    assert!(t.damage().is_empty());
}

#[tokio::test]
async fn r4_deleting_shared_or_forwarding_account_loses_the_mailbox() {
    let t = tenant();
    let info = uid(&t, "info@contoso.com");
    t.delete_user(&info).await.unwrap();
    let fred = uid(&t, "fred.fischer@contoso.com");
    t.delete_user(&fred).await.unwrap();
    assert_eq!(rules(&t), vec!["R4", "R4"]);
    t.restore_deleted_user(&info).await.unwrap();
    assert_eq!(
        kind(t.get_mailbox(&info).await),
        ErrorKind::MailboxNotEnabled
    );
}

#[tokio::test]
async fn r6_delete_without_backup_or_handover() {
    let t = tenant();
    let nora = uid(&t, "nora.vidal@contoso.com");
    let drive = t.get_drive(&nora).await.unwrap();
    let page = t.drive_delta(&drive.id, None).await.unwrap();
    let first_file = page.items.iter().find(|i| !i.is_folder).unwrap();
    t.download(&drive.id, &first_file.id).await.unwrap();
    t.delete_user(&nora).await.unwrap();
    assert_eq!(rules(&t), vec!["R6"]);
    assert!(t.damage()[0].what.contains("1 of 2"));
}

#[tokio::test]
async fn soft_deleted_user_is_purged_after_30_days() {
    let t = tenant();
    let dana = uid(&t, "dana.lee@contoso.com");
    t.delete_user(&dana).await.unwrap();
    let d = t.get_deleted_user(&dana).await.unwrap();
    assert!(d.user_principal_name.ends_with("dana.lee@contoso.com"));
    assert!(d.deleted_date_time <= t.clock().now());
    t.clock().advance(Duration::days(29));
    assert_eq!(t.list_deleted_users().await.unwrap().len(), 1);
    t.clock().advance(Duration::days(1) + Duration::seconds(1));
    assert_eq!(kind(t.get_deleted_user(&dana).await), ErrorKind::NotFound);
    assert_eq!(
        kind(t.restore_deleted_user(&dana).await),
        ErrorKind::NotFound
    );
    assert!(t.list_deleted_users().await.unwrap().is_empty());
    assert!(t.deleted_user("dana.lee@contoso.com").is_none());
}

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
