//! The scenario file format (JSON, camelCase) that seeds a simulated tenant.
//!
//! ```json
//! {
//!   "tenant": "contoso.com",
//!   "groupLicensingDelaySeconds": 60,          // optional, default 60
//!   "deltaPageSize": 200,                       // optional, default 200
//!   "skus": [{ "skuId": "05e9…", "skuPartNumber": "SPE_E3", "capabilityStatus": "Enabled",
//!              "prepaidUnits": { "enabled": 50 }, "otherConsumedUnits": 40,
//!              "servicePlans": [{ "servicePlanId": "efb8…", "servicePlanName": "EXCHANGE_S_ENTERPRISE" }] }],
//!   "users": [{ "id": "3b9f…", "userPrincipalName": "dana.lee@contoso.com", "displayName": "Dana Lee",
//!               "note": "what edge case this user is", "usageLocation": "US", "accountEnabled": true,
//!               "onPremisesSyncEnabled": null, "manager": "sam.ortiz@contoso.com",
//!               "department": "Sales", "jobTitle": "Account Manager", "companyName": "Contoso",
//!               "officeLocation": "Building 4", "city": "Seattle", "country": "United States",
//!               "licenses": ["SPE_E3"],              // direct; skuPartNumber or skuId
//!               "mailbox": { "type": "UserMailbox", "sizeGb": 3.5, "forwardingSmtpAddress": null,
//!                            "archive": false, "litigationHold": false, "hidden": false,
//!                            "fullAccess": ["sam.ortiz@contoso.com"], "autoReply": null },
//!               "drive": { "id": "b!dana", "files": [{ "path": "Reports/q3.xlsx", "size": 48213 }],
//!                          "folders": ["Empty folder"] },
//!               "deletedDateTime": null,
//!               "appearsAt": null }],                 // RFC 3339: synced in late (see below)
//!   "groups": [{ "id": "5d1a…", "displayName": "Licensing - M365 E3", "groupTypes": [],
//!                "mailEnabled": false, "securityEnabled": true, "onPremisesSyncEnabled": null,
//!                "membershipRule": null, "licenses": ["SPE_E3"], "members": ["dana.lee@contoso.com"] }],
//!   "directoryRoles": [{ "id": "1f0c…", "displayName": "Helpdesk Administrator",
//!                        "roleTemplateId": "7298…", "members": ["…"] }],
//!   "subscriptions": [{ "id": "2c8d…", "commerceSubscriptionId": "d3b7…", "sku": "SPE_E3",
//!                       "kind": "csp",                   // or "direct" (web-direct / MOSP)
//!                       "quantity": 50,
//!                       "createdDateTime": "2026-01-10T00:00:00Z", // optional, default: start
//!                       "termDuration": "P1Y",           // P1M | P1Y | P3Y, default P1Y
//!                       "billingCycle": "monthly",       // default monthly
//!                       "autoRenewEnabled": true,        // default true
//!                       "offerId": "CFQ7TTC0LFLZ:0002:CFQ7TTC0K8NQ", // required for csp
//!                       "status": "active",              // active | expired | suspended | deleted
//!                       "isTrial": false }]              // optional
//! }
//! ```
//! Users are referenced by object id or UPN, SKUs by skuId or skuPartNumber. A user licensed
//! with an Exchange plan and no `mailbox` gets a default `UserMailbox`; `mailbox` on a user
//! without an Exchange license is only valid for shared/room/equipment mailboxes. Group
//! licenses of the scenario are already processed when the tenant starts.
//!
//! A SKU with `subscriptions` takes its `prepaidUnits` from them (`enabled` = active
//! quantities, `warning` = expired, `suspended` = suspended); its own `prepaidUnits` may then
//! be left out, and must agree if given. A SKU without subscriptions needs `prepaidUnits`.
//! Terms start at `createdDateTime` and renew (auto-renew) or expire at each term's end.
//!
//! A user with `appearsAt` does not exist before that instant of the simulated clock (404,
//! not listed, in no group, no mailbox or drive); then it appears with its licenses (a
//! direct one without a free seat is in `CountViolation`), memberships, mailbox and drive,
//! and its group licenses are processed after `groupLicensingDelaySeconds`.

pub use super::state::SubscriptionKind;
use crate::tenant::{AutoReply, PrepaidUnits, ServicePlan, SubscriptionStatus, TermDuration};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    /// The tenant's primary domain, e.g. `contoso.com`.
    pub tenant: String,
    #[serde(default = "default_delay")]
    pub group_licensing_delay_seconds: u64,
    #[serde(default = "default_page_size")]
    pub delta_page_size: usize,
    #[serde(default)]
    pub skus: Vec<ScenarioSku>,
    #[serde(default)]
    pub users: Vec<ScenarioUser>,
    #[serde(default)]
    pub groups: Vec<ScenarioGroup>,
    #[serde(default)]
    pub directory_roles: Vec<ScenarioRole>,
    #[serde(default)]
    pub subscriptions: Vec<ScenarioSubscription>,
}

fn default_delay() -> u64 {
    60
}

fn default_page_size() -> usize {
    200
}

fn default_true() -> bool {
    true
}

