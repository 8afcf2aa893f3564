//! Per-call retries for a tenant without its own (the simulated one): a 429 or a transient
//! fault is retried after its Retry-After (or an exponential backoff) a few times before the
//! step sees it, as Microsoft's clients do. The Graph connector retries inside its HTTP
//! client instead. A retried change whose first response was lost comes back as the
//! service's "already done" answer, which the steps treat as success.

use super::api::Tenant;
use super::error::TenantResult;
use super::query::UserQuery;
use super::subscriptions::{CompanySubscription, PartnerSubscription};
use super::types::*;
use crate::ids::{DriveId, GroupId, SkuId, UserId};
use crate::metrics::Metrics;
use async_trait::async_trait;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How calls are retried.
#[derive(Debug, Clone, Copy)]
pub struct CallRetry {
    /// Tries in all, including the first.
    pub tries: u32,
    /// Backoff before the second try when the service gave no Retry-After; doubles.
    pub backoff: Duration,
    /// No single wait is longer than this.
    pub max_wait: Duration,
}

impl Default for CallRetry {
    fn default() -> Self {
        CallRetry {
            tries: 4,
            backoff: Duration::from_millis(100),
            max_wait: Duration::from_secs(30),
        }
    }
}

pub struct Retrying {
    inner: Arc<dyn Tenant>,
    policy: CallRetry,
    metrics: Option<Metrics>,
}

impl Retrying {
    pub fn new(inner: Arc<dyn Tenant>, policy: CallRetry) -> Self {
        Retrying {
            inner,
            policy,
            metrics: None,
        }
    }

    /// Counts the inner tenant's throttling in `offboard_tenant_throttled_total`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    async fn call<T, F, Fut>(&self, method: &str, f: F) -> TenantResult<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = TenantResult<T>>,
    {
        let mut backoff = self.policy.backoff;
        let mut tries = 1;
        loop {
            let result = f().await;
            if let (Err(e), Some(m)) = (&result, &self.metrics)
                && e.is_throttling()
            {
                m.tenant_throttled(api_family(method));
            }
            match result {
                Err(e) if e.is_retryable() && tries < self.policy.tries => {
                    let wait = e.retry_after().unwrap_or(backoff).min(self.policy.max_wait);
                    tracing::debug!(error = %e, wait_ms = wait.as_millis() as u64, "Tenant call will be retried.");
                    tokio::time::sleep(wait).await;
                    backoff = (backoff * 2).min(self.policy.max_wait);
                    tries += 1;
                }
                other => return other,
            }
        }
    }
}

/// The API family a trait method calls in Microsoft 365 (the Graph connector's services).
fn api_family(method: &str) -> &'static str {
    match method {
        "get_partner_subscription" | "update_partner_subscription" => "partner_center",
        m if m.contains("mailbox")
            || m == "set_forwarding"
            || m == "set_hidden_from_address_lists" =>
        {
            "exchange"
        }
        _ => "graph",
    }
}

/// Forwards each trait method through [`Retrying::call`].
macro_rules! forward {
    ($( $kind:ident fn $name:ident(&self $(, $arg:ident : $ty:ty)*) -> $ret:ty; )*) => {
        #[async_trait]
        impl Tenant for Retrying {
            $(
                async fn $name(&self $(, $arg: $ty)*) -> TenantResult<$ret> {
                    self.call(stringify!($name), || self.inner.$name($($arg),*)).await
                }
            )*
        }
    };
}

crate::tenant_methods!(forward);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SimClock;
    use crate::tenant::sim::{SimFaults, SimTenant};

    fn sim() -> SimTenant {
        let scenario = serde_json::from_value(serde_json::json!({
            "tenant": "contoso.com",
            "users": [{"id": "00000000-0000-4000-8000-000000000001",
                       "userPrincipalName": "a@contoso.com", "displayName": "A"}]
        }))
        .unwrap();
        SimTenant::from_scenario(scenario, SimClock::new()).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn throttled_calls_are_retried_after_retry_after_and_give_up_eventually() {
        let sim = sim();
        sim.set_faults(SimFaults {
            throttle_rate: 1.0,
            retry_after_ms: 1500,
            ..SimFaults::default()
        });
        let t = Retrying::new(Arc::new(sim.clone()), CallRetry::default());
        let started = tokio::time::Instant::now();
        let err = t.get_user("a@contoso.com").await.unwrap_err();
        assert!(err.is_retryable());
        assert_eq!(sim.calls("get_user"), 4, "four tries in all");
        assert!(
            started.elapsed() >= Duration::from_millis(4500),
            "Retry-After honoured three times"
        );
        sim.set_faults(SimFaults::default());
        assert!(t.get_user("a@contoso.com").await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_errors_are_not_retried() {
        let sim = sim();
        let t = Retrying::new(Arc::new(sim.clone()), CallRetry::default());
        assert!(t.get_user("nobody@contoso.com").await.is_err());
        assert_eq!(sim.calls("get_user"), 1);
    }
}
