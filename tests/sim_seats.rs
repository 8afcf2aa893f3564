#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The simulated tenant's seats: subscriptions add up to a SKU's prepaid units, Partner
//! Center's 168-hour reduction window and scheduled next-term instructions (R13–R15), direct
//! subscriptions Partner Center does not know, late accounts, the mailbox listing, and a
//! restore that finds no free seat.

mod sim_common;

use chrono::{DateTime, Duration, Utc};
use offboard::clock::{Clock, SimClock};
use offboard::ids::GroupId;
use offboard::tenant::sim::{Scenario, SimTenant};
use offboard::tenant::{
    ErrorKind, MailboxType, PartnerSubscription, ScheduledNextTermInstructions, Tenant,
    TermDuration,
};
use serde_json::{Value, json};
use sim_common::*;

const CSP: &str = "2c8d1f0e-77a1-4e5b-9c3d-6a0b2e4f8d19";
const CSP_PC: &str = "d3b7c9a2-9a4b-40b2-b075-6e442909e3e7";
const DIRECT: &str = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const DIRECT_PC: &str = "e4f5a6b7-c8d9-4e0f-a1b2-c3d4e5f6a7b8";

fn csp(created: DateTime<Utc>, term: &str, quantity: i64) -> Value {
    json!({
        "id": CSP, "commerceSubscriptionId": CSP_PC, "sku": "SPE_E3", "kind": "csp",
        "quantity": quantity, "createdDateTime": created, "termDuration": term,
        "billingCycle": "monthly", "autoRenewEnabled": true,
        "offerId": "CFQ7TTC0LFLZ:0002:CFQ7TTC0K8NQ", "status": "active"
    })
}

fn direct(quantity: i64) -> Value {
    json!({
        "id": DIRECT, "commerceSubscriptionId": DIRECT_PC, "sku": "SPE_E3", "kind": "direct",
        "quantity": quantity, "termDuration": "P1Y"
    })
}

/// The example tenant with E3's 50 seats split into subscriptions (E3: 46 in use, 4 free).
fn seats_scenario(subs: Vec<Value>) -> Scenario {
    let mut s = scenario();
    s.subscriptions = subs
        .into_iter()
        .map(|v| serde_json::from_value(v).unwrap())
        .collect();
    s
}

/// A tenant whose E3 is one CSP subscription bought `age` ago (40 seats) plus a direct one
/// (10 seats).
fn tenant_with(age: Duration, term: &str) -> SimTenant {
    let now = SimClock::new().now();
    let s = seats_scenario(vec![csp(now - age, term, 40), direct(10)]);
    SimTenant::from_scenario(s, SimClock::new()).unwrap()
}

async fn partner(t: &SimTenant) -> PartnerSubscription {
    t.get_partner_subscription(CSP_PC).await.unwrap()
}

async fn set_quantity(
    t: &SimTenant,
    quantity: i64,
) -> Result<PartnerSubscription, offboard::tenant::TenantError> {
    let mut sub = partner(t).await;
    sub.quantity = quantity;
    t.update_partner_subscription(&sub).await
}

fn prepaid(t: &SimTenant) -> i64 {
    t.sku("SPE_E3").unwrap().prepaid_units.enabled
}

#[tokio::test]
async fn subscriptions_sum_into_prepaid_units_and_are_listed() {
    let t = tenant_with(Duration::days(2), "P1Y");
    assert_eq!(prepaid(&t), 50);
    assert_eq!(consumed(&t, "SPE_E3"), 46);
    let mut ids = t.sku("SPE_E3").unwrap().subscription_ids;
    ids.sort();
    assert_eq!(ids, vec![CSP.to_string(), DIRECT.to_string()]);
    assert_eq!(t.sku("SPB").unwrap().prepaid_units.enabled, 10, "old form");
    let subs = t.list_subscriptions().await.unwrap();
    assert_eq!(subs.len(), 2);
    let c = subs.iter().find(|s| s.id == CSP).unwrap();
    assert_eq!(
        (
            c.commerce_subscription_id.as_str(),
            c.sku_part_number.as_str()
        ),
        (CSP_PC, "SPE_E3")
    );
    assert!(c.is_enabled() && c.total_licenses == 40 && c.sku_id.as_str() == E3);
    assert_eq!(
        c.next_lifecycle_date_time,
        Some(partner(&t).await.renewal())
    );

    let now = SimClock::new().now();
    let mut expired = direct(10);
    expired["status"] = json!("expired");
    let mut s = seats_scenario(vec![csp(now, "P1Y", 46), expired]);
    s.skus[0].prepaid_units = None;
    let t = SimTenant::from_scenario(s, SimClock::new()).unwrap();
    let units = t.sku("SPE_E3").unwrap().prepaid_units;
    assert_eq!((units.enabled, units.warning), (46, 10));
    assert_eq!(t.subscription(DIRECT).unwrap().status, "Warning");
}

