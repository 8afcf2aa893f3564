//! `impl Tenant for SimTenant`: each trait method is one counted call (named after the
//! method) through [`SimTenant::call`], which applies faults and writes changes through.

use super::tenant::{Op, SimTenant};
use crate::ids::{DriveId, GroupId, SkuId, UserId};
use crate::tenant::{
    AssignedLicense, AutoReply, CompanySubscription, DeletedUser, DeltaPage, DirectoryObject,
    Drive, DrivePermission, Group, Mailbox, MailboxPermission, MailboxType, PartnerSubscription,
    Sku, Tenant, TenantError, TenantResult, User, UserQuery,
};
use async_trait::async_trait;

#[async_trait]
impl Tenant for SimTenant {
    async fn get_user(&self, id_or_upn: &str) -> TenantResult<User> {
        self.latency().await;
        self.call("get_user", Op::Read, |s, _| s.get_user(id_or_upn))
    }
    async fn set_account_enabled(&self, user: &UserId, enabled: bool) -> TenantResult<()> {
        self.latency().await;
        self.call("set_account_enabled", Op::Write, |s, _| {
            s.set_account_enabled(user, enabled)
        })
    }
    async fn set_usage_location(&self, user: &UserId, code: &str) -> TenantResult<()> {
        self.latency().await;
        self.call("set_usage_location", Op::Write, |s, _| {
            s.set_usage_location(user, code)
        })
    }
    async fn revoke_sign_in_sessions(&self, user: &UserId) -> TenantResult<()> {
        self.latency().await;
        self.call("revoke_sign_in_sessions", Op::Write, |s, now| {
            s.revoke_sign_in_sessions(user, now)
        })
    }
    async fn get_manager(&self, user: &UserId) -> TenantResult<Option<User>> {
        self.latency().await;
        self.call("get_manager", Op::Read, |s, _| s.get_manager(user))
    }
    async fn member_of(&self, user: &UserId) -> TenantResult<Vec<DirectoryObject>> {
        self.latency().await;
        self.call("member_of", Op::Read, |s, _| s.member_of(user))
    }
    async fn delete_user(&self, user: &UserId) -> TenantResult<()> {
        self.latency().await;
        self.call("delete_user", Op::Write, |s, now| s.delete_user(user, now))
    }
    async fn get_deleted_user(&self, user: &UserId) -> TenantResult<DeletedUser> {
        self.latency().await;
        self.call("get_deleted_user", Op::Read, |s, _| {
            s.get_deleted_user(user)
        })
    }
    async fn list_deleted_users(&self) -> TenantResult<Vec<DeletedUser>> {
        self.latency().await;
        self.call("list_deleted_users", Op::Read, |s, _| {
            Ok(s.list_deleted_users())
        })
    }
    async fn restore_deleted_user(&self, user: &UserId) -> TenantResult<User> {
        self.latency().await;
        self.call("restore_deleted_user", Op::Write, |s, _| {
            s.restore_deleted_user(user)
        })
    }
    async fn purge_deleted_user(&self, user: &UserId) -> TenantResult<()> {
        self.latency().await;
        self.call("purge_deleted_user", Op::Write, |s, _| {
            s.purge_deleted_user(user)
        })
    }
    async fn list_users(&self, query: &UserQuery) -> TenantResult<Vec<User>> {
        self.latency().await;
        self.call("list_users", Op::Read, |s, _| Ok(s.list_users(query)))
    }
    async fn count_users(&self) -> TenantResult<u64> {
        self.latency().await;
        self.call("count_users", Op::Read, |s, _| Ok(s.count_users()))
    }

    async fn list_skus(&self) -> TenantResult<Vec<Sku>> {
        self.latency().await;
        self.call("list_skus", Op::Read, |s, _| {
            Ok(s.skus.values().map(|k| s.sku_view(k)).collect())
        })
    }
    async fn assign_license(
        &self,
        user: &UserId,
        add: &[AssignedLicense],
        remove: &[SkuId],
    ) -> TenantResult<()> {
        self.latency().await;
        self.call("assign_license", Op::Write, |s, now| {
            s.assign_license(user, add, remove, now)
        })
    }
    async fn reprocess_license_assignment(&self, user: &UserId) -> TenantResult<User> {
        self.latency().await;
        self.call("reprocess_license_assignment", Op::Write, |s, now| {
            s.reprocess_license_assignment(user, now)
        })
    }
    async fn get_group(&self, group: &GroupId) -> TenantResult<Group> {
        self.latency().await;
        self.call("get_group", Op::Read, |s, _| {
            s.groups
                .get(group)
                .map(|g| g.group.clone())
                .ok_or_else(|| TenantError::not_found(group.as_str()))
        })
    }
    async fn add_group_member(&self, group: &GroupId, user: &UserId) -> TenantResult<()> {
        self.latency().await;
        self.call("add_group_member", Op::Write, |s, now| {
            s.add_group_member(group, user, now)
        })
    }
    async fn remove_group_member(&self, group: &GroupId, user: &UserId) -> TenantResult<()> {
        self.latency().await;
        self.call("remove_group_member", Op::Write, |s, now| {
            s.remove_group_member(group, user, now)
        })
    }

