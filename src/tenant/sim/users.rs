//! Users (docs/microsoft-365-api.md §3): read, patch, revoke, manager, memberOf, soft delete with
//! the 30-day recycle bin (purged lazily once the clock passes it), restore and purge, plus the
//! damage a delete does (R4 mailbox lost, R6 OneDrive retention without backup or hand-over).

use super::errors;
use super::state::{State, UserState};
use crate::ids::UserId;
use crate::tenant::{
    DeletedUser, DirectoryObject, LicenseAssignmentState, MailboxType, TenantError, TenantResult,
    User,
};
use chrono::{DateTime, Duration, Utc};

/// How long a soft-deleted user stays restorable (R1).
pub const RETENTION_DAYS: i64 = 30;

impl State {
    pub fn user_view(&self, u: &UserState) -> User {
        let mut states: Vec<LicenseAssignmentState> = u
            .direct_licenses
            .iter()
            .map(|l| {
                let violation = u.count_violations.contains(&l.sku_id);
                LicenseAssignmentState {
                    sku_id: l.sku_id.clone(),
                    assigned_by_group: None,
                    disabled_plans: l.disabled_plans.clone(),
                    state: if violation { "Error" } else { "Active" }.into(),
                    error: Some(if violation { "CountViolation" } else { "None" }.into()),
                }
            })
            .collect();
        states.extend(u.group_paths.iter().map(|p| LicenseAssignmentState {
            sku_id: p.sku_id.clone(),
            assigned_by_group: Some(p.group.clone()),
            disabled_plans: Vec::new(),
            state: if p.error.is_some() { "Error" } else { "Active" }.into(),
            error: Some(p.error.clone().unwrap_or_else(|| "None".into())),
        }));
        User {
            id: u.id.clone(),
            user_principal_name: u.user_principal_name.clone(),
            display_name: u.display_name.clone(),
            mail: u.mail.clone(),
            account_enabled: u.account_enabled,
            usage_location: u.usage_location.clone(),
            on_premises_sync_enabled: u.on_premises_sync_enabled,
            assigned_licenses: self.assigned_licenses(u),
            license_assignment_states: states,
            sign_in_sessions_valid_from: u.sign_in_sessions_valid_from,
            department: u.department.clone(),
            job_title: u.job_title.clone(),
            company_name: u.company_name.clone(),
            office_location: u.office_location.clone(),
            city: u.city.clone(),
            country: u.country.clone(),
        }
    }

    pub fn deleted_view(&self, u: &UserState) -> Option<DeletedUser> {
        let at = u.deleted_date_time?;
        Some(DeletedUser {
            id: u.id.clone(),
            user_principal_name: format!(
                "{}{}",
                u.id.as_str().replace('-', ""),
                u.user_principal_name
            ),
            display_name: u.display_name.clone(),
            deleted_date_time: at,
        })
    }

    pub fn get_user(&self, id_or_upn: &str) -> TenantResult<User> {
        self.find_user(id_or_upn)
            .map(|u| self.user_view(u))
            .ok_or_else(|| errors::user_not_found(id_or_upn))
    }

    pub fn set_account_enabled(&mut self, user: &UserId, enabled: bool) -> TenantResult<()> {
        let u = self.user_mut(user)?;
        if u.on_premises_sync_enabled == Some(true) {
            return Err(errors::on_premises_mastered());
        }
        u.account_enabled = enabled;
        Ok(())
    }

    pub fn set_usage_location(&mut self, user: &UserId, code: &str) -> TenantResult<()> {
        let valid = code.len() == 2 && code.chars().all(|c| c.is_ascii_alphabetic());
        if !valid {
            self.user_mut(user)?;
            return Err(errors::bad_request(format!(
                "Invalid value specified for property 'usageLocation' of resource 'User': '{code}'."
            )));
        }
        self.user_mut(user)?.usage_location = Some(code.to_ascii_uppercase());
        Ok(())
    }

