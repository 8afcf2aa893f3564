//! A tenant that only reads: every read forwards to the wrapped tenant, every write fails
//! with "a plan must not change the tenant (<method>)" and reaches nothing. Plans run against
//! it, so a planning mistake can never change the tenant.

use super::api::Tenant;
use super::error::{ErrorKind, TenantError, TenantResult};
use super::query::UserQuery;
use super::subscriptions::{CompanySubscription, PartnerSubscription};
use super::types::*;
use crate::ids::{DriveId, GroupId, SkuId, UserId};
use async_trait::async_trait;
use std::sync::Arc;

pub struct ReadOnly {
    inner: Arc<dyn Tenant>,
}

impl ReadOnly {
    pub fn new(inner: Arc<dyn Tenant>) -> Self {
        ReadOnly { inner }
    }
}

/// The error every write returns.
fn refused(method: &str) -> TenantError {
    TenantError::new(
        ErrorKind::BadRequest,
        "ReadOnlyTenant",
        format!("a plan must not change the tenant ({method})"),
    )
}

/// Reads forward; writes are refused without touching the wrapped tenant. (The body is a
/// nested macro call so that `async_trait` sees plain `async fn`s.)
macro_rules! read_only {
    ($( $kind:ident fn $name:ident(&self $(, $arg:ident : $ty:ty)*) -> $ret:ty; )*) => {
        #[async_trait]
        impl Tenant for ReadOnly {
            $(
                async fn $name(&self $(, $arg: $ty)*) -> TenantResult<$ret> {
                    read_only!(@body $kind self $name ($($arg),*))
                }
            )*
        }
    };
    (@body read $self:ident $name:ident ($($arg:ident),*)) => {
        $self.inner.$name($($arg),*).await
    };
    (@body write $self:ident $name:ident ($($arg:ident),*)) => {{
        $( let _ = $arg; )*
        Err(refused(stringify!($name)))
    }};
}

crate::tenant_methods!(read_only);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SimClock;
    use crate::tenant::sim::SimTenant;
    use std::path::Path;

    fn example() -> SimTenant {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tenant.json");
        let scenario = SimTenant::load_scenario(&path).unwrap();
        SimTenant::from_scenario(scenario, SimClock::new()).unwrap()
    }

    #[tokio::test]
    async fn reads_forward_and_writes_are_refused_without_reaching_the_tenant() {
        let sim = example();
        let before = sim.fingerprint();
        let t = ReadOnly::new(Arc::new(sim.clone()));
        let user = t.get_user("dana.lee@contoso.com").await.unwrap();
        assert!(user.account_enabled);
        assert!(t.get_mailbox(&user.id).await.is_ok());
        let drive = t.get_drive(&user.id).await.unwrap();
        assert!(!t.list_skus().await.unwrap().is_empty());

        let refused = |e: TenantError, method: &str| {
            assert_eq!(e.code, "ReadOnlyTenant");
            assert!(!e.is_retryable());
            let want = format!("a plan must not change the tenant ({method})");
            assert_eq!(e.message, want);
        };
        refused(
            t.set_account_enabled(&user.id, false).await.unwrap_err(),
            "set_account_enabled",
        );
        refused(t.delete_user(&user.id).await.unwrap_err(), "delete_user");
        refused(
            t.assign_license(&user.id, &[], &[]).await.unwrap_err(),
            "assign_license",
        );
        refused(
            t.set_mailbox_type(&user.id, MailboxType::SharedMailbox)
                .await
                .unwrap_err(),
            "set_mailbox_type",
        );
        refused(
            t.invite(&drive.id, "root", "sam.ortiz@contoso.com", "write")
                .await
                .unwrap_err(),
            "invite",
        );
        for write in [
            "set_account_enabled",
            "delete_user",
            "assign_license",
            "set_mailbox_type",
            "invite",
        ] {
            assert_eq!(sim.calls(write), 0, "{write} reached the tenant");
        }
        assert_eq!(sim.fingerprint(), before);
    }
}
