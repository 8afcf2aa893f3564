//! Graph JSON (docs/microsoft-365-api.md §3–§6) to the domain types of `tenant/types.rs`. The wire
//! structs accept what the service may leave out or send as `null`; the `$select` lists name every
//! property the domain types need, since most are not in Graph's default set (§3.1).

use crate::ids::{DriveId, GroupId, SkuId, UserId};
use crate::tenant::{
    AssignedLicense, AutoReply, CompanySubscription, DeletedUser, DeltaPage, DirectoryObject,
    Drive, DriveItem, DrivePermission, FileHashes, Group, LicenseAssignmentState, User,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

pub const USER_SELECT: &str = "id,userPrincipalName,displayName,mail,accountEnabled,usageLocation,onPremisesSyncEnabled,assignedLicenses,licenseAssignmentStates,signInSessionsValidFromDateTime,department,jobTitle,companyName,officeLocation,city,country";
pub const GROUP_SELECT: &str = "id,displayName,groupTypes,mailEnabled,securityEnabled,onPremisesSyncEnabled,membershipRule,assignedLicenses";
pub const DELETED_SELECT: &str = "id,displayName,userPrincipalName,deletedDateTime";
pub const DELTA_SELECT: &str = "id,name,size,file,folder,parentReference,deleted,root";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireLicenseState {
    sku_id: SkuId,
    #[serde(default)]
    assigned_by_group: Option<GroupId>,
    #[serde(default)]
    disabled_plans: Option<Vec<String>>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireUser {
    id: UserId,
    #[serde(default)]
    user_principal_name: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    mail: Option<String>,
    #[serde(default)]
    account_enabled: Option<bool>,
    #[serde(default)]
    usage_location: Option<String>,
    #[serde(default)]
    on_premises_sync_enabled: Option<bool>,
    #[serde(default)]
    assigned_licenses: Option<Vec<AssignedLicense>>,
    #[serde(default)]
    license_assignment_states: Option<Vec<WireLicenseState>>,
    #[serde(default)]
    sign_in_sessions_valid_from_date_time: Option<DateTime<Utc>>,
    #[serde(default)]
    department: Option<String>,
    #[serde(default)]
    job_title: Option<String>,
    #[serde(default)]
    company_name: Option<String>,
    #[serde(default)]
    office_location: Option<String>,
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    country: Option<String>,
}

impl From<WireUser> for User {
    fn from(w: WireUser) -> User {
        User {
            id: w.id,
            // An orgContact manager has no UPN: its mail stands in.
            user_principal_name: w
                .user_principal_name
                .or_else(|| w.mail.clone())
                .unwrap_or_default(),
            display_name: w.display_name.unwrap_or_default(),
            mail: w.mail,
            account_enabled: w.account_enabled.unwrap_or(false),
            usage_location: w.usage_location,
            on_premises_sync_enabled: w.on_premises_sync_enabled,
            assigned_licenses: w.assigned_licenses.unwrap_or_default(),
            license_assignment_states: w
                .license_assignment_states
                .unwrap_or_default()
                .into_iter()
                .map(|s| LicenseAssignmentState {
                    sku_id: s.sku_id,
                    assigned_by_group: s.assigned_by_group,
                    disabled_plans: s.disabled_plans.unwrap_or_default(),
                    state: s.state.unwrap_or_default(),
                    error: s.error,
                })
                .collect(),
            sign_in_sessions_valid_from: w.sign_in_sessions_valid_from_date_time,
            department: w.department,
            job_title: w.job_title,
            company_name: w.company_name,
            office_location: w.office_location,
            city: w.city,
            country: w.country,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireGroup {
    id: GroupId,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    group_types: Option<Vec<String>>,
    #[serde(default)]
    mail_enabled: Option<bool>,
    #[serde(default)]
    security_enabled: Option<bool>,
    #[serde(default)]
    on_premises_sync_enabled: Option<bool>,
    #[serde(default)]
    membership_rule: Option<String>,
    #[serde(default)]
    assigned_licenses: Option<Vec<AssignedLicense>>,
}

impl From<WireGroup> for Group {
    fn from(w: WireGroup) -> Group {
        Group {
            id: w.id,
            display_name: w.display_name.unwrap_or_default(),
            group_types: w.group_types.unwrap_or_default(),
            mail_enabled: w.mail_enabled.unwrap_or(false),
            security_enabled: w.security_enabled.unwrap_or(false),
            on_premises_sync_enabled: w.on_premises_sync_enabled,
            membership_rule: w.membership_rule,
            assigned_licenses: w.assigned_licenses.unwrap_or_default(),
        }
    }
}

fn odata_type(v: &Value) -> &str {
    v.get("@odata.type").and_then(Value::as_str).unwrap_or("")
}

/// A `memberOf` entry: groups and directory roles; other types (administrative units) are
/// not memberships offboard changes and are left out.
pub fn directory_object(v: Value) -> Option<DirectoryObject> {
    match odata_type(&v) {
        "#microsoft.graph.group" => serde_json::from_value::<WireGroup>(v)
            .ok()
            .map(|g| DirectoryObject::Group(g.into())),
        "#microsoft.graph.directoryRole" => Some(DirectoryObject::DirectoryRole {
            id: v.get("id")?.as_str()?.to_string(),
            display_name: v
                .get("displayName")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            role_template_id: v
                .get("roleTemplateId")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        }),
        _ => None,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireDeletedUser {
    id: UserId,
    #[serde(default, rename = "@odata.type")]
    pub odata_type: Option<String>,
    #[serde(default)]
    user_principal_name: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    deleted_date_time: Option<DateTime<Utc>>,
}

impl WireDeletedUser {
    /// `None` without `deletedDateTime` (not actually deleted).
    pub fn into_domain(self) -> Option<DeletedUser> {
        Some(DeletedUser {
            id: self.id,
            user_principal_name: self.user_principal_name.unwrap_or_default(),
            display_name: self.display_name.unwrap_or_default(),
            deleted_date_time: self.deleted_date_time?,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireCompanySubscription {
    id: String,
    #[serde(default)]
    commerce_subscription_id: Option<String>,
    sku_id: SkuId,
    #[serde(default)]
    sku_part_number: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    total_licenses: Option<i64>,
    #[serde(default)]
    is_trial: Option<bool>,
    #[serde(default)]
    created_date_time: Option<DateTime<Utc>>,
    #[serde(default)]
    next_lifecycle_date_time: Option<DateTime<Utc>>,
}

impl From<WireCompanySubscription> for CompanySubscription {
    fn from(w: WireCompanySubscription) -> Self {
        CompanySubscription {
            id: w.id,
            commerce_subscription_id: w.commerce_subscription_id.unwrap_or_default(),
            sku_id: w.sku_id,
            sku_part_number: w.sku_part_number.unwrap_or_default(),
            status: w.status.unwrap_or_default(),
            total_licenses: w.total_licenses.unwrap_or_default(),
            is_trial: w.is_trial.unwrap_or(false),
            created_date_time: w.created_date_time,
            next_lifecycle_date_time: w.next_lifecycle_date_time,
        }
    }
}

fn canonical(value: Option<String>, known: &[&str], default: &str) -> String {
    let v = value.unwrap_or_default();
    known
        .iter()
        .find(|k| k.eq_ignore_ascii_case(&v))
        .map_or_else(
            || if v.is_empty() { default.to_string() } else { v },
            |k| k.to_string(),
        )
}

/// `automaticRepliesSetting`; values compared case-insensitively (§5.1: docs mix case).
pub fn auto_reply(v: &Value) -> AutoReply {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    AutoReply {
        status: canonical(
            s("status"),
            &["disabled", "alwaysEnabled", "scheduled"],
            "disabled",
        ),
        external_audience: canonical(
            s("externalAudience"),
            &["none", "contactsOnly", "all"],
            "all",
        ),
        internal_reply_message: s("internalReplyMessage").unwrap_or_default(),
        external_reply_message: s("externalReplyMessage").unwrap_or_default(),
    }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

pub fn drive(v: &Value, user: &UserId) -> Option<Drive> {
    Some(Drive {
        id: DriveId::new(str_at(v, &["id"])?),
        owner: str_at(v, &["owner", "user", "id"]).map_or_else(|| user.clone(), UserId::new),
        web_url: str_at(v, &["webUrl"]).unwrap_or_default().to_string(),
        quota_used: v
            .pointer("/quota/used")
            .and_then(Value::as_u64)
            .unwrap_or(0),
    })
}

pub fn drive_item(v: &Value) -> Option<DriveItem> {
    let hashes = v.pointer("/file/hashes");
    let hash = |k: &str| {
        hashes
            .and_then(|h| h.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    Some(DriveItem {
        id: str_at(v, &["id"])?.to_string(),
        name: str_at(v, &["name"]).unwrap_or_default().to_string(),
        parent_id: str_at(v, &["parentReference", "id"]).map(str::to_string),
        size: v.get("size").and_then(Value::as_u64).unwrap_or(0),
        is_folder: v.get("folder").is_some_and(|f| !f.is_null()),
        is_root: v.get("root").is_some_and(|f| !f.is_null()),
        deleted: v.get("deleted").is_some_and(|f| !f.is_null()),
        hashes: FileHashes {
            quick_xor_hash: hash("quickXorHash"),
            // Graph sends hex in upper case; the domain keeps lower case.
            sha256_hash: hash("sha256Hash").map(|h| h.to_ascii_lowercase()),
        },
    })
}

pub fn delta_page(page: super::paging::RawPage) -> DeltaPage {
    DeltaPage {
        items: page.value.iter().filter_map(drive_item).collect(),
        next_link: page.next_link,
        delta_link: page.delta_link,
    }
}

/// A sharing permission; the grantee is its email as the service knows it.
pub fn permission(v: &Value) -> Option<DrivePermission> {
    let granted_to = [
        &["grantedToV2", "user", "email"][..],
        &["invitation", "email"],
        &["grantedTo", "user", "email"],
        &["grantedToV2", "siteUser", "email"],
        &["grantedToV2", "user", "displayName"],
    ]
    .iter()
    .find_map(|p| str_at(v, p))
    .unwrap_or_default();
    Some(DrivePermission {
        id: str_at(v, &["id"])?.to_string(),
        roles: v
            .get("roles")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        granted_to: granted_to.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_documented_user_maps_with_its_license_paths() {
        let v = json!({
            "id": "3b9f6c1e-8a24-4d57-b0e3-6f2c91d4a8b5", "userPrincipalName": "dana.lee@contoso.com",
            "displayName": "Dana Lee", "accountEnabled": true, "usageLocation": "US",
            "onPremisesSyncEnabled": null,
            "assignedLicenses": [{"disabledPlans": [], "skuId": "05e9a617-0261-4cee-bb44-138d3ef5d965"}],
            "licenseAssignmentStates": [
                {"assignedByGroup": null, "disabledPlans": [], "error": "None", "lastUpdatedDateTime": "2026-03-02T09:14:05Z", "skuId": "05e9a617-0261-4cee-bb44-138d3ef5d965", "state": "Active"},
                {"assignedByGroup": "5d1a7e02-96c4-4b3f-8e17-c2a9f0b6d4e8", "disabledPlans": [], "error": "None", "skuId": "05e9a617-0261-4cee-bb44-138d3ef5d965", "state": "Active"}
            ]
        });
        let u: User = serde_json::from_value::<WireUser>(v).unwrap().into();
        assert_eq!(u.direct_skus().len(), 1);
        assert_eq!(u.group_skus().len(), 1);
        assert!(u.account_enabled && !u.is_synced());
    }

    #[test]
    fn member_of_keeps_groups_and_roles_only() {
        let g = directory_object(
            json!({"@odata.type": "#microsoft.graph.group", "id": "g1", "displayName": "G", "groupTypes": ["Unified"], "mailEnabled": true}),
        );
        assert!(
            matches!(g, Some(DirectoryObject::Group(ref g)) if !g.is_dynamic() && g.not_editable_reason().is_none())
        );
        let r = directory_object(
            json!({"@odata.type": "#microsoft.graph.directoryRole", "id": "r1", "displayName": "Helpdesk Administrator", "roleTemplateId": "t"}),
        );
        assert!(matches!(r, Some(DirectoryObject::DirectoryRole { .. })));
        assert!(
            directory_object(
                json!({"@odata.type": "#microsoft.graph.administrativeUnit", "id": "a"})
            )
            .is_none()
        );
    }

    #[test]
    fn auto_reply_values_are_canonical_whatever_their_case() {
        let a = auto_reply(
            &json!({"status": "Scheduled", "externalAudience": "All", "internalReplyMessage": "x"}),
        );
        assert_eq!(
            (a.status.as_str(), a.external_audience.as_str()),
            ("scheduled", "all")
        );
    }

    #[test]
    fn delta_items_and_permissions_map() {
        let i = drive_item(&json!({"id": "01F", "name": "q3.xlsx", "size": 48213, "file": {"hashes": {"sha256Hash": "ABCD"}}, "parentReference": {"id": "01D"}})).unwrap();
        assert_eq!(
            (
                i.parent_id.as_deref(),
                i.is_folder,
                i.hashes.sha256_hash.as_deref()
            ),
            (Some("01D"), false, Some("abcd"))
        );
        let p = permission(&json!({"id": "p", "roles": ["write"], "grantedToV2": {"user": {"email": "sam.ortiz@contoso.com"}}, "invitation": {"email": "x@y"}})).unwrap();
        assert_eq!(p.granted_to, "sam.ortiz@contoso.com");
    }
}
