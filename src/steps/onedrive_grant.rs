//! `onedrive.grant`: gives the manager access to the leaver's OneDrive (invite on the root,
//! no mail) unless it is already there. No manager → blocked (R7).

use super::drive_walk::{enumerate, root_id};
use super::subject::{base_output, manager_upn, resolve_user, same_principal};
use super::{StepContext, StepOutcome, StepReport};
use crate::tenant::{DrivePermission, ErrorKind, Tenant};
use crate::try_tenant;
use serde_json::{Value, json};
use std::time::Duration;

pub const PARAMS: &[&str] = &["manager", "role"];

fn covers(perms: &[DrivePermission], who: &str, role: &str) -> bool {
    perms.iter().any(|p| {
        same_principal(&p.granted_to, who)
            && p.roles
                .iter()
                .any(|r| r == role || r == "owner" || (role == "read" && r == "write"))
    })
}

pub async fn run(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
    let user = match resolve_user(ctx, tenant).await {
        Ok(u) => u,
        Err(o) => return o,
    };
    let upn = user.user_principal_name.clone();
    let role = ctx.param_str("role").unwrap_or("write");
    if role != "read" && role != "write" {
        return StepOutcome::failed(format!(
            "onedrive.grant for {upn}: role `{role}` is not valid; use `read` or `write`"
        ));
    }
    let mut output = base_output(&user);
    let drive = match tenant.get_drive(&user.id).await {
        Ok(d) => d,
        Err(e) if e.kind == ErrorKind::DriveNotFound => {
            output.insert("driveId".into(), Value::Null);
            output.insert("granted".into(), json!(false));
            return StepOutcome::Done(StepReport {
                observed: json!({"drive": null}),
                changed: Vec::new(),
                verified: json!({"note": format!("{upn} has no OneDrive to hand over")}),
                output: Value::Object(output),
                ..StepReport::default()
            });
        }
        Err(e) => return StepOutcome::from_error(&format!("reading the OneDrive of {upn}"), e),
    };
    let manager = match manager_upn(ctx, tenant, &user).await {
        Ok(Some(m)) => m,
        Ok(None) => {
            return StepOutcome::blocked(format!(
                "{upn} has no manager to hand the OneDrive to (R7): set a manager or use onedrive=backup"
            ));
        }
        Err(o) => return o,
    };
    let items = match enumerate(tenant, &drive.id, &upn).await {
        Ok(i) => i,
        Err(o) => return o,
    };
    let Some(root) = root_id(&items) else {
        return StepOutcome::Retry {
            after: Some(Duration::from_secs(30)),
            reason: format!("the listing of the OneDrive of {upn} has no root item; listing again"),
        };
    };
    let before = try_tenant!(
        tenant.list_permissions(&drive.id, &root).await,
        "reading the sharing permissions of the OneDrive of {upn}"
    );
    let mut changed = Vec::new();
    if !covers(&before, &manager, role) {
        try_tenant!(
            tenant.invite(&drive.id, &root, &manager, role).await,
            "giving {manager} {role} access to the OneDrive of {upn}"
        );
        changed.push(format!(
            "gave {manager} {role} access to the OneDrive of {upn}"
        ));
    }
    let after = try_tenant!(
        tenant.list_permissions(&drive.id, &root).await,
        "re-reading the sharing permissions of the OneDrive of {upn}"
    );
    if !covers(&after, &manager, role) {
        return StepOutcome::Retry {
            after: Some(Duration::from_secs(30)),
            reason: format!(
                "{role} access of {manager} to the OneDrive of {upn} is not visible yet"
            ),
        };
    }
    output.insert("driveId".into(), json!(drive.id));
    output.insert("grantedTo".into(), json!(manager));
    output.insert("role".into(), json!(role));
    output.insert("granted".into(), json!(true));
    output.insert("grantAdded".into(), json!(!covers(&before, &manager, role)));
    StepOutcome::Done(StepReport {
        observed: json!({"driveId": drive.id, "permissions": before}),
        changed,
        verified: json!({"grantedTo": manager, "role": role}),
        output: Value::Object(output),
        ..StepReport::default()
    })
}
