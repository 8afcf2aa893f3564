//! Domain types of the tenant, named after their Graph / Exchange counterparts
//! (docs/microsoft-365-api.md). Field comments give the wire name where it differs.

use crate::ids::{DriveId, GroupId, SkuId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A user as `GET /users/{id}?$select=...` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: UserId,
    pub user_principal_name: String,
    pub display_name: String,
    #[serde(default)]
    pub mail: Option<String>,
    pub account_enabled: bool,
    #[serde(default)]
    pub usage_location: Option<String>,
    /// `true` = mastered in on-premises AD (R9); `None` = cloud-only.
    #[serde(default)]
    pub on_premises_sync_enabled: Option<bool>,
    /// Every SKU the user holds, by any path (direct or group).
    #[serde(default)]
    pub assigned_licenses: Vec<AssignedLicense>,
    /// One entry per assignment path (direct: `assigned_by_group == None`).
    #[serde(default)]
    pub license_assignment_states: Vec<LicenseAssignmentState>,
    #[serde(default)]
    pub sign_in_sessions_valid_from: Option<DateTime<Utc>>,
    /// Directory attributes an operator selects users by (issue 6 bulk submission).
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

impl User {
    pub fn is_synced(&self) -> bool {
        self.on_premises_sync_enabled == Some(true)
    }

    /// SKUs assigned directly to the user (not through a group).
    pub fn direct_skus(&self) -> Vec<SkuId> {
        self.license_assignment_states
            .iter()
            .filter(|s| s.assigned_by_group.is_none())
            .map(|s| s.sku_id.clone())
            .collect()
    }

    /// (SKU, group) pairs the user inherits through group membership.
    pub fn group_skus(&self) -> Vec<(SkuId, GroupId)> {
        self.license_assignment_states
            .iter()
            .filter_map(|s| {
                s.assigned_by_group
                    .as_ref()
                    .map(|g| (s.sku_id.clone(), g.clone()))
            })
            .collect()
    }

    pub fn holds_sku(&self, sku: &SkuId) -> bool {
        self.assigned_licenses.iter().any(|l| &l.sku_id == sku)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignedLicense {
    pub sku_id: SkuId,
    #[serde(default)]
    pub disabled_plans: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseAssignmentState {
    pub sku_id: SkuId,
    #[serde(default)]
    pub assigned_by_group: Option<GroupId>,
    #[serde(default)]
    pub disabled_plans: Vec<String>,
    /// `Active`, `ActiveWithError`, `Disabled`, `Error`.
    pub state: String,
    /// `None` (or absent) on success; `CountViolation`, `Other`, ... on error.
    #[serde(default)]
    pub error: Option<String>,
}

/// A subscribed SKU (`GET /subscribedSkus`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sku {
    pub sku_id: SkuId,
    pub sku_part_number: String,
    /// `Enabled`, `Warning`, `Suspended`, `Deleted`, `LockedOut`.
    pub capability_status: String,
    pub consumed_units: i64,
    pub prepaid_units: PrepaidUnits,
    #[serde(default)]
    pub service_plans: Vec<ServicePlan>,
    /// The company subscriptions (§4.9 `id`) whose seats make up `prepaid_units`.
    #[serde(default)]
    pub subscription_ids: Vec<String>,
}

impl Sku {
    /// R13: free = prepaidUnits.enabled − consumedUnits (may be negative during grace).
    pub fn free_units(&self) -> i64 {
        self.prepaid_units.enabled - self.consumed_units
    }

    /// Whether the SKU carries an Exchange Online mailbox plan.
    pub fn has_exchange(&self) -> bool {
        self.service_plans.iter().any(ServicePlan::is_exchange)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrepaidUnits {
    pub enabled: i64,
    #[serde(default)]
    pub warning: i64,
    #[serde(default)]
    pub suspended: i64,
    #[serde(default)]
    pub locked_out: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePlan {
    pub service_plan_id: String,
    pub service_plan_name: String,
}

impl ServicePlan {
    /// Exchange Online mailbox plans (`EXCHANGE_S_ENTERPRISE`, `EXCHANGE_S_STANDARD`, ...).
    pub fn is_exchange(&self) -> bool {
        self.service_plan_name.starts_with("EXCHANGE_S_")
    }
}

/// A group as `memberOf` / `GET /groups/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: GroupId,
    pub display_name: String,
    /// Contains `DynamicMembership` for dynamic groups, `Unified` for Microsoft 365 groups.
    #[serde(default)]
    pub group_types: Vec<String>,
    #[serde(default)]
    pub mail_enabled: bool,
    #[serde(default)]
    pub security_enabled: bool,
    #[serde(default)]
    pub on_premises_sync_enabled: Option<bool>,
    #[serde(default)]
    pub membership_rule: Option<String>,
    /// Licenses assigned to the group (group-based licensing).
    #[serde(default)]
    pub assigned_licenses: Vec<AssignedLicense>,
}

impl Group {
    pub fn is_dynamic(&self) -> bool {
        self.group_types.iter().any(|t| t == "DynamicMembership")
    }

    /// Why Graph cannot change the members, if it cannot (R10, docs/microsoft-365-api.md §4.7).
    pub fn not_editable_reason(&self) -> Option<&'static str> {
        if self.is_dynamic() {
            Some("it has dynamic membership; change the membership rule or the user's attributes")
        } else if self.on_premises_sync_enabled == Some(true) {
            Some("it is synced from on-premises AD; change the membership there")
        } else if self.mail_enabled && !self.group_types.iter().any(|t| t == "Unified") {
            Some("it is a mail-enabled security group or distribution list; change it in Exchange")
        } else {
            None
        }
    }
}

/// An entry of `GET /users/{id}/memberOf`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum DirectoryObject {
    Group(Group),
    #[serde(rename_all = "camelCase")]
    DirectoryRole {
        id: String,
        display_name: String,
        role_template_id: String,
    },
}

/// A soft-deleted user (`GET /directory/deletedItems/microsoft.graph.user`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedUser {
    pub id: UserId,
    pub user_principal_name: String,
    pub display_name: String,
    pub deleted_date_time: DateTime<Utc>,
}

/// `RecipientTypeDetails` of a mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailboxType {
    UserMailbox,
    SharedMailbox,
    RoomMailbox,
    EquipmentMailbox,
}

impl MailboxType {
    /// The `-Type` value of `Set-Mailbox`.
    pub fn set_mailbox_value(self) -> &'static str {
        match self {
            MailboxType::UserMailbox => "Regular",
            MailboxType::SharedMailbox => "Shared",
            MailboxType::RoomMailbox => "Room",
            MailboxType::EquipmentMailbox => "Equipment",
        }
    }
}

