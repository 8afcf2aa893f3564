//! The joiner tests' tenant: E3 and Power BI seats, three joiners without usage location or
//! license, holders whose seats can be freed, and an editable, a dynamic and a mail-enabled
//! group; plus helpers to look at runs and seats.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use offboard::engine::{RunRecord, RunStatus, StepStatus};
use offboard::ids::UserId;
use offboard::tenant::Tenant;
use offboard::tenant::sim::{Scenario, SimTenant};
use serde_json::{Value, json};

pub const FINANCE: &str = "9e2b1c44-0f7d-4a6b-b1e8-7c3d5a9f2e10";
pub const DYNAMIC: &str = "b3d5f7a9-1c3e-4b5d-9f7a-1c3e5b7d9f02";
pub const DL: &str = "d7f9b1d3-5a7c-4e9f-b1d3-5a7c9e1f3b64";
pub const ANA: &str = "ana.alves@contoso.com";
pub const BEN: &str = "ben.brandt@contoso.com";
pub const CLEO: &str = "cleo.cruz@contoso.com";
pub const HUGO: &str = "hugo.holder@contoso.com";

pub fn user(n: u32, upn: &str, licenses: &[&str], extra: Value) -> Value {
    let mut u = json!({"id": format!("00000000-0000-4000-8000-{n:012}"), "userPrincipalName": upn,
        "displayName": upn.split('@').next().unwrap(), "licenses": licenses});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        u[k] = v;
    }
    u
}

/// E3 with `e3_seats` seats held by Hugo (a user mailbox) and `shared_holders` licensed
/// shared mailboxes (their license can go without harm, R2); three joiners without usage
/// location or license; an editable, a dynamic and a mail-enabled group.
pub fn tenant(e3_seats: i64, pbi_seats: i64, shared_holders: u32) -> Scenario {
    serde_json::from_value(tenant_json(e3_seats, pbi_seats, shared_holders)).unwrap()
}

pub fn tenant_json(e3_seats: i64, pbi_seats: i64, shared_holders: u32) -> Value {
    let mut users = vec![
        user(1, ANA, &[], json!({})),
        user(2, BEN, &[], json!({})),
        user(3, CLEO, &[], json!({})),
        user(4, HUGO, &["SPE_E3"], json!({"usageLocation": "US"})),
    ];
    for i in 0..shared_holders {
        users.push(user(
            10 + i,
            &format!("shared{i}@contoso.com"),
            &["SPE_E3"],
            json!({"usageLocation": "US", "accountEnabled": false,
                   "mailbox": {"type": "SharedMailbox", "sizeGb": 1.0}}),
        ));
    }
    json!({
        "tenant": "contoso.com",
        "groupLicensingDelaySeconds": 60,
        "skus": [
            {"skuId": E3, "skuPartNumber": "SPE_E3", "prepaidUnits": {"enabled": e3_seats}, "servicePlans": [
                {"servicePlanId": "efb87545-963c-4e0d-99df-69c6916d9eb0", "servicePlanName": "EXCHANGE_S_ENTERPRISE"},
                {"servicePlanId": "5dbe027f-2339-4123-9542-606e4d348a72", "servicePlanName": "SHAREPOINTENTERPRISE"}]},
            {"skuId": PBI, "skuPartNumber": "POWER_BI_PRO", "prepaidUnits": {"enabled": pbi_seats},
             "servicePlans": [{"servicePlanId": "70d33638-9c74-4d01-bfd3-562de28bd4ba", "servicePlanName": "BI_AZURE_P2"}]}
        ],
        "users": users,
        "groups": [
            {"id": FINANCE, "displayName": "Finance Team", "groupTypes": ["Unified"], "mailEnabled": true,
             "securityEnabled": false, "members": [HUGO]},
            {"id": DYNAMIC, "displayName": "Sales - dynamic", "groupTypes": ["DynamicMembership"],
             "membershipRule": "(user.department -eq \"Sales\")", "members": []},
            {"id": DL, "displayName": "All Staff DL", "mailEnabled": true, "securityEnabled": false, "members": []}
        ]
    })
}

pub fn sim(s: Scenario) -> SimTenant {
    SimTenant::from_scenario(s, offboard::clock::SimClock::new()).unwrap()
}

pub fn joiner_data(licenses: &[&str]) -> Value {
    json!({"usageLocation": "de", "licenses": licenses, "groups": [FINANCE]})
}

pub fn step<'a>(run: &'a RunRecord, id: &str) -> &'a offboard::engine::StepState {
    run.steps.iter().find(|s| s.id.0 == id).unwrap()
}

pub fn waits_for_a_seat(r: &RunRecord) -> bool {
    r.status == RunStatus::Waiting
        && step(r, "licenses").status == StepStatus::Waiting
        // (not just taking its place in line, which comes first)
        && step(r, "licenses")
            .message
            .as_deref()
            .is_some_and(|m| m.contains("waiting for a free seat"))
        && r.lines == vec![format!("seat/{E3}")]
}

pub fn e3_count(sim: &SimTenant, upn: &str) -> usize {
    sim.user(upn)
        .map(|u| {
            u.license_assignment_states
                .iter()
                .filter(|s| s.sku_id.as_str() == E3)
                .count()
        })
        .unwrap_or(0)
}

pub async fn free_a_seat(sim: &SimTenant, holder: u32) {
    let id = UserId::new(format!("00000000-0000-4000-8000-{:012}", 10 + holder));
    sim.assign_license(&id, &[], &[offboard::ids::SkuId::new(E3)])
        .await
        .unwrap();
}

pub fn shortage_subjects(env: &TestEnv) -> Vec<String> {
    env.outcomes("seat.shortage")
        .into_iter()
        .map(|o| {
            assert_eq!(o.data["sku"], json!(E3), "{o:?}");
            assert_eq!(o.data["skuPartNumber"], json!("SPE_E3"));
            assert_eq!(o.data["step"], json!("licenses"));
            o.subject
        })
        .collect()
}
