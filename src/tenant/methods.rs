//! The one list of [`Tenant`](super::Tenant) methods, each marked `read` or `write`, for the
//! decorators that forward every method (`Retrying`, `ReadOnly`, the tests' `Watched`):
//! `tenant_methods!(my_macro)` calls `my_macro! { read fn get_user(&self, id_or_upn: &str)
//! -> User; ... }`. A method added to the trait is added here once.

/// Calls `$callback!` with every trait method as `read fn ...;` or `write fn ...;`.
#[doc(hidden)]
#[macro_export]
macro_rules! tenant_methods {
    ($callback:ident) => {
        $callback! {
            read fn get_user(&self, id_or_upn: &str) -> User;
            write fn set_account_enabled(&self, user: &UserId, enabled: bool) -> ();
            write fn set_usage_location(&self, user: &UserId, code: &str) -> ();
            write fn revoke_sign_in_sessions(&self, user: &UserId) -> ();
            read fn get_manager(&self, user: &UserId) -> Option<User>;
            read fn member_of(&self, user: &UserId) -> Vec<DirectoryObject>;
            write fn delete_user(&self, user: &UserId) -> ();
            read fn get_deleted_user(&self, user: &UserId) -> DeletedUser;
            read fn list_deleted_users(&self) -> Vec<DeletedUser>;
            write fn restore_deleted_user(&self, user: &UserId) -> User;
            write fn purge_deleted_user(&self, user: &UserId) -> ();
            read fn list_users(&self, query: &UserQuery) -> Vec<User>;
            read fn count_users(&self) -> u64;
            read fn list_skus(&self) -> Vec<Sku>;
            write fn assign_license(&self, user: &UserId, add: &[AssignedLicense], remove: &[SkuId]) -> ();
            write fn reprocess_license_assignment(&self, user: &UserId) -> User;
            read fn get_group(&self, group: &GroupId) -> Group;
            write fn add_group_member(&self, group: &GroupId, user: &UserId) -> ();
            write fn remove_group_member(&self, group: &GroupId, user: &UserId) -> ();
            read fn list_subscriptions(&self) -> Vec<CompanySubscription>;
            read fn get_partner_subscription(&self, id: &str) -> PartnerSubscription;
            write fn update_partner_subscription(&self, sub: &PartnerSubscription) -> PartnerSubscription;
            read fn get_mailbox(&self, user: &UserId) -> Mailbox;
            read fn list_mailboxes(&self, kind: MailboxType) -> Vec<Mailbox>;
            write fn set_mailbox_type(&self, user: &UserId, kind: MailboxType) -> ();
            write fn set_hidden_from_address_lists(&self, user: &UserId, hidden: bool) -> ();
            write fn set_forwarding(&self, user: &UserId, smtp: Option<&str>) -> ();
            read fn get_mailbox_permissions(&self, user: &UserId) -> Vec<MailboxPermission>;
            write fn add_mailbox_full_access(&self, user: &UserId, trustee: &str) -> ();
            write fn remove_mailbox_full_access(&self, user: &UserId, trustee: &str) -> ();
            read fn get_auto_reply(&self, user: &UserId) -> AutoReply;
            write fn set_auto_reply(&self, user: &UserId, reply: &AutoReply) -> ();
            read fn get_drive(&self, user: &UserId) -> Drive;
            read fn drive_delta(&self, drive: &DriveId, link: Option<&str>) -> DeltaPage;
            read fn download(&self, drive: &DriveId, item_id: &str) -> Vec<u8>;
            write fn invite(&self, drive: &DriveId, item_id: &str, recipient: &str, role: &str) -> DrivePermission;
            read fn list_permissions(&self, drive: &DriveId, item_id: &str) -> Vec<DrivePermission>;
        }
    };
}
