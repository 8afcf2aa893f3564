//! Protected accounts (README "Guardrails"): configured UPNs, members of configured groups
//! and holders of an Entra directory role are never offboarded automatically. The engine runs
//! [`check`] before the first destructive step of a leaver run; it only reads the tenant.

use super::StepOutcome;
use crate::tenant::{DirectoryObject, ErrorKind, Tenant};

/// Which accounts are protected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Protection {
    /// UPNs (case-insensitive).
    pub upns: Vec<String>,
    /// Group object ids or display names (case-insensitive); direct membership counts.
    pub groups: Vec<String>,
    /// Anyone holding an Entra directory role (memberOf lists it).
    pub admin_roles: bool,
}

impl Protection {
    pub fn is_off(&self) -> bool {
        self.upns.is_empty() && self.groups.is_empty() && !self.admin_roles
    }

    fn lists_upn(&self, upn: &str) -> bool {
        self.upns.iter().any(|u| u.trim().eq_ignore_ascii_case(upn))
    }

    fn lists_group(&self, id: &str, name: &str) -> bool {
        self.groups.iter().any(|g| {
            let g = g.trim();
            g.eq_ignore_ascii_case(id) || g.eq_ignore_ascii_case(name)
        })
    }
}

/// `None` when `subject` may be offboarded; otherwise the outcome that stops the run: blocked
/// with why the account is protected, or the retry / failure of a tenant read.
pub async fn check(subject: &str, tenant: &dyn Tenant, p: &Protection) -> Option<StepOutcome> {
    if p.is_off() {
        return None;
    }
    if p.lists_upn(subject) {
        return Some(protected(subject, "it is listed in `protected_upns`"));
    }
    let user = match tenant.get_user(subject).await {
        Ok(u) => u,
        // The destructive step itself reports a missing account.
        Err(e) if matches!(e.kind, ErrorKind::NotFound) => return None,
        Err(e) => {
            return Some(StepOutcome::from_error(
                &format!("checking whether {subject} is a protected account"),
                e,
            ));
        }
    };
    if p.lists_upn(&user.user_principal_name) {
        return Some(protected(subject, "it is listed in `protected_upns`"));
    }
    if p.groups.is_empty() && !p.admin_roles {
        return None;
    }
    let memberships = match tenant.member_of(&user.id).await {
        Ok(m) => m,
        Err(e) => {
            return Some(StepOutcome::from_error(
                &format!("reading the group and role memberships of {subject}"),
                e,
            ));
        }
    };
    for m in &memberships {
        match m {
            DirectoryObject::DirectoryRole { display_name, .. } if p.admin_roles => {
                return Some(protected(
                    subject,
                    &format!("it holds the Entra role {display_name}"),
                ));
            }
            DirectoryObject::Group(g) if p.lists_group(g.id.as_str(), &g.display_name) => {
                return Some(protected(
                    subject,
                    &format!(
                        "it is a member of the protected group {} ({})",
                        g.display_name, g.id
                    ),
                ));
            }
            _ => {}
        }
    }
    None
}

fn protected(subject: &str, why: &str) -> StepOutcome {
    StepOutcome::blocked(format!(
        "{subject} is a protected account ({why}); offboard it by hand, or restart the run with \
         allowProtected (`offboard runs restart <run> --allow-protected`) once a person has \
         confirmed it"
    ))
}
