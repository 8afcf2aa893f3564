//! `impl Tenant for GraphTenant`: one method per trait method, each the documented call
//! (docs/microsoft-365-api.md section in the comment). Where a method needs more than one call it
//! says so. Costs passed to the limiter are Graph's resource units (§8.2) for reads, 1 for writes.

use super::client::Client;
use super::exchange;
use super::limiter::Family::{DirectoryRead as Read, DirectoryWrite as Write, Outlook};
use super::path::{segment, user as user_path};
use super::tenant::GraphTenant;
use super::wire::{self, DELETED_SELECT, GROUP_SELECT, USER_SELECT};
use crate::ids::{DriveId, GroupId, SkuId, UserId};
use crate::tenant::{
    AssignedLicense, AutoReply, CompanySubscription, DeletedUser, DeltaPage, DirectoryObject,
    Drive, DrivePermission, ErrorKind, Group, Mailbox, MailboxPermission, MailboxType,
    PartnerSubscription, Sku, Tenant, TenantError, TenantResult, User, UserQuery,
};
use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Value, json};

impl Client {
    async fn write(&self, method: Method, path: &str, body: Option<Value>) -> TenantResult<Value> {
        let mut req = self.graph(method, path, Write, 1);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = self.send(&req).await?;
        Ok(serde_json::from_slice(&resp.body).unwrap_or(Value::Null))
    }

    async fn user(&self, id_or_upn: &str) -> TenantResult<User> {
        let path = format!("{}?$select={USER_SELECT}", user_path(id_or_upn));
        Ok(self
            .graph_get::<wire::WireUser>(&path, Read, 1)
            .await?
            .into())
    }
}

#[async_trait]
impl Tenant for GraphTenant {
    // ---- users (§3) ----
    async fn get_user(&self, id_or_upn: &str) -> TenantResult<User> {
        // §3.1 with $select: licenseAssignmentStates and the rest are not in the default set.
        self.client.user(id_or_upn).await
    }
    async fn set_account_enabled(&self, user: &UserId, enabled: bool) -> TenantResult<()> {
        self.client
            .write(
                Method::PATCH,
                &user_path(user.as_str()),
                Some(json!({ "accountEnabled": enabled })),
            )
            .await
            .map(drop)
    }
    async fn set_usage_location(&self, user: &UserId, code: &str) -> TenantResult<()> {
        self.client
            .write(
                Method::PATCH,
                &user_path(user.as_str()),
                Some(json!({ "usageLocation": code })),
            )
            .await
            .map(drop)
    }
    async fn revoke_sign_in_sessions(&self, user: &UserId) -> TenantResult<()> {
        // §3.3: documented 204, really 200 {"value": true}; any 2xx is success.
        let path = format!("{}/revokeSignInSessions", user_path(user.as_str()));
        self.client.write(Method::POST, &path, None).await.map(drop)
    }
    async fn get_manager(&self, user: &UserId) -> TenantResult<Option<User>> {
        // §3.4: 404 "Resource 'manager' does not exist" means no manager.
        let path = format!("{}/manager?$select={USER_SELECT}", user_path(user.as_str()));
        match self
            .client
            .graph_get::<wire::WireUser>(&path, Read, 1)
            .await
        {
            Ok(m) => Ok(Some(m.into())),
            Err(e) if e.kind == ErrorKind::NotFound && e.message.contains("'manager'") => Ok(None),
            Err(e) => Err(e),
        }
    }
    async fn member_of(&self, user: &UserId) -> TenantResult<Vec<DirectoryObject>> {
        // §3.5 all pages, then the groups' details in $batch requests (memberships.rs).
        self.client.member_of(user).await
    }
    async fn delete_user(&self, user: &UserId) -> TenantResult<()> {
        self.client
            .write(Method::DELETE, &user_path(user.as_str()), None)
            .await
            .map(drop)
    }
    async fn get_deleted_user(&self, user: &UserId) -> TenantResult<DeletedUser> {
        let path = format!("/directory/deletedItems/{}", segment(user.as_str()));
        let w: wire::WireDeletedUser = self.client.graph_get(&path, Read, 1).await?;
        if w.odata_type
            .as_deref()
            .is_some_and(|t| t != "#microsoft.graph.user")
        {
            return Err(TenantError::not_found(user.as_str()));
        }
        w.into_domain()
            .ok_or_else(|| TenantError::not_found(user.as_str()))
    }
    async fn list_deleted_users(&self) -> TenantResult<Vec<DeletedUser>> {
        let path = format!(
            "/directory/deletedItems/microsoft.graph.user?$select={DELETED_SELECT}&$top=999"
        );
        let all: Vec<wire::WireDeletedUser> = self.client.graph_list(&path, Read, 1).await?;
        Ok(all
            .into_iter()
            .filter_map(wire::WireDeletedUser::into_domain)
            .collect())
    }
    async fn list_users(&self, query: &UserQuery) -> TenantResult<Vec<User>> {
        // §2.4 advanced query, every page with ConsistencyLevel (directory.rs).
        self.client.list_users(query).await
    }
    async fn count_users(&self) -> TenantResult<u64> {
        self.client.count_users().await
    }
    async fn restore_deleted_user(&self, user: &UserId) -> TenantResult<User> {
        // §3.9, then §3.1 for the full user (restore answers with a few properties only).
        let path = format!("/directory/deletedItems/{}/restore", segment(user.as_str()));
        let restored = self.client.write(Method::POST, &path, None).await?;
        match self.client.user(user.as_str()).await {
            Ok(u) => Ok(u),
            // Directory replicas may lag right after the restore (§2.4).
            Err(e) if e.kind == ErrorKind::NotFound => {
                serde_json::from_value::<wire::WireUser>(restored)
                    .map(User::from)
                    .map_err(|_| e)
            }
            Err(e) => Err(e),
        }
    }
    async fn purge_deleted_user(&self, user: &UserId) -> TenantResult<()> {
        let path = format!("/directory/deletedItems/{}", segment(user.as_str()));
        self.client
            .write(Method::DELETE, &path, None)
            .await
            .map(drop)
    }