#[test]
fn disagreeing_or_missing_prepaid_units_are_refused() {
    let now = SimClock::new().now();
    let s = seats_scenario(vec![csp(now, "P1Y", 41), direct(10)]);
    let e = SimTenant::from_scenario(s, SimClock::new()).unwrap_err();
    assert!(e.to_string().contains("add up to 51"), "{e}");
    let mut s = seats_scenario(vec![csp(now, "P1Y", 41), direct(10)]);
    s.skus[0].prepaid_units = None;
    let t = SimTenant::from_scenario(s, SimClock::new()).unwrap();
    assert_eq!(prepaid(&t), 51);
    let mut s = scenario();
    s.skus[1].prepaid_units = None;
    let e = SimTenant::from_scenario(s, SimClock::new()).unwrap_err();
    assert!(e.to_string().contains("SPB"), "{e}");
    let mut bad = csp(now, "P2Y", 40);
    bad["termDuration"] = json!("P2Y");
    let s = seats_scenario(vec![bad, direct(10)]);
    let e = SimTenant::from_scenario(s, SimClock::new()).unwrap_err();
    assert!(e.to_string().contains("P1M, P1Y or P3Y"), "{e}");
}

#[tokio::test]
async fn decrease_inside_the_window_succeeds_and_outside_fails_with_a_typed_error() {
    let t = tenant_with(Duration::days(2), "P1Y");
    let sub = partner(&t).await;
    let now = t.clock().now();
    assert!(sub.in_reduction_window(now));
    assert_eq!(
        sub.cancellation_allowed_until_date.unwrap(),
        sub.effective_start_date.unwrap() + Duration::hours(168)
    );
    let after = set_quantity(&t, 38).await.unwrap();
    assert_eq!(after.quantity, 38);
    assert_eq!(prepaid(&t), 48);
    assert_eq!(t.subscription(CSP).unwrap().total_licenses, 38);

    t.clock().advance(Duration::days(5) + Duration::minutes(1));
    assert!(!partner(&t).await.in_reduction_window(t.clock().now()));
    let e = set_quantity(&t, 37).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ReductionWindowClosed);
    assert!(e.request_id.is_some());
    assert!(e.code.parse::<u32>().is_ok(), "numeric code: {e}");
    assert!(e.message.contains("scheduledNextTermInstructions"), "{e}");
    assert_eq!(partner(&t).await.quantity, 38);
    assert_eq!(prepaid(&t), 48);
    assert!(t.damage().is_empty());
}

#[tokio::test]
async fn increase_is_allowed_any_time_and_a_repeat_is_a_no_op() {
    let t = tenant_with(Duration::days(200), "P1Y");
    assert!(!partner(&t).await.in_reduction_window(t.clock().now()));
    assert_eq!(set_quantity(&t, 45).await.unwrap().quantity, 45);
    assert_eq!(set_quantity(&t, 45).await.unwrap().quantity, 45);
    assert_eq!(prepaid(&t), 55);
    assert_eq!(t.sku("SPE_E3").unwrap().free_units(), 9);
}

fn schedule(sub: &mut PartnerSubscription, quantity: i64) {
    sub.scheduled_next_term_instructions = Some(ScheduledNextTermInstructions {
        product: sub.current_product().unwrap(),
        quantity,
        custom_term_end_date: None,
    });
}

