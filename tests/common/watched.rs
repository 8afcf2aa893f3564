//! A test-only `Tenant` decorator around the simulated tenant that runs hooks before and
//! after every call: to watch the tenant through the sim's inspection API at every step a
//! workflow takes (e.g. "the user is never without a license"), or to change it between two
//! calls of a step (a race).

use async_trait::async_trait;
use offboard::ids::{DriveId, GroupId, SkuId, UserId};
use offboard::tenant::sim::SimTenant;
use offboard::tenant::*;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

pub type HookFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
/// Called with the sim and the name of the trait method.
pub type Hook = Arc<dyn Fn(SimTenant, &'static str) -> HookFuture + Send + Sync>;

pub struct Watched {
    pub sim: SimTenant,
    pub before: Option<Hook>,
    pub after: Option<Hook>,
}

impl Watched {
    async fn around<T>(
        &self,
        name: &'static str,
        call: impl Future<Output = TenantResult<T>>,
    ) -> TenantResult<T> {
        if let Some(h) = &self.before {
            h(self.sim.clone(), name).await;
        }
        let r = call.await;
        if let Some(h) = &self.after {
            h(self.sim.clone(), name).await;
        }
        r
    }
}

/// Watches `upn` before and after every tenant call; each moment it holds no license is
/// recorded as "<before|after> <method>". Returns the tenant to give the engine.
pub fn never_unlicensed(sim: &SimTenant, upn: &str) -> (Arc<dyn Tenant>, Arc<Mutex<Vec<String>>>) {
    let gaps: Arc<Mutex<Vec<String>>> = Arc::default();
    let hook = |when: &'static str| -> Hook {
        let gaps = gaps.clone();
        let upn = upn.to_string();
        Arc::new(move |sim: SimTenant, name: &'static str| {
            let held = sim
                .user(&upn)
                .map(|u| u.assigned_licenses.len())
                .unwrap_or(0);
            if held == 0 {
                gaps.lock().unwrap().push(format!("{when} {name}"));
            }
            Box::pin(async {}) as HookFuture
        })
    };
    let tenant = Watched {
        sim: sim.clone(),
        before: Some(hook("before")),
        after: Some(hook("after")),
    };
    (Arc::new(tenant), gaps)
}

macro_rules! forward {
    ($( fn $name:ident(&self $(, $arg:ident : $ty:ty)*) -> $ret:ty; )*) => {
        #[async_trait]
        impl Tenant for Watched {
            $(
                async fn $name(&self $(, $arg: $ty)*) -> TenantResult<$ret> {
                    self.around(stringify!($name), self.sim.$name($($arg),*)).await
                }
            )*
        }
    };
}

forward! {
    fn get_user(&self, id_or_upn: &str) -> User;
    fn set_account_enabled(&self, user: &UserId, enabled: bool) -> ();
    fn set_usage_location(&self, user: &UserId, code: &str) -> ();
    fn revoke_sign_in_sessions(&self, user: &UserId) -> ();
    fn get_manager(&self, user: &UserId) -> Option<User>;
    fn member_of(&self, user: &UserId) -> Vec<DirectoryObject>;
    fn delete_user(&self, user: &UserId) -> ();
    fn get_deleted_user(&self, user: &UserId) -> DeletedUser;
    fn list_deleted_users(&self) -> Vec<DeletedUser>;
    fn restore_deleted_user(&self, user: &UserId) -> User;
    fn purge_deleted_user(&self, user: &UserId) -> ();
    fn list_users(&self, query: &UserQuery) -> Vec<User>;
    fn count_users(&self) -> u64;
    fn list_skus(&self) -> Vec<Sku>;
    fn assign_license(&self, user: &UserId, add: &[AssignedLicense], remove: &[SkuId]) -> ();
    fn reprocess_license_assignment(&self, user: &UserId) -> User;
    fn get_group(&self, group: &GroupId) -> Group;
    fn add_group_member(&self, group: &GroupId, user: &UserId) -> ();
    fn remove_group_member(&self, group: &GroupId, user: &UserId) -> ();
    fn list_subscriptions(&self) -> Vec<CompanySubscription>;
    fn get_partner_subscription(&self, id: &str) -> PartnerSubscription;
    fn update_partner_subscription(&self, sub: &PartnerSubscription) -> PartnerSubscription;
    fn get_mailbox(&self, user: &UserId) -> Mailbox;
    fn list_mailboxes(&self, kind: MailboxType) -> Vec<Mailbox>;
    fn set_mailbox_type(&self, user: &UserId, kind: MailboxType) -> ();
    fn set_hidden_from_address_lists(&self, user: &UserId, hidden: bool) -> ();
    fn set_forwarding(&self, user: &UserId, smtp: Option<&str>) -> ();
    fn get_mailbox_permissions(&self, user: &UserId) -> Vec<MailboxPermission>;
    fn add_mailbox_full_access(&self, user: &UserId, trustee: &str) -> ();
    fn remove_mailbox_full_access(&self, user: &UserId, trustee: &str) -> ();
    fn get_auto_reply(&self, user: &UserId) -> AutoReply;
    fn set_auto_reply(&self, user: &UserId, reply: &AutoReply) -> ();
    fn get_drive(&self, user: &UserId) -> Drive;
    fn drive_delta(&self, drive: &DriveId, link: Option<&str>) -> DeltaPage;
    fn download(&self, drive: &DriveId, item_id: &str) -> Vec<u8>;
    fn invite(&self, drive: &DriveId, item_id: &str, recipient: &str, role: &str) -> DrivePermission;
    fn list_permissions(&self, drive: &DriveId, item_id: &str) -> Vec<DrivePermission>;
}