    async fn list_subscriptions(&self) -> TenantResult<Vec<CompanySubscription>> {
        self.latency().await;
        self.call("list_subscriptions", Op::Read, |s, _| {
            Ok(s.list_subscriptions())
        })
    }
    async fn get_partner_subscription(&self, id: &str) -> TenantResult<PartnerSubscription> {
        self.latency().await;
        self.call("get_partner_subscription", Op::Read, |s, _| {
            s.get_partner_subscription(id)
        })
    }
    async fn update_partner_subscription(
        &self,
        sub: &PartnerSubscription,
    ) -> TenantResult<PartnerSubscription> {
        self.latency().await;
        self.call("update_partner_subscription", Op::Write, |s, now| {
            s.update_partner_subscription(sub, now)
        })
    }

    async fn get_mailbox(&self, user: &UserId) -> TenantResult<Mailbox> {
        self.latency().await;
        self.call("get_mailbox", Op::Read, |s, _| s.get_mailbox(user))
    }
    async fn list_mailboxes(&self, kind: MailboxType) -> TenantResult<Vec<Mailbox>> {
        self.latency().await;
        self.call(
            "list_mailboxes",
            Op::Read,
            |s, _| Ok(s.list_mailboxes(kind)),
        )
    }
    async fn set_mailbox_type(&self, user: &UserId, kind: MailboxType) -> TenantResult<()> {
        self.latency().await;
        self.call("set_mailbox_type", Op::Write, |s, _| {
            s.set_mailbox_type(user, kind)
        })
    }
    async fn set_hidden_from_address_lists(&self, user: &UserId, hidden: bool) -> TenantResult<()> {
        self.latency().await;
        self.call("set_hidden_from_address_lists", Op::Write, |s, _| {
            s.set_hidden_from_address_lists(user, hidden)
        })
    }
    async fn set_forwarding(&self, user: &UserId, smtp: Option<&str>) -> TenantResult<()> {
        self.latency().await;
        self.call("set_forwarding", Op::Write, |s, _| {
            s.set_forwarding(user, smtp)
        })
    }
    async fn get_mailbox_permissions(&self, user: &UserId) -> TenantResult<Vec<MailboxPermission>> {
        self.latency().await;
        self.call("get_mailbox_permissions", Op::Read, |s, _| {
            s.get_mailbox_permissions(user)
        })
    }
    async fn add_mailbox_full_access(&self, user: &UserId, trustee: &str) -> TenantResult<()> {
        self.latency().await;
        self.call("add_mailbox_full_access", Op::Write, |s, _| {
            s.add_mailbox_full_access(user, trustee)
        })
    }
    async fn remove_mailbox_full_access(&self, user: &UserId, trustee: &str) -> TenantResult<()> {
        self.latency().await;
        self.call("remove_mailbox_full_access", Op::Write, |s, _| {
            s.remove_mailbox_full_access(user, trustee)
        })
    }
    async fn get_auto_reply(&self, user: &UserId) -> TenantResult<AutoReply> {
        self.latency().await;
        self.call("get_auto_reply", Op::Read, |s, _| s.get_auto_reply(user))
    }
    async fn set_auto_reply(&self, user: &UserId, reply: &AutoReply) -> TenantResult<()> {
        self.latency().await;
        self.call("set_auto_reply", Op::Write, |s, _| {
            s.set_auto_reply(user, reply)
        })
    }

    async fn get_drive(&self, user: &UserId) -> TenantResult<Drive> {
        self.latency().await;
        self.call("get_drive", Op::Read, |s, _| s.get_drive(user))
    }
    async fn drive_delta(&self, drive: &DriveId, link: Option<&str>) -> TenantResult<DeltaPage> {
        self.latency().await;
        self.call("drive_delta", Op::Read, |s, _| s.drive_delta(drive, link))
    }
    async fn download(&self, drive: &DriveId, item_id: &str) -> TenantResult<Vec<u8>> {
        self.latency().await;
        self.call("download", Op::Write, |s, now| {
            s.download(drive, item_id, now)
        })
    }
    async fn invite(
        &self,
        drive: &DriveId,
        item_id: &str,
        recipient: &str,
        role: &str,
    ) -> TenantResult<DrivePermission> {
        self.latency().await;
        self.call("invite", Op::Write, |s, _| {
            s.invite(drive, item_id, recipient, role)
        })
    }
    async fn list_permissions(
        &self,
        drive: &DriveId,
        item_id: &str,
    ) -> TenantResult<Vec<DrivePermission>> {
        self.latency().await;
        self.call("list_permissions", Op::Read, |s, _| {
            s.list_permissions(drive, item_id)
        })
    }
}