#[tokio::test]
async fn scheduled_instructions_apply_at_renewal_and_open_a_new_window() {
    let t = tenant_with(Duration::days(10), "P1M");
    let mut sub = partner(&t).await;
    assert!(!sub.in_reduction_window(t.clock().now()));
    let renewal = sub.renewal();

    sub.auto_renew_enabled = false;
    schedule(&mut sub, 36);
    let e = t.update_partner_subscription(&sub).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequest);
    assert!(e.message.contains("autoRenewEnabled"), "{e}");

    sub.auto_renew_enabled = true;
    let scheduled = t.update_partner_subscription(&sub).await.unwrap();
    assert_eq!(scheduled.quantity, 40, "the current term keeps its seats");
    assert_eq!(
        scheduled
            .scheduled_next_term_instructions
            .as_ref()
            .map(|i| i.quantity),
        Some(36)
    );
    assert_eq!(prepaid(&t), 50);

    t.clock().advance_to(renewal + Duration::minutes(1));
    let renewed = partner(&t).await;
    assert_eq!(renewed.quantity, 36);
    assert_eq!(renewed.scheduled_next_term_instructions, None);
    assert_eq!(renewed.effective_start_date, Some(renewal));
    assert_eq!(renewed.term_duration, TermDuration::OneMonth);
    assert!(renewed.renewal() > renewal);
    assert!(renewed.in_reduction_window(t.clock().now()));
    assert_eq!(prepaid(&t), 46);
    assert_eq!(set_quantity(&t, 35).await.unwrap().quantity, 35);
    assert!(rules(&t).iter().any(|r| r == "R13"), "35 + 10 < 46 in use");
}

#[tokio::test]
async fn a_mid_term_quantity_change_clears_scheduled_instructions() {
    let t = tenant_with(Duration::days(30), "P1Y");
    let mut sub = partner(&t).await;
    schedule(&mut sub, 30);
    let sub = t.update_partner_subscription(&sub).await.unwrap();
    assert!(sub.scheduled_next_term_instructions.is_some());

    let mut both = sub.clone();
    both.quantity = 42;
    schedule(&mut both, 31);
    let e = t.update_partner_subscription(&both).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequest, "{e}");

    let after = set_quantity(&t, 42).await.unwrap();
    assert_eq!(after.quantity, 42);
    assert_eq!(after.scheduled_next_term_instructions, None);
    assert_eq!(
        partner(&t).await.scheduled_next_term_instructions,
        None,
        "cleared for good"
    );
}

#[tokio::test]
async fn reducing_below_the_seats_in_use_records_damage() {
    let t = tenant_with(Duration::hours(1), "P1Y");
    set_quantity(&t, 36).await.unwrap();
    assert!(t.damage().is_empty(), "36 + 10 = 46 in use: nobody over");
    assert_eq!(t.sku("SPE_E3").unwrap().free_units(), 0);
    set_quantity(&t, 30).await.unwrap();
    let damage = t.damage();
    assert_eq!(damage.len(), 1);
    assert_eq!(
        (damage[0].rule.as_str(), damage[0].user.as_str()),
        ("R13", "SPE_E3")
    );
    assert!(
        damage[0].what.contains("46 were in use"),
        "{}",
        damage[0].what
    );
    assert_eq!(t.sku("SPE_E3").unwrap().free_units(), -6);
    let jo = uid(&t, "jo.new@contoso.com");
    t.set_usage_location(&jo, "DE").await.unwrap();
    assert_eq!(
        kind(t.assign_license(&jo, &[lic(E3)], &[]).await),
        ErrorKind::NoFreeSeats
    );
    set_quantity(&t, 40).await.unwrap();
    assert_eq!(t.damage().len(), 1, "an increase is no damage");

    t.set_subscription_quantity(DIRECT, 2).unwrap();
    assert_eq!(rules(&t), vec!["R13", "R13"], "the admin center too");
}

#[tokio::test]
async fn direct_subscriptions_are_unknown_to_partner_center() {
    let t = tenant_with(Duration::days(2), "P1Y");
    let e = t.get_partner_subscription(DIRECT_PC).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e.message.contains("admin center"), "{e}");
    let mut forged = partner(&t).await;
    forged.id = DIRECT_PC.into();
    assert_eq!(
        kind(t.update_partner_subscription(&forged).await),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(t.get_partner_subscription("no-such-subscription").await),
        ErrorKind::NotFound
    );
    assert!(t.partner_subscription(DIRECT_PC).is_none());

    let d = t.set_subscription_quantity(DIRECT, 12).unwrap();
    assert_eq!(d.total_licenses, 12);
    assert_eq!(prepaid(&t), 52);
    let e = t.set_subscription_quantity(CSP, 30).unwrap_err();
    assert!(e.message.contains("Partner Center"), "{e}");
    assert_eq!(prepaid(&t), 52);
}

