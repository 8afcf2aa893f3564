//! `onedrive.grant`: gives the manager access to the leaver's OneDrive (invite on the root,
//! no mail) unless it is already there. No manager → blocked (R7).

use super::drive_walk::{enumerate, root_id};
use super::plan::size_text;
use super::subject::{
    base_output, drive_of, is_not_found, manager_upn, resolve_user, same_principal,
};
use super::{StepContext, StepOutcome, StepPlan, StepReport};
use crate::tenant::{DrivePermission, Tenant, User};
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

/// The `role` parameter (`write` by default); anything but `read`/`write` fails the step.
fn role<'a>(ctx: &'a StepContext<'_>, upn: &str) -> Result<&'a str, String> {
    let role = ctx.param_str("role").unwrap_or("write");
    if role != "read" && role != "write" {
        return Err(format!(
            "onedrive.grant for {upn}: role `{role}` is not valid; use `read` or `write`"
        ));
    }
    Ok(role)
}

/// R7: nobody to hand the OneDrive to.
fn no_manager(upn: &str) -> String {
    format!(
        "{upn} has no manager to hand the OneDrive to (R7, see docs/rules.md): set a manager or use onedrive=backup"
    )
}

pub async fn run(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
    let user = match resolve_user(ctx, tenant).await {
        Ok(u) => u,
        Err(o) => return o,
    };
    let upn = user.user_principal_name.clone();
    let role = match role(ctx, &upn) {
        Ok(r) => r,
        Err(why) => return StepOutcome::failed(why),
    };
    let mut output = base_output(&user);
    let drive = match drive_of(tenant, &user).await {
        Ok(Some(d)) => d,
        Ok(None) => {
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
        Err(o) => return o,
    };
    let manager = match manager_upn(ctx, tenant, &user).await {
        Ok(Some(m)) => m,
        Ok(None) => {
            return StepOutcome::blocked(no_manager(&upn));
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

/// Who would get access, or why nobody would (no manager: a blocker, as the step blocks).
pub async fn plan(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepPlan {
    let user = match resolve_user(ctx, tenant).await {
        Ok(u) => u,
        Err(o) => return StepPlan::stopped("user-not-found", o),
    };
    let upn = user.user_principal_name.clone();
    let role = match role(ctx, &upn) {
        Ok(r) => r,
        Err(why) => return StepPlan::stopped("invalid-role", StepOutcome::failed(why)),
    };
    let drive = match drive_of(tenant, &user).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            return StepPlan::doing(format!("nothing: {upn} has no OneDrive to hand over"));
        }
        Err(o) => return StepPlan::stopped("cannot-read", o),
    };
    let mut p = StepPlan::default();
    let manager = match manager_upn(ctx, tenant, &user).await {
        Ok(Some(m)) => m,
        Ok(None) => {
            p.warn(format!("no manager: nobody inherits the OneDrive of {upn}"));
            p.block("no-manager", no_manager(&upn));
            return p;
        }
        Err(o) => return StepPlan::stopped("cannot-read", o),
    };
    match tenant.get_user(&manager).await {
        Ok(m) => manager_state(&mut p, &m, &upn),
        Err(e) if is_not_found(&e) => {
            p.block(
                "manager-not-found",
                format!("the manager {manager} of {upn} is not an account of the tenant: the OneDrive cannot be shared with them; name another manager or use onedrive=backup"),
            );
            return p;
        }
        Err(e) => {
            return StepPlan::stopped(
                "cannot-read",
                StepOutcome::from_error(&format!("reading the manager {manager}"), e),
            );
        }
    }
    p.does(format!(
        "give {manager} {role} access to the OneDrive of {upn} ({} in use), without an invitation mail",
        size_text(drive.quota_used)
    ));
    p
}

/// A manager who cannot sign in inherits files nobody can open.
fn manager_state(p: &mut StepPlan, manager: &User, upn: &str) {
    if !manager.account_enabled {
        p.warn(format!(
            "the manager {} is disabled: they cannot open the OneDrive of {upn} they would inherit",
            manager.user_principal_name
        ));
    }
}
