//! Mailboxes (docs/microsoft-365-api.md §5): Exchange cmdlets and Graph mailboxSettings. A user has
//! a mailbox only while licensed with an Exchange plan, or when it is shared (or a resource).

use super::errors;
use super::state::{MailboxState, State};
use crate::ids::UserId;
use crate::tenant::{
    AutoReply, ErrorKind, Mailbox, MailboxPermission, MailboxType, TenantError, TenantResult,
};

/// Which surface an operation uses: the errors differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Exchange,
    Graph,
}

impl State {
    /// Whether the user's mailbox currently exists for Exchange.
    pub fn mailbox_live(&self, user: &UserId) -> bool {
        let Some(u) = self
            .users
            .get(user)
            .filter(|u| u.deleted_date_time.is_none())
        else {
            return false;
        };
        match self.mailboxes.get(user) {
            None => false,
            Some(mb) if mb.kind == MailboxType::UserMailbox => {
                !mb.deprovisioning && self.has_exchange(u)
            }
            Some(_) => true,
        }
    }

    pub fn mailbox_view(&self, user: &UserId, mb: &MailboxState) -> Mailbox {
        Mailbox {
            user_id: user.clone(),
            primary_smtp_address: mb.primary_smtp_address.clone(),
            recipient_type_details: mb.kind,
            forwarding_smtp_address: mb.forwarding_smtp_address.clone(),
            forwarding_address: None,
            deliver_to_mailbox_and_forward: mb.deliver_to_mailbox_and_forward,
            hidden_from_address_lists_enabled: mb.hidden,
            litigation_hold_enabled: mb.litigation_hold,
            archive_active: mb.archive,
            total_item_size_bytes: mb.size_bytes,
        }
    }

    fn live(&self, user: &UserId, surface: Surface) -> TenantResult<UserId> {
        let u = self
            .find_user(user.as_str())
            .ok_or_else(|| errors::user_not_found(user.as_str()))?;
        if self.mailbox_live(&u.id) {
            Ok(u.id.clone())
        } else if surface == Surface::Graph {
            Err(errors::mailbox_not_enabled_rest())
        } else {
            Err(errors::mailbox_not_found_exchange(&u.user_principal_name))
        }
    }

    fn live_mut(&mut self, user: &UserId, surface: Surface) -> TenantResult<&mut MailboxState> {
        let id = self.live(user, surface)?;
        self.mailboxes
            .get_mut(&id)
            .ok_or_else(errors::mailbox_not_enabled_rest)
    }

    /// `Get-Mailbox -RecipientTypeDetails <kind> -ResultSize Unlimited`: the live mailboxes
    /// of that kind (soft-deleted and not yet appeared users have none).
    pub fn list_mailboxes(&self, kind: MailboxType) -> Vec<Mailbox> {
        self.mailboxes
            .iter()
            .filter(|(id, m)| m.kind == kind && self.mailbox_live(id))
            .map(|(id, m)| self.mailbox_view(id, m))
            .collect()
    }

    pub fn get_mailbox(&self, user: &UserId) -> TenantResult<Mailbox> {
        let id = self.live(user, Surface::Exchange)?;
        self.mailboxes
            .get(&id)
            .map(|mb| self.mailbox_view(&id, mb))
            .ok_or_else(|| errors::mailbox_not_found_exchange(user.as_str()))
    }

    /// `Set-Mailbox -Type`. Only a licensed (live) mailbox can be converted (R3); turning a
    /// shared mailbox back into a user mailbox needs an Exchange license.
    pub fn set_mailbox_type(&mut self, user: &UserId, kind: MailboxType) -> TenantResult<()> {
        let id = self.live(user, Surface::Exchange)?;
        let licensed = self.users.get(&id).is_some_and(|u| self.has_exchange(u));
        let mb = self
            .mailboxes
            .get_mut(&id)
            .ok_or_else(|| errors::mailbox_not_found_exchange(user.as_str()))?;
        if mb.kind == kind {
            return Ok(());
        }
        if kind == MailboxType::UserMailbox && !licensed {
            return Err(TenantError::new(
                ErrorKind::BadRequest,
                "InvalidOperationException",
                "The mailbox can't be converted to a regular mailbox because the user doesn't have a license with an Exchange Online plan. Assign a license first.",
            ));
        }
        mb.kind = kind;
        Ok(())
    }