#[tokio::test]
async fn without_auto_renew_the_subscription_expires_into_warning() {
    let now = SimClock::new().now();
    let mut sub = csp(now - Duration::days(20), "P1M", 40);
    sub["autoRenewEnabled"] = json!(false);
    let t = SimTenant::from_scenario(seats_scenario(vec![sub, direct(10)]), SimClock::new());
    let t = t.unwrap();
    let end = partner(&t).await.renewal();
    t.clock().advance_to(end + Duration::minutes(1));
    let units = t.sku("SPE_E3").unwrap().prepaid_units;
    assert_eq!((units.enabled, units.warning), (10, 40));
    assert_eq!(t.subscription(CSP).unwrap().status, "Warning");
    assert_eq!(
        kind(set_quantity(&t, 41).await),
        ErrorKind::BadRequest,
        "an expired subscription cannot be changed"
    );
    assert_eq!(rules(&t), vec!["R13"], "46 in use, 10 enabled");
}

fn late_joiner(at: DateTime<Utc>) -> Scenario {
    let mut s = scenario();
    s.users.push(
        serde_json::from_value(json!({
            "id": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
            "userPrincipalName": "lea.late@contoso.com",
            "displayName": "Lea Late",
            "usageLocation": "DE",
            "licenses": ["POWER_BI_PRO"],
            "manager": "sam.ortiz@contoso.com",
            "appearsAt": at,
        }))
        .unwrap(),
    );
    let group = s.groups.iter_mut().find(|g| g.id == LIC_GROUP).unwrap();
    group.members.push("lea.late@contoso.com".into());
    s
}

#[tokio::test]
async fn a_late_account_does_not_exist_before_it_appears() {
    let clock = SimClock::new();
    let at = clock.now() + Duration::hours(2);
    let t = SimTenant::from_scenario(late_joiner(at), clock.clone()).unwrap();
    let e3 = consumed(&t, "SPE_E3");
    let bi = consumed(&t, "POWER_BI_PRO");
    assert_eq!(
        kind(t.get_user("lea.late@contoso.com").await),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(t.get_user("0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0").await),
        ErrorKind::NotFound
    );
    assert!(t.user("lea.late@contoso.com").is_none());
    let group = GroupId::new(LIC_GROUP);
    assert_eq!(t.group_members(&group).len(), 2);
    assert_eq!(t.parked_users().len(), 1);
    assert!(t.list_deleted_users().await.unwrap().is_empty());

    clock.advance(Duration::hours(2));
    let lea = t.get_user("lea.late@contoso.com").await.unwrap();
    assert_eq!(lea.direct_skus().len(), 1);
    assert_eq!(consumed(&t, "POWER_BI_PRO"), bi + 1);
    assert_eq!(t.group_members(&group).len(), 3);
    assert!(t.parked_users().is_empty());
    assert_eq!(
        t.get_manager(&lea.id)
            .await
            .unwrap()
            .unwrap()
            .user_principal_name,
        "sam.ortiz@contoso.com"
    );
    assert_eq!(
        consumed(&t, "SPE_E3"),
        e3,
        "group licensing takes its delay"
    );
    clock.advance(Duration::seconds(61));
    assert_eq!(consumed(&t, "SPE_E3"), e3 + 1);
    assert!(t.mailbox("lea.late@contoso.com").is_some());
    assert!(t.damage().is_empty());
}

