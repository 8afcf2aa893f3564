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
    ($( $kind:ident fn $name:ident(&self $(, $arg:ident : $ty:ty)*) -> $ret:ty; )*) => {
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

offboard::tenant_methods!(forward);