    // ---- licenses and groups (§4) ----
    async fn list_skus(&self) -> TenantResult<Vec<Sku>> {
        self.client.graph_list("/subscribedSkus", Read, 3).await
    }
    async fn assign_license(
        &self,
        user: &UserId,
        add: &[AssignedLicense],
        remove: &[SkuId],
    ) -> TenantResult<()> {
        // §4.2: both arrays always present.
        let path = format!("{}/assignLicense", user_path(user.as_str()));
        let body = json!({ "addLicenses": add, "removeLicenses": remove });
        self.client
            .write(Method::POST, &path, Some(body))
            .await
            .map(drop)
    }
    async fn reprocess_license_assignment(&self, user: &UserId) -> TenantResult<User> {
        // §4.5, then §3.1: the answer has the default properties only.
        let path = format!("{}/reprocessLicenseAssignment", user_path(user.as_str()));
        self.client.write(Method::POST, &path, None).await?;
        self.client.user(user.as_str()).await
    }
    async fn get_group(&self, group: &GroupId) -> TenantResult<Group> {
        let path = format!("/groups/{}?$select={GROUP_SELECT}", segment(group.as_str()));
        Ok(self
            .client
            .graph_get::<wire::WireGroup>(&path, Read, 1)
            .await?
            .into())
    }
    async fn add_group_member(&self, group: &GroupId, user: &UserId) -> TenantResult<()> {
        // §4.7; "already exist" comes back as AlreadyMember.
        let path = format!("/groups/{}/members/$ref", segment(group.as_str()));
        let reference = format!(
            "{}/directoryObjects/{}",
            self.client.cfg.graph_base(),
            segment(user.as_str())
        );
        self.client
            .write(Method::POST, &path, Some(json!({ "@odata.id": reference })))
            .await
            .map(drop)
    }
    async fn remove_group_member(&self, group: &GroupId, user: &UserId) -> TenantResult<()> {
        // §4.8: a 404 naming the user (not the group) means not a member.
        let path = format!(
            "/groups/{}/members/{}/$ref",
            segment(group.as_str()),
            segment(user.as_str())
        );
        match self.client.write(Method::DELETE, &path, None).await {
            Err(mut e) if e.kind == ErrorKind::NotFound && !e.message.contains(group.as_str()) => {
                e.kind = ErrorKind::NotMember;
                Err(e)
            }
            other => other.map(drop),
        }
    }

    // ---- seat counts (§4.9, §9) ----
    async fn list_subscriptions(&self) -> TenantResult<Vec<CompanySubscription>> {
        let all: Vec<wire::WireCompanySubscription> = self
            .client
            .graph_list("/directory/subscriptions", Read, 1)
            .await?;
        Ok(all.into_iter().map(Into::into).collect())
    }
    async fn get_partner_subscription(&self, id: &str) -> TenantResult<PartnerSubscription> {
        self.client.get_partner_subscription(id).await
    }
    async fn update_partner_subscription(
        &self,
        sub: &PartnerSubscription,
    ) -> TenantResult<PartnerSubscription> {
        self.client.patch_partner_subscription(sub).await
    }