    pub fn set_hidden_from_address_lists(
        &mut self,
        user: &UserId,
        hidden: bool,
    ) -> TenantResult<()> {
        if self
            .find_user(user.as_str())
            .is_some_and(|u| u.on_premises_sync_enabled == Some(true))
        {
            self.live(user, Surface::Exchange)?;
            return Err(TenantError::new(
                ErrorKind::OnPremisesMastered,
                "InvalidOperationException",
                "The operation on mailbox failed because it's out of the current user's write scope. The action 'Set-Mailbox', 'HiddenFromAddressListsEnabled', can't be performed on the object because the object is being synchronized from your on-premises organization. This action should be performed on the object in your on-premises organization.",
            ));
        }
        self.live_mut(user, Surface::Exchange)?.hidden = hidden;
        Ok(())
    }

    pub fn set_forwarding(&mut self, user: &UserId, smtp: Option<&str>) -> TenantResult<()> {
        let mb = self.live_mut(user, Surface::Exchange)?;
        mb.forwarding_smtp_address = smtp.map(str::to_string);
        if smtp.is_none() {
            mb.deliver_to_mailbox_and_forward = false;
        }
        Ok(())
    }

    pub fn get_mailbox_permissions(&self, user: &UserId) -> TenantResult<Vec<MailboxPermission>> {
        let id = self.live(user, Surface::Exchange)?;
        let mb = self
            .mailboxes
            .get(&id)
            .ok_or_else(|| errors::mailbox_not_found_exchange(user.as_str()))?;
        let mut out = vec![MailboxPermission {
            user: "NT AUTHORITY\\SELF".into(),
            access_rights: vec!["FullAccess".into(), "ReadPermission".into()],
            is_inherited: false,
            deny: false,
        }];
        out.extend(mb.full_access.iter().map(|t| MailboxPermission {
            user: t.clone(),
            access_rights: vec!["FullAccess".into()],
            is_inherited: false,
            deny: false,
        }));
        Ok(out)
    }

    fn trustee(&self, trustee: &str) -> TenantResult<String> {
        self.find_user(trustee)
            .map(|u| u.user_principal_name.clone())
            .ok_or_else(|| {
                TenantError::new(
                    ErrorKind::NotFound,
                    "ManagementObjectNotFoundException",
                    format!(
                        "Ex41BAF5|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The user '{trustee}' couldn't be found."
                    ),
                )
            })
    }

    /// Adding an existing grant succeeds without a second entry.
    pub fn add_mailbox_full_access(&mut self, user: &UserId, trustee: &str) -> TenantResult<()> {
        let upn = self.trustee(trustee)?;
        let mb = self.live_mut(user, Surface::Exchange)?;
        if !mb.full_access.iter().any(|t| t.eq_ignore_ascii_case(&upn)) {
            mb.full_access.push(upn);
        }
        Ok(())
    }

    /// Removing an absent grant succeeds (Exchange only warns).
    pub fn remove_mailbox_full_access(&mut self, user: &UserId, trustee: &str) -> TenantResult<()> {
        let mb = self.live_mut(user, Surface::Exchange)?;
        mb.full_access
            .retain(|t| !t.eq_ignore_ascii_case(trustee.trim()));
        Ok(())
    }

    pub fn get_auto_reply(&self, user: &UserId) -> TenantResult<AutoReply> {
        let id = self.live(user, Surface::Graph)?;
        self.mailboxes
            .get(&id)
            .map(|mb| mb.auto_reply.clone())
            .ok_or_else(errors::mailbox_not_enabled_rest)
    }

    pub fn set_auto_reply(&mut self, user: &UserId, reply: &AutoReply) -> TenantResult<()> {
        let status_ok = ["disabled", "alwaysEnabled", "scheduled"].contains(&reply.status.as_str());
        let audience_ok =
            ["none", "contactsOnly", "all"].contains(&reply.external_audience.as_str());
        self.live(user, Surface::Graph)?;
        if !status_ok || !audience_ok {
            return Err(TenantError::new(
                ErrorKind::BadRequest,
                "RequestBodyRead",
                format!(
                    "Requested value '{}' was not found.",
                    if status_ok {
                        &reply.external_audience
                    } else {
                        &reply.status
                    }
                ),
            ));
        }
        self.live_mut(user, Surface::Graph)?.auto_reply = reply.clone();
        Ok(())
    }
}