/// What `Get-Mailbox` plus `Get-MailboxStatistics` tell about a mailbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mailbox {
    pub user_id: UserId,
    pub primary_smtp_address: String,
    pub recipient_type_details: MailboxType,
    #[serde(default)]
    pub forwarding_smtp_address: Option<String>,
    #[serde(default)]
    pub forwarding_address: Option<String>,
    #[serde(default)]
    pub deliver_to_mailbox_and_forward: bool,
    #[serde(default)]
    pub hidden_from_address_lists_enabled: bool,
    #[serde(default)]
    pub litigation_hold_enabled: bool,
    /// `ArchiveStatus` is `Active` when an in-place archive exists.
    #[serde(default)]
    pub archive_active: bool,
    /// `TotalItemSize` in bytes.
    #[serde(default)]
    pub total_item_size_bytes: u64,
}

impl Mailbox {
    pub fn forwards(&self) -> bool {
        self.forwarding_smtp_address.is_some() || self.forwarding_address.is_some()
    }

    /// R2/R8: why this mailbox keeps needing an Exchange license even when shared.
    pub fn license_required_reason(&self) -> Option<String> {
        const LIMIT: u64 = 50 * 1024 * 1024 * 1024;
        if self.litigation_hold_enabled {
            Some("the mailbox is on litigation hold (R2, R8, see docs/rules.md)".into())
        } else if self.archive_active {
            Some("the mailbox has an in-place archive (R2, see docs/rules.md)".into())
        } else if self.total_item_size_bytes > LIMIT {
            Some(format!(
                "the mailbox holds {:.1} GB, over the 50 GB a shared mailbox may hold without a license (R2, see docs/rules.md)",
                self.total_item_size_bytes as f64 / 1e9
            ))
        } else {
            None
        }
    }
}

/// One entry of `Get-MailboxPermission`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MailboxPermission {
    /// The trustee (UPN).
    pub user: String,
    pub access_rights: Vec<String>,
    #[serde(default)]
    pub is_inherited: bool,
    #[serde(default)]
    pub deny: bool,
}

/// `mailboxSettings.automaticRepliesSetting`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoReply {
    /// `disabled`, `alwaysEnabled`, `scheduled`.
    pub status: String,
    /// `none`, `contactsOnly`, `all`.
    pub external_audience: String,
    #[serde(default)]
    pub internal_reply_message: String,
    #[serde(default)]
    pub external_reply_message: String,
}

impl AutoReply {
    pub fn disabled() -> Self {
        AutoReply {
            status: "disabled".into(),
            external_audience: "all".into(),
            internal_reply_message: String::new(),
            external_reply_message: String::new(),
        }
    }
}

/// A user's OneDrive (`GET /users/{id}/drive`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Drive {
    pub id: DriveId,
    pub owner: UserId,
    pub web_url: String,
    pub quota_used: u64,
}

/// A drive item as delta returns it. Paths are not populated by delta: build them from
/// `parent_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriveItem {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub is_folder: bool,
    #[serde(default)]
    pub is_root: bool,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub hashes: FileHashes,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileHashes {
    #[serde(default)]
    pub quick_xor_hash: Option<String>,
    /// Lower-case hex.
    #[serde(default)]
    pub sha256_hash: Option<String>,
}

/// One page of `GET /drives/{id}/root/delta`: exactly one of `next_link` and `delta_link`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeltaPage {
    pub items: Vec<DriveItem>,
    #[serde(default)]
    pub next_link: Option<String>,
    #[serde(default)]
    pub delta_link: Option<String>,
}

/// A sharing permission on a drive item (`invite` result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DrivePermission {
    pub id: String,
    pub roles: Vec<String>,
    /// The grantee's email / UPN.
    pub granted_to: String,
}