#[tokio::test]
async fn list_mailboxes_lists_the_live_mailboxes_of_a_kind() {
    let t = tenant();
    let upns = |v: Vec<offboard::tenant::Mailbox>| -> Vec<String> {
        let mut v: Vec<String> = v.into_iter().map(|m| m.primary_smtp_address).collect();
        v.sort();
        v
    };
    let shared = upns(t.list_mailboxes(MailboxType::SharedMailbox).await.unwrap());
    assert_eq!(shared, vec!["info@contoso.com"]);
    let users = upns(t.list_mailboxes(MailboxType::UserMailbox).await.unwrap());
    assert!(users.contains(&"dana.lee@contoso.com".to_string()));
    assert!(
        !users.contains(&"jo.new@contoso.com".to_string()),
        "no license, no mailbox"
    );

    let dana = uid(&t, "dana.lee@contoso.com");
    t.set_mailbox_type(&dana, MailboxType::SharedMailbox)
        .await
        .unwrap();
    let shared = upns(t.list_mailboxes(MailboxType::SharedMailbox).await.unwrap());
    assert_eq!(shared, vec!["dana.lee@contoso.com", "info@contoso.com"]);
    let ari = uid(&t, "ari.khan@contoso.com");
    t.delete_user(&ari).await.unwrap();
    let users = upns(t.list_mailboxes(MailboxType::UserMailbox).await.unwrap());
    assert!(
        !users
            .iter()
            .any(|u| u == "ari.khan@contoso.com" || u == "dana.lee@contoso.com")
    );
    assert!(
        t.list_mailboxes(MailboxType::RoomMailbox)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn restore_brings_back_licenses_and_memberships() {
    let t = tenant_with(Duration::days(2), "P1Y");
    let dana = uid(&t, "dana.lee@contoso.com");
    let before = t.get_user(dana.as_str()).await.unwrap();
    let groups = t.member_of(&dana).await.unwrap().len();
    t.delete_user(&dana).await.unwrap();
    assert_eq!(consumed(&t, "SPE_E3"), 45);
    let restored = t.restore_deleted_user(&dana).await.unwrap();
    assert_eq!(restored.assigned_licenses, before.assigned_licenses);
    assert_eq!(
        restored.license_assignment_states,
        before.license_assignment_states
    );
    assert_eq!(t.member_of(&dana).await.unwrap().len(), groups);
    assert_eq!(consumed(&t, "SPE_E3"), 46);
    assert!(t.mailbox("dana.lee@contoso.com").is_some());
}

#[tokio::test]
async fn restore_without_a_free_seat_restores_the_user_with_the_license_in_error() {
    let t = tenant_with(Duration::days(2), "P1Y");
    let dana = uid(&t, "dana.lee@contoso.com");
    let groups = t.member_of(&dana).await.unwrap().len();
    t.delete_user(&dana).await.unwrap();
    t.set_subscription_quantity(DIRECT, 5).unwrap();
    assert_eq!(t.sku("SPE_E3").unwrap().free_units(), 0);
    assert!(
        !rules(&t).contains(&"R13".to_string()),
        "45 in use, 45 enabled"
    );

    let restored = t.restore_deleted_user(&dana).await.unwrap();
    assert_eq!(restored.direct_skus().len(), 2, "both assignments are kept");
    let e3 = restored
        .license_assignment_states
        .iter()
        .find(|s| s.sku_id.as_str() == E3)
        .unwrap();
    assert_eq!(
        (e3.state.as_str(), e3.error.as_deref()),
        ("Error", Some("CountViolation"))
    );
    assert!(!restored.holds_sku(&offboard::ids::SkuId::new(E3)));
    assert!(restored.holds_sku(&offboard::ids::SkuId::new(PBI)));
    assert_eq!(consumed(&t, "SPE_E3"), 45, "no seat over-consumed");
    assert_eq!(t.sku("SPE_E3").unwrap().free_units(), 0);
    assert_eq!(t.member_of(&dana).await.unwrap().len(), groups);
    assert!(
        t.mailbox("dana.lee@contoso.com").is_none(),
        "no Exchange license"
    );

    t.set_subscription_quantity(DIRECT, 6).unwrap();
    t.assign_license(&dana, &[lic(E3)], &[]).await.unwrap();
    let fixed = t.get_user(dana.as_str()).await.unwrap();
    assert!(fixed.holds_sku(&offboard::ids::SkuId::new(E3)));
    assert_eq!(consumed(&t, "SPE_E3"), 46);
    assert!(!rules(&t).contains(&"R13".to_string()));
}

#[tokio::test]
async fn persistence_keeps_subscriptions_and_late_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tenant.json");
    let at = Utc::now() + Duration::hours(2);
    let now = Utc::now();
    let mut s = late_joiner(at);
    s.subscriptions = vec![
        serde_json::from_value(csp(now - Duration::days(1), "P1Y", 40)).unwrap(),
        serde_json::from_value(direct(10)).unwrap(),
    ];
    let t = SimTenant::persistent(&path, s.clone()).unwrap();
    let mut sub = partner(&t).await;
    schedule(&mut sub, 33);
    t.update_partner_subscription(&sub).await.unwrap();
    let fp = t.fingerprint();
    assert_eq!(fp["lateUsers"].as_array().unwrap().len(), 1);
    assert_eq!(fp["subscriptions"][0]["scheduled"]["quantity"], 33);
    drop(t);
    let reloaded = SimTenant::persistent(&path, s).unwrap();
    assert_eq!(reloaded.fingerprint(), fp);
    assert_eq!(reloaded.parked_users().len(), 1);
}
