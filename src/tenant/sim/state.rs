//! The simulated tenant's whole state: plain serializable data (persisted as JSON) plus the
//! lookups every operation shares. Operations live in users/licenses/mail/drive.rs.

use super::damage::Damage;
use super::errors;
use crate::ids::{DriveId, GroupId, SkuId, UserId};
use crate::tenant::{
    AssignedLicense, AutoReply, Group, MailboxType, PrepaidUnits, ScheduledNextTermInstructions,
    ServicePlan, SubscriptionStatus, TenantResult, TermDuration,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    pub tenant: String,
    pub group_licensing_delay_seconds: u64,
    pub delta_page_size: usize,
    pub skus: BTreeMap<SkuId, SkuState>,
    pub users: BTreeMap<UserId, UserState>,
    pub groups: BTreeMap<GroupId, GroupState>,
    pub roles: Vec<RoleState>,
    pub mailboxes: BTreeMap<UserId, MailboxState>,
    pub drives: BTreeMap<DriveId, DriveState>,
    /// Group-license changes not yet processed (R10: asynchronous).
    pub pending: Vec<PendingLicense>,
    pub damage: Vec<Damage>,
    /// Company subscriptions by id (§4.9). A SKU with any takes its prepaid units from them.
    #[serde(default)]
    pub subscriptions: BTreeMap<String, SubscriptionState>,
    /// Accounts that appear later (joiners synced from AD), by `appears_at` ascending: they
    /// join `users` when the clock passes it, so nothing else has to look at them.
    #[serde(default)]
    pub arrivals: Vec<LateUser>,
    pub calls: BTreeMap<String, u64>,
    /// Downloads per `"{drive}/{item}"`.
    pub downloads: BTreeMap<String, u64>,
    pub request_seq: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkuState {
    pub sku_id: SkuId,
    pub sku_part_number: String,
    pub capability_status: String,
    pub prepaid_units: PrepaidUnits,
    pub other_consumed_units: i64,
    pub service_plans: Vec<ServicePlan>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserState {
    pub id: UserId,
    pub user_principal_name: String,
    pub display_name: String,
    pub mail: Option<String>,
    pub account_enabled: bool,
    pub usage_location: Option<String>,
    pub on_premises_sync_enabled: Option<bool>,
    pub manager: Option<UserId>,
    pub direct_licenses: Vec<AssignedLicense>,
    /// Direct licenses assigned without a seat (a restore or a late account found none free):
    /// shown as `Error`/`CountViolation`, they consume no seat and give no service.
    #[serde(default)]
    pub count_violations: BTreeSet<SkuId>,
    /// Processed group-license paths.
    pub group_paths: Vec<GroupPath>,
    pub sign_in_sessions_valid_from: Option<DateTime<Utc>>,
    pub deleted_date_time: Option<DateTime<Utc>>,
    /// Directory attributes (absent from state files written before they existed).
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
}

/// One processed group-license path of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupPath {
    pub sku_id: SkuId,
    pub group: GroupId,
    /// `None` = Active; `Some("CountViolation")` when no seat was free.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupState {
    pub group: Group,
    pub members: BTreeSet<UserId>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleState {
    pub id: String,
    pub display_name: String,
    pub role_template_id: String,
    pub members: BTreeSet<UserId>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MailboxState {
    pub kind: MailboxType,
    pub primary_smtp_address: String,
    pub forwarding_smtp_address: Option<String>,
    pub deliver_to_mailbox_and_forward: bool,
    pub hidden: bool,
    pub litigation_hold: bool,
    pub archive: bool,
    pub size_bytes: u64,
    pub full_access: Vec<String>,
    pub auto_reply: AutoReply,
    /// R3: the license left while it was a user mailbox; Exchange is removing it.
    pub deprovisioning: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriveState {
    pub id: DriveId,
    pub owner: UserId,
    pub web_url: String,
    /// Root first, then in creation order.
    pub items: Vec<ItemState>,
    /// Granted permissions: (item id, permission).
    pub permissions: Vec<(String, crate::tenant::DrivePermission)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemState {
    pub id: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub size: u64,
    pub is_folder: bool,
    pub sha256: Option<String>,
    pub last_modified: DateTime<Utc>,
    pub last_downloaded: Option<DateTime<Utc>>,
}

/// Where a subscription was bought: Partner Center knows only CSP ones (R14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SubscriptionKind {
    /// Web-direct (MOSP): seats change in the admin center only.
    Direct,
    /// Bought through a CSP partner: seats change in Partner Center (R15).
    Csp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionState {
    pub id: String,
    pub commerce_subscription_id: String,
    pub sku_id: SkuId,
    pub kind: SubscriptionKind,
    pub offer_id: String,
    pub friendly_name: String,
    pub quantity: i64,
    pub status: SubscriptionStatus,
    pub is_trial: bool,
    pub created_date_time: DateTime<Utc>,
    /// Start of the current term (purchase or last renewal).
    pub term_start: DateTime<Utc>,
    /// Always one with a known length (checked when set).
    pub term_duration: TermDuration,
    pub billing_cycle: String,
    pub auto_renew_enabled: bool,
    pub scheduled: Option<ScheduledNextTermInstructions>,
}

impl SubscriptionState {
    /// End of the current term: the renewal, or the expiry without auto-renew.
    pub fn term_end(&self) -> DateTime<Utc> {
        // Only durations with a known length are stored, so the fallback ("never") is for
        // a date past chrono's range.
        self.term_duration
            .end_of_term(self.term_start)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

/// An account that does not exist yet, with everything that hangs off it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LateUser {
    pub appears_at: DateTime<Utc>,
    pub user: UserState,
    pub mailbox: Option<MailboxState>,
    pub drive: Option<DriveState>,
    pub groups: Vec<GroupId>,
    /// Directory role ids.
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingLicense {
    pub user: UserId,
    pub group: GroupId,
    pub due: DateTime<Utc>,
}

impl State {
    /// Next fake `request-id` (deterministic, GUID-shaped).
    pub fn next_request_id(&mut self) -> String {
        self.request_seq += 1;
        format!("5e1a0000-0000-4000-8000-{:012x}", self.request_seq)
    }

    /// An active (not soft-deleted) user by id or UPN (case-insensitive).
    pub fn find_user(&self, id_or_upn: &str) -> Option<&UserState> {
        self.find_matching(id_or_upn, |u| u.deleted_date_time.is_none())
    }

    /// A user by id or UPN, soft-deleted or not.
    pub fn find_any_user(&self, id_or_upn: &str) -> Option<&UserState> {
        self.find_matching(id_or_upn, |_| true)
    }

    /// A user by id or UPN (case-insensitive) for which `pred` holds. A soft-deleted user and
    /// an active one may share a UPN (deletion frees it, docs/microsoft-365-api.md §3.6), so the
    /// UPN search skips users `pred` rejects.
    pub fn find_matching(
        &self,
        id_or_upn: &str,
        pred: impl Fn(&UserState) -> bool,
    ) -> Option<&UserState> {
        let key = id_or_upn.trim();
        if let Some(u) = self.users.get(&UserId::new(key.to_ascii_lowercase())) {
            return Some(u).filter(|u| pred(u));
        }
        self.users
            .values()
            .find(|u| pred(u) && u.user_principal_name.eq_ignore_ascii_case(key))
    }

    /// The id of the active user, or `NotFound` as `/users/{id}` returns it.
    pub fn active_id(&self, id_or_upn: &str) -> TenantResult<UserId> {
        self.find_user(id_or_upn)
            .map(|u| u.id.clone())
            .ok_or_else(|| errors::user_not_found(id_or_upn))
    }

    pub fn user_mut(&mut self, id: &UserId) -> TenantResult<&mut UserState> {
        match self.users.get_mut(id) {
            Some(u) if u.deleted_date_time.is_none() => Ok(u),
            _ => Err(errors::user_not_found(id.as_str())),
        }
    }

    pub fn sku_by_ref(&self, r: &str) -> Option<&SkuState> {
        let r = r.trim();
        self.skus
            .get(&SkuId::new(r.to_ascii_lowercase()))
            .or_else(|| {
                self.skus
                    .values()
                    .find(|s| s.sku_part_number.eq_ignore_ascii_case(r))
            })
    }

    pub fn drive_of(&self, user: &UserId) -> Option<&DriveState> {
        self.drives.values().find(|d| &d.owner == user)
    }

    pub fn record_damage(&mut self, at: DateTime<Utc>, user: &UserId, rule: &str, what: String) {
        let upn = self
            .users
            .get(user)
            .map(|u| u.user_principal_name.clone())
            .unwrap_or_else(|| user.to_string());
        self.record_damage_to(at, upn, rule, what);
    }

    /// Damage to something other than one user (`who`: e.g. a SKU's part number).
    pub fn record_damage_to(&mut self, at: DateTime<Utc>, who: String, rule: &str, what: String) {
        tracing::debug!(rule, user = %who, "Simulated tenant recorded damage.");
        self.damage.push(Damage {
            at,
            user: who,
            rule: rule.to_string(),
            what,
        });
    }
}
