//! `user.snapshot`: reads everything a later `hr.restore` needs to undo the leaver (user,
//! licenses, groups, roles, manager, mailbox with permissions and auto-reply, drive) before
//! any change. Read-only, so a repeat simply re-reads.

use super::subject::{base_output, mailbox_of, resolve_user, skus_by_id};
use super::{StepContext, StepOutcome, StepPlan, StepReport};
use crate::ids::{DriveId, GroupId, SkuId, UserId};
use crate::tenant::{
    AutoReply, DirectoryObject, ErrorKind, Group, LicenseAssignmentState, Mailbox,
    MailboxPermission, Tenant, User,
};
use crate::try_observe;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const PARAMS: &[&str] = &[];

/// The state of a user before the leaver changed anything (output field `snapshot`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub taken_at: DateTime<Utc>,
    pub user_id: UserId,
    pub upn: String,
    pub display_name: String,
    pub account_enabled: bool,
    pub usage_location: Option<String>,
    pub on_premises_sync_enabled: Option<bool>,
    /// One entry per license path (direct: `assignedByGroup` null).
    pub licenses: Vec<SnapshotLicense>,
    pub groups: Vec<Group>,
    pub roles: Vec<SnapshotRole>,
    pub manager: Option<SnapshotManager>,
    pub mailbox: Option<SnapshotMailbox>,
    pub drive_id: Option<DriveId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotLicense {
    pub sku_id: SkuId,
    pub sku_part_number: String,
    pub assigned_by_group: Option<GroupId>,
    pub disabled_plans: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotRole {
    pub id: String,
    pub display_name: String,
    pub role_template_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotManager {
    pub id: UserId,
    pub upn: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotMailbox {
    #[serde(flatten)]
    pub mailbox: Mailbox,
    pub full_access: Vec<MailboxPermission>,
    pub auto_reply: Option<AutoReply>,
}

impl Snapshot {
    /// The snapshot an earlier step of this run recorded, if any and readable.
    pub fn from_outputs(ctx: &StepContext<'_>) -> Option<Snapshot> {
        ctx.outputs
            .values()
            .filter_map(|o| o.get("snapshot"))
            .find_map(|v| serde_json::from_value(v.clone()).ok())
    }

    /// The license paths as `licenseAssignmentStates` would show them.
    pub fn license_states(&self) -> Vec<LicenseAssignmentState> {
        self.licenses
            .iter()
            .map(|l| LicenseAssignmentState {
                sku_id: l.sku_id.clone(),
                assigned_by_group: l.assigned_by_group.clone(),
                disabled_plans: l.disabled_plans.clone(),
                state: "Active".into(),
                error: None,
            })
            .collect()
    }
}

/// Reads the user's state as a [`Snapshot`] (the same reads for `run` and `plan`).
async fn observe(
    ctx: &StepContext<'_>,
    tenant: &dyn Tenant,
) -> Result<(User, Snapshot), StepOutcome> {
    let user = match resolve_user(ctx, tenant).await {
        Ok(u) => u,
        Err(o) => return Err(o),
    };
    let upn = user.user_principal_name.clone();
    let skus = match skus_by_id(tenant, &upn).await {
        Ok(s) => s,
        Err(o) => return Err(o),
    };
    let member_of = try_observe!(
        tenant.member_of(&user.id).await,
        "reading the group memberships of {upn}"
    );
    let manager = match tenant.get_manager(&user.id).await {
        Ok(m) => m,
        Err(e) if e.kind == ErrorKind::NotFound => None,
        Err(e) => {
            return Err(StepOutcome::from_error(
                &format!("reading the manager of {upn}"),
                e,
            ));
        }
    };
    let mailbox = match mailbox_of(tenant, &user).await {
        Ok(m) => m,
        Err(o) => return Err(o),
    };
    let mailbox = match mailbox {
        None => None,
        Some(mailbox) => {
            let full_access = try_observe!(
                tenant.get_mailbox_permissions(&user.id).await,
                "reading the mailbox permissions of {upn}"
            );
            let auto_reply = try_observe!(
                tenant.get_auto_reply(&user.id).await,
                "reading the automatic replies of {upn}"
            );
            Some(SnapshotMailbox {
                mailbox,
                full_access,
                auto_reply: Some(auto_reply),
            })
        }
    };
    let drive_id = match tenant.get_drive(&user.id).await {
        Ok(d) => Some(d.id),
        Err(e) if matches!(e.kind, ErrorKind::DriveNotFound | ErrorKind::NotFound) => None,
        Err(e) => {
            return Err(StepOutcome::from_error(
                &format!("reading the OneDrive of {upn}"),
                e,
            ));
        }
    };

    let mut groups = Vec::new();
    let mut roles = Vec::new();
    for o in member_of {
        match o {
            DirectoryObject::Group(g) => groups.push(g),
            DirectoryObject::DirectoryRole {
                id,
                display_name,
                role_template_id,
            } => roles.push(SnapshotRole {
                id,
                display_name,
                role_template_id,
            }),
        }
    }
    let licenses = user
        .license_assignment_states
        .iter()
        .map(|s| SnapshotLicense {
            sku_id: s.sku_id.clone(),
            sku_part_number: super::subject::part_number(&skus, &s.sku_id),
            assigned_by_group: s.assigned_by_group.clone(),
            disabled_plans: s.disabled_plans.clone(),
        })
        .collect();
    let snapshot = Snapshot {
        taken_at: ctx.now,
        user_id: user.id.clone(),
        upn: upn.clone(),
        display_name: user.display_name.clone(),
        account_enabled: user.account_enabled,
        usage_location: user.usage_location.clone(),
        on_premises_sync_enabled: user.on_premises_sync_enabled,
        licenses,
        groups,
        roles,
        manager: manager.map(|m| SnapshotManager {
            id: m.id,
            upn: m.user_principal_name,
        }),
        mailbox,
        drive_id,
    };
    Ok((user, snapshot))
}

pub async fn run(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
    let (user, snapshot) = match observe(ctx, tenant).await {
        Ok(o) => o,
        Err(o) => return o,
    };
    let upn = user.user_principal_name.clone();
    let snap_value = match serde_json::to_value(&snapshot) {
        Ok(v) => v,
        Err(e) => return StepOutcome::failed(format!("recording the snapshot of {upn}: {e}")),
    };
    let mut output = base_output(&user);
    output.insert("snapshot".into(), snap_value.clone());
    StepOutcome::Done(StepReport {
        observed: snap_value,
        changed: Vec::new(),
        verified: json!({"licenses": snapshot.licenses.len(), "groups": snapshot.groups.len(),
            "roles": snapshot.roles.len(), "mailbox": snapshot.mailbox.is_some(),
            "drive": snapshot.drive_id.is_some()}),
        output: Value::Object(output),
        ..StepReport::default()
    })
}

/// What the snapshot would record, from the same reads.
pub async fn plan(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepPlan {
    let s = match observe(ctx, tenant).await {
        Ok((_, s)) => s,
        Err(o) => return StepPlan::stopped("cannot-snapshot", o),
    };
    let mailbox = match &s.mailbox {
        None => "no mailbox".to_string(),
        Some(m) => format!(
            "a {:?} of {}",
            m.mailbox.recipient_type_details,
            super::plan::size_text(m.mailbox.total_item_size_bytes)
        ),
    };
    StepPlan::doing(format!(
        "record {}: {} license(s), {} group(s), {} role(s), manager {}, {mailbox}, {}",
        s.upn,
        s.licenses.len(),
        s.groups.len(),
        s.roles.len(),
        s.manager.as_ref().map_or("none", |m| m.upn.as_str()),
        if s.drive_id.is_some() {
            "a OneDrive"
        } else {
            "no OneDrive"
        }
    ))
}