    // ---- mail (§5) ----
    async fn get_mailbox(&self, user: &UserId) -> TenantResult<Mailbox> {
        // Two cmdlets: Get-Mailbox, then Get-MailboxStatistics (mailboxes.rs).
        self.client.get_mailbox(user).await
    }
    async fn list_mailboxes(&self, kind: MailboxType) -> TenantResult<Vec<Mailbox>> {
        // Get-Mailbox (all pages), then Get-MailboxStatistics per mailbox (mailboxes.rs).
        self.client.list_mailboxes(kind).await
    }
    async fn set_mailbox_type(&self, user: &UserId, kind: MailboxType) -> TenantResult<()> {
        let params = json!({ "Identity": user.as_str(), "Type": kind.set_mailbox_value() });
        self.client.invoke("Set-Mailbox", params).await.map(drop)
    }
    async fn set_hidden_from_address_lists(&self, user: &UserId, hidden: bool) -> TenantResult<()> {
        let params = json!({ "Identity": user.as_str(), "HiddenFromAddressListsEnabled": hidden });
        self.client.invoke("Set-Mailbox", params).await.map(drop)
    }
    async fn set_forwarding(&self, user: &UserId, smtp: Option<&str>) -> TenantResult<()> {
        let params = json!({ "Identity": user.as_str(), "ForwardingSmtpAddress": smtp });
        self.client.invoke("Set-Mailbox", params).await.map(drop)
    }
    async fn get_mailbox_permissions(&self, user: &UserId) -> TenantResult<Vec<MailboxPermission>> {
        let found = self
            .client
            .invoke(
                "Get-MailboxPermission",
                json!({ "Identity": user.as_str() }),
            )
            .await?;
        Ok(found
            .values
            .iter()
            .map(exchange::mailbox_permission)
            .collect())
    }
    async fn add_mailbox_full_access(&self, user: &UserId, trustee: &str) -> TenantResult<()> {
        let params = json!({
            "Identity": user.as_str(), "User": trustee, "AccessRights": ["FullAccess"],
            "InheritanceType": "All", "AutoMapping": true,
        });
        self.client
            .invoke("Add-MailboxPermission", params)
            .await
            .map(drop)
    }
    async fn remove_mailbox_full_access(&self, user: &UserId, trustee: &str) -> TenantResult<()> {
        let params = json!({
            "Identity": user.as_str(), "User": trustee, "AccessRights": ["FullAccess"],
            "InheritanceType": "All", "Confirm": false,
        });
        self.client
            .invoke("Remove-MailboxPermission", params)
            .await
            .map(drop)
    }
    async fn get_auto_reply(&self, user: &UserId) -> TenantResult<AutoReply> {
        let path = format!(
            "{}/mailboxSettings/automaticRepliesSetting",
            user_path(user.as_str())
        );
        let v: Value = self.client.graph_get(&path, Outlook, 1).await?;
        Ok(wire::auto_reply(&v))
    }
    async fn set_auto_reply(&self, user: &UserId, reply: &AutoReply) -> TenantResult<()> {
        let path = format!("{}/mailboxSettings", user_path(user.as_str()));
        let body = json!({ "automaticRepliesSetting": {
            "status": reply.status, "externalAudience": reply.external_audience,
            "internalReplyMessage": reply.internal_reply_message,
            "externalReplyMessage": reply.external_reply_message,
        }});
        let req = self
            .client
            .graph(Method::PATCH, &path, Outlook, 1)
            .json(body);
        self.client.send(&req).await.map(drop)
    }

    // ---- OneDrive (§6, drive.rs) ----
    async fn get_drive(&self, user: &UserId) -> TenantResult<Drive> {
        self.client.get_drive(user).await
    }
    async fn drive_delta(&self, drive: &DriveId, link: Option<&str>) -> TenantResult<DeltaPage> {
        self.client.drive_delta(drive, link).await
    }
    async fn download(&self, drive: &DriveId, item_id: &str) -> TenantResult<Vec<u8>> {
        self.client.download(drive, item_id).await
    }
    async fn invite(
        &self,
        drive: &DriveId,
        item_id: &str,
        recipient: &str,
        role: &str,
    ) -> TenantResult<DrivePermission> {
        self.client.invite(drive, item_id, recipient, role).await
    }
    async fn list_permissions(
        &self,
        drive: &DriveId,
        item_id: &str,
    ) -> TenantResult<Vec<DrivePermission>> {
        self.client.list_permissions(drive, item_id).await
    }
}
