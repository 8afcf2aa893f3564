#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The simulated tenant records the silent damage the real service does (R2–R8) and purges
//! soft-deleted users after 30 days.

mod sim_common;

use chrono::Duration;
use offboard::clock::Clock;
use offboard::ids::SkuId;
use offboard::tenant::{ErrorKind, MailboxType, Tenant};
use sim_common::*;

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
