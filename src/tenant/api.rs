//! The tenant trait. One method per service operation (docs/microsoft-365-api.md section in
//! brackets), so the graph connector maps each to one HTTP call and the simulated tenant mirrors
//! it. Methods return the service's errors as typed [`TenantError`]s; idempotency is the caller's
//! job (e.g. removing an absent license is `NoCorrespondingLicense`, which a step treats as done).

use super::error::TenantResult;
use super::query::UserQuery;
use super::subscriptions::{CompanySubscription, PartnerSubscription};
use super::types::*;
use crate::ids::{DriveId, GroupId, SkuId, UserId};
use async_trait::async_trait;

#[async_trait]
pub trait Tenant: Send + Sync {
    // ---- users (§3) ----
    /// §3.1 by object id or UPN. Soft-deleted users are `NotFound`.
    async fn get_user(&self, id_or_upn: &str) -> TenantResult<User>;
    /// §3.2 `PATCH {accountEnabled}`.
    async fn set_account_enabled(&self, user: &UserId, enabled: bool) -> TenantResult<()>;
    /// §3.2 `PATCH {usageLocation}`.
    async fn set_usage_location(&self, user: &UserId, code: &str) -> TenantResult<()>;
    /// §3.3
    async fn revoke_sign_in_sessions(&self, user: &UserId) -> TenantResult<()>;
    /// §3.4; `Ok(None)` when the user has no manager.
    async fn get_manager(&self, user: &UserId) -> TenantResult<Option<User>>;
    /// §3.5 direct memberships (groups and directory roles), all pages.
    async fn member_of(&self, user: &UserId) -> TenantResult<Vec<DirectoryObject>>;
    /// §3.6 soft delete.
    async fn delete_user(&self, user: &UserId) -> TenantResult<()>;
    /// §3.8
    async fn get_deleted_user(&self, user: &UserId) -> TenantResult<DeletedUser>;
    /// §3.7 all pages.
    async fn list_deleted_users(&self) -> TenantResult<Vec<DeletedUser>>;
    /// §3.9
    async fn restore_deleted_user(&self, user: &UserId) -> TenantResult<User>;
    /// §3.10
    async fn purge_deleted_user(&self, user: &UserId) -> TenantResult<()>;
    /// `GET /users?$filter=...` (advanced query, §2.4), all pages: the active users meeting
    /// every condition. Soft-deleted users are never listed.
    async fn list_users(&self, query: &UserQuery) -> TenantResult<Vec<User>>;
    /// `GET /users/$count` (§2.4): active users (soft-deleted ones are not counted).
    async fn count_users(&self) -> TenantResult<u64>;

    // ---- licenses and groups (§4) ----
    /// §4.1
    async fn list_skus(&self) -> TenantResult<Vec<Sku>>;
    /// §4.2 one call with both arrays.
    async fn assign_license(
        &self,
        user: &UserId,
        add: &[AssignedLicense],
        remove: &[SkuId],
    ) -> TenantResult<()>;
    /// §4.5 `POST /users/{id}/reprocessLicenseAssignment`: group licensing processes the
    /// user's group-based licenses again (e.g. a `CountViolation` after seats were freed);
    /// asynchronous like any group-license change.
    async fn reprocess_license_assignment(&self, user: &UserId) -> TenantResult<User>;
    /// `GET /groups/{id}`
    async fn get_group(&self, group: &GroupId) -> TenantResult<Group>;
    /// §4.7
    async fn add_group_member(&self, group: &GroupId, user: &UserId) -> TenantResult<()>;
    /// §4.8
    async fn remove_group_member(&self, group: &GroupId, user: &UserId) -> TenantResult<()>;

    // ---- seat counts (§4.9, §9) ----
    /// §4.9 `GET /directory/subscriptions`: every subscription, direct and CSP (read-only).
    async fn list_subscriptions(&self) -> TenantResult<Vec<CompanySubscription>>;
    /// §9.2 Partner Center `GET /v1/customers/{customer}/subscriptions/{id}`; `id` is the
    /// company subscription's `commerceSubscriptionId`. `NotFound` for a direct (web-direct)
    /// subscription, which Partner Center does not know.
    async fn get_partner_subscription(&self, id: &str) -> TenantResult<PartnerSubscription>;
    /// §9.2 PATCH with the full resource as read, changed. A decrease outside the window is
    /// `ReductionWindowClosed` (R15).
    async fn update_partner_subscription(
        &self,
        sub: &PartnerSubscription,
    ) -> TenantResult<PartnerSubscription>;

    // ---- mail (§5; Exchange cmdlets through InvokeCommand) ----
    /// `Get-Mailbox` + `Get-MailboxStatistics`; `MailboxNotEnabled` when there is none.
    async fn get_mailbox(&self, user: &UserId) -> TenantResult<Mailbox>;
    /// `Get-Mailbox -RecipientTypeDetails <kind> -ResultSize Unlimited` + statistics: all of
    /// them.
    async fn list_mailboxes(&self, kind: MailboxType) -> TenantResult<Vec<Mailbox>>;
    /// `Set-Mailbox -Type`
    async fn set_mailbox_type(&self, user: &UserId, kind: MailboxType) -> TenantResult<()>;
    /// `Set-Mailbox -HiddenFromAddressListsEnabled`
    async fn set_hidden_from_address_lists(&self, user: &UserId, hidden: bool) -> TenantResult<()>;
    /// `Set-Mailbox -ForwardingSmtpAddress` (None clears forwarding).
    async fn set_forwarding(&self, user: &UserId, smtp: Option<&str>) -> TenantResult<()>;
    /// `Get-MailboxPermission`
    async fn get_mailbox_permissions(&self, user: &UserId) -> TenantResult<Vec<MailboxPermission>>;
    /// `Add-MailboxPermission -AccessRights FullAccess`
    async fn add_mailbox_full_access(&self, user: &UserId, trustee: &str) -> TenantResult<()>;
    /// `Remove-MailboxPermission -AccessRights FullAccess`
    async fn remove_mailbox_full_access(&self, user: &UserId, trustee: &str) -> TenantResult<()>;
    /// §5.1 `mailboxSettings/automaticRepliesSetting`
    async fn get_auto_reply(&self, user: &UserId) -> TenantResult<AutoReply>;
    /// §5.2
    async fn set_auto_reply(&self, user: &UserId, reply: &AutoReply) -> TenantResult<()>;

    // ---- OneDrive (§6) ----
    /// §6.1; `DriveNotFound` when never provisioned.
    async fn get_drive(&self, user: &UserId) -> TenantResult<Drive>;
    /// §6.2 one page; `link` is the `next_link` of the previous page, `None` to start.
    async fn drive_delta(&self, drive: &DriveId, link: Option<&str>) -> TenantResult<DeltaPage>;
    /// §6.3 the whole content of a file.
    async fn download(&self, drive: &DriveId, item_id: &str) -> TenantResult<Vec<u8>>;
    /// §6.4 grant `role` (`read` | `write`) silently (no invitation mail).
    async fn invite(
        &self,
        drive: &DriveId,
        item_id: &str,
        recipient: &str,
        role: &str,
    ) -> TenantResult<DrivePermission>;
    /// `GET /drives/{id}/items/{item}/permissions`
    async fn list_permissions(
        &self,
        drive: &DriveId,
        item_id: &str,
    ) -> TenantResult<Vec<DrivePermission>>;
}