fn default_enabled() -> String {
    "Enabled".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScenarioSku {
    pub sku_id: String,
    pub sku_part_number: String,
    #[serde(default = "default_enabled")]
    pub capability_status: String,
    /// Required unless the SKU has subscriptions (then computed from them).
    #[serde(default)]
    pub prepaid_units: Option<PrepaidUnits>,
    /// Seats consumed by users the scenario does not model.
    #[serde(default)]
    pub other_consumed_units: i64,
    #[serde(default)]
    pub service_plans: Vec<ServicePlan>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScenarioUser {
    pub id: String,
    pub user_principal_name: String,
    pub display_name: String,
    /// Which edge case this user stands for (documentation only).
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(default = "default_true")]
    pub account_enabled: bool,
    #[serde(default)]
    pub usage_location: Option<String>,
    #[serde(default)]
    pub on_premises_sync_enabled: Option<bool>,
    /// Directory attributes, as Graph names them (`GET /users` can filter on them).
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub job_title: Option<String>,
    #[serde(default)]
    pub company_name: Option<String>,
    #[serde(default)]
    pub office_location: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    /// Manager by id or UPN.
    #[serde(default)]
    pub manager: Option<String>,
    /// Direct licenses by skuPartNumber or skuId.
    #[serde(default)]
    pub licenses: Vec<String>,
    #[serde(default)]
    pub mailbox: Option<ScenarioMailbox>,
    #[serde(default)]
    pub drive: Option<ScenarioDrive>,
    /// Set to seed an already soft-deleted user; its UPN may then be another (active) user's
    /// too, as after someone reused it.
    #[serde(default)]
    pub deleted_date_time: Option<DateTime<Utc>>,
    /// Set for an account that appears later (a joiner synced from AD).
    #[serde(default)]
    pub appears_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScenarioMailbox {
    /// `UserMailbox` (default), `SharedMailbox`, `RoomMailbox`, `EquipmentMailbox`.
    #[serde(default)]
    pub r#type: Option<crate::tenant::MailboxType>,
    /// Total item size in GB (10^9 bytes).
    #[serde(default)]
    pub size_gb: f64,
    #[serde(default)]
    pub forwarding_smtp_address: Option<String>,
    #[serde(default)]
    pub deliver_to_mailbox_and_forward: bool,
    #[serde(default)]
    pub archive: bool,
    #[serde(default)]
    pub litigation_hold: bool,
    #[serde(default)]
    pub hidden: bool,
    /// Trustees (UPNs) holding FullAccess.
    #[serde(default)]
    pub full_access: Vec<String>,
    #[serde(default)]
    pub auto_reply: Option<AutoReply>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScenarioDrive {
    /// Drive id; defaults to `b!` + the user's id without hyphens.
    #[serde(default)]
    pub id: Option<String>,
    /// Files by `/`-separated path below the root; parent folders are created.
    #[serde(default)]
    pub files: Vec<ScenarioFile>,
    /// Extra (possibly empty) folders by path.
    #[serde(default)]
    pub folders: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScenarioFile {
    pub path: String,
    pub size: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScenarioGroup {
    pub id: String,
    pub display_name: String,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub group_types: Vec<String>,
    #[serde(default)]
    pub mail_enabled: bool,
    #[serde(default = "default_true")]
    pub security_enabled: bool,
    #[serde(default)]
    pub on_premises_sync_enabled: Option<bool>,
    #[serde(default)]
    pub membership_rule: Option<String>,
    /// Licenses on the group by skuPartNumber or skuId.
    #[serde(default)]
    pub licenses: Vec<String>,
    /// Members by id or UPN.
    #[serde(default)]
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScenarioSubscription {
    /// The company subscription id (§4.9 `id`).
    pub id: String,
    /// Partner Center's subscription id (for `csp`); Graph shows it on both kinds.
    pub commerce_subscription_id: String,
    /// skuPartNumber or skuId.
    pub sku: String,
    pub kind: SubscriptionKind,
    pub quantity: i64,
    /// Purchase time; the current term is found by counting terms from it. Default: the
    /// instant the tenant is seeded.
    #[serde(default)]
    pub created_date_time: Option<DateTime<Utc>>,
    #[serde(default = "default_term")]
    pub term_duration: TermDuration,
    #[serde(default = "default_billing_cycle")]
    pub billing_cycle: String,
    #[serde(default = "default_true")]
    pub auto_renew_enabled: bool,
    /// Partner Center offer id (`productId:skuId:availabilityId`); required for `csp`.
    #[serde(default)]
    pub offer_id: Option<String>,
    #[serde(default = "default_status")]
    pub status: SubscriptionStatus,
    #[serde(default)]
    pub is_trial: bool,
    #[serde(default)]
    pub note: Option<String>,
}

fn default_term() -> TermDuration {
    TermDuration::OneYear
}

fn default_billing_cycle() -> String {
    "monthly".into()
}

fn default_status() -> SubscriptionStatus {
    SubscriptionStatus::Active
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScenarioRole {
    pub id: String,
    pub display_name: String,
    pub role_template_id: String,
    #[serde(default)]
    pub members: Vec<String>,
}
