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

    fn sim() -> SimTenant {
        let scenario = serde_json::from_value(serde_json::json!({
            "tenant": "contoso.com",
            "users": [{"id": "00000000-0000-4000-8000-000000000001",
                       "userPrincipalName": "a@contoso.com", "displayName": "A"}]
        }))
        .unwrap();
        SimTenant::from_scenario(scenario, SimClock::new()).unwrap()
    }

    #[tokio::test]
    async fn reads_forward_and_writes_are_refused_without_a_call() {
        let sim = sim();
        let t = ReadOnly::new(Arc::new(sim.clone()));
        let user = t.get_user("a@contoso.com").await.unwrap();
        assert!(user.account_enabled);
        let err = t.set_account_enabled(&user.id, false).await.unwrap_err();
        assert!(
            err.message
                .contains("a plan must not change the tenant (set_account_enabled)")
        );
        assert!(!err.is_retryable());
        assert_eq!(sim.calls("set_account_enabled"), 0);
        let err = t.delete_user(&user.id).await.unwrap_err();
        assert!(err.message.contains("(delete_user)"));
        assert!(sim.user("a@contoso.com").unwrap().account_enabled);
    }
}