    pub fn revoke_sign_in_sessions(
        &mut self,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> TenantResult<()> {
        self.user_mut(user)?.sign_in_sessions_valid_from = Some(now);
        Ok(())
    }

    pub fn get_manager(&self, user: &UserId) -> TenantResult<Option<User>> {
        let u = self
            .find_user(user.as_str())
            .ok_or_else(|| errors::user_not_found(user.as_str()))?;
        Ok(u.manager
            .as_ref()
            .and_then(|m| self.find_user(m.as_str()))
            .map(|m| self.user_view(m)))
    }

    pub fn member_of(&self, user: &UserId) -> TenantResult<Vec<DirectoryObject>> {
        let id = self.active_id(user.as_str())?;
        let mut out: Vec<DirectoryObject> = self
            .groups
            .values()
            .filter(|g| g.members.contains(&id))
            .map(|g| DirectoryObject::Group(g.group.clone()))
            .collect();
        out.extend(
            self.roles
                .iter()
                .filter(|r| r.members.contains(&id))
                .map(|r| DirectoryObject::DirectoryRole {
                    id: r.id.clone(),
                    display_name: r.display_name.clone(),
                    role_template_id: r.role_template_id.clone(),
                }),
        );
        Ok(out)
    }

    /// §3.6 soft delete, with the damage of R4 and R6.
    pub fn delete_user(&mut self, user: &UserId, now: DateTime<Utc>) -> TenantResult<()> {
        let id = self.active_id(user.as_str())?;
        if self
            .users
            .get(&id)
            .is_some_and(|u| u.on_premises_sync_enabled == Some(true))
        {
            return Err(errors::on_premises_mastered());
        }
        if let Some(mb) = self.mailboxes.get(&id) {
            let shared = mb.kind == MailboxType::SharedMailbox;
            let fwd = mb.forwarding_smtp_address.clone();
            if shared || fwd.is_some() {
                let why = match fwd {
                    Some(f) if !shared => format!("its mailbox forwarded to {f}"),
                    _ => "its mailbox was a shared mailbox".to_string(),
                };
                self.mailboxes.remove(&id);
                self.record_damage(
                    now,
                    &id,
                    "R4",
                    format!("the account was deleted although {why}: the mailbox is lost"),
                );
            }
        }
        if let Some(d) = self.drive_of(&id) {
            let unsaved = d
                .items
                .iter()
                .filter(|i| !i.is_folder && i.last_downloaded.is_none_or(|t| t < i.last_modified))
                .count();
            let files = d.items.iter().filter(|i| !i.is_folder).count();
            if unsaved > 0 && d.permissions.is_empty() {
                self.record_damage(
                    now,
                    &id,
                    "R6",
                    format!(
                        "the account was deleted while {unsaved} of {files} OneDrive files were not backed up and nobody was granted access: the retention clock started"
                    ),
                );
            }
        }
        let u = self.user_mut(&id)?;
        u.deleted_date_time = Some(now);
        Ok(())
    }

    fn deleted(&self, user: &UserId) -> TenantResult<&UserState> {
        self.find_matching(user.as_str(), |u| u.deleted_date_time.is_some())
            .ok_or_else(|| TenantError::not_found(user.as_str()))
    }

    pub fn get_deleted_user(&self, user: &UserId) -> TenantResult<DeletedUser> {
        let u = self.deleted(user)?;
        self.deleted_view(u)
            .ok_or_else(|| TenantError::not_found(user.as_str()))
    }

    pub fn list_deleted_users(&self) -> Vec<DeletedUser> {
        self.users
            .values()
            .filter_map(|u| self.deleted_view(u))
            .collect()
    }

    pub fn restore_deleted_user(&mut self, user: &UserId) -> TenantResult<User> {
        let u = self.deleted(user)?;
        let id = u.id.clone();
        let upn = u.user_principal_name.clone();
        if self.find_user(&upn).is_some() {
            return Err(errors::bad_request(format!(
                "Another object with the same value for property userPrincipalName already exists: '{upn}'."
            )));
        }
        let u = self
            .users
            .get_mut(&id)
            .ok_or_else(|| TenantError::not_found(user.as_str()))?;
        u.deleted_date_time = None;
        // The user comes back with its direct licenses, group memberships (and so group
        // licenses), roles, manager and (unless R4 lost it) mailbox. Its seats were freed by
        // the delete; when one has been taken since, the real service still restores the user
        // and shows that license in error. Modelled as `CountViolation` on that path, which
        // consumes no seat, rather than pushing the SKU over its purchased seats.
        self.claim_seats(&id);
        self.get_user(id.as_str())
    }

    pub fn purge_deleted_user(&mut self, user: &UserId) -> TenantResult<()> {
        let id = self.deleted(user)?.id.clone();
        self.remove_for_good(&id);
        Ok(())
    }

    fn remove_for_good(&mut self, id: &UserId) {
        self.users.remove(id);
        self.mailboxes.remove(id);
        self.drives.retain(|_, d| &d.owner != id);
        for g in self.groups.values_mut() {
            g.members.remove(id);
        }
        for r in &mut self.roles {
            r.members.remove(id);
        }
        self.pending.retain(|p| &p.user != id);
        for u in self.users.values_mut() {
            if u.manager.as_ref() == Some(id) {
                u.manager = None;
            }
        }
    }

    /// Purges users deleted more than 30 days ago (R1). Returns whether anything changed.
    pub fn settle_purge(&mut self, now: DateTime<Utc>) -> bool {
        let expired: Vec<UserId> = self
            .users
            .values()
            .filter(|u| {
                u.deleted_date_time
                    .is_some_and(|d| d + Duration::days(RETENTION_DAYS) <= now)
            })
            .map(|u| u.id.clone())
            .collect();
        for id in &expired {
            self.remove_for_good(id);
        }
        !expired.is_empty()
    }
}
