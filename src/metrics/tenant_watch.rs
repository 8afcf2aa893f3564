//! The tenant watch of `offboard serve`: every [`TENANT_REFRESH`] it lists the tenant's SKUs
//! (never at scrape time: Graph quotas), sets `offboard_license_units`, and records the
//! readiness component `tenant`: ok after a successful listing, failing with the error text
//! (an invalid client secret, a missing permission) otherwise. A throttled or transient
//! failure after a success keeps the instance ready: Graph throttling every instance at once
//! must not take them all out of a load balancer.

use super::Metrics;
use crate::health::Health;
use crate::tenant::{ErrorKind, Tenant, TenantError};
use std::future::Future;
use std::time::Duration;
use tracing::{info, warn};

/// How often the licenses are listed.
pub const TENANT_REFRESH: Duration = Duration::from_secs(60);
/// The readiness component this loop writes.
pub const COMPONENT: &str = "tenant";

/// Checks the tenant now and then every `every`, until `shutdown` completes.
pub async fn run(
    tenant: &dyn Tenant,
    metrics: &Metrics,
    health: &Health,
    every: Duration,
    shutdown: impl Future<Output = ()>,
) {
    health.set(COMPONENT, false, "the tenant has not been checked yet");
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            () = check(tenant, metrics, health) => {}
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// One listing of the SKUs: licenses and the readiness component.
pub async fn check(tenant: &dyn Tenant, metrics: &Metrics, health: &Health) {
    let was_ok = health.snapshot().get(COMPONENT).map(|c| c.ok);
    match tenant.list_skus().await {
        Ok(skus) => {
            metrics.set_licenses(&skus);
            if was_ok != Some(true) {
                info!(skus = skus.len(), "The tenant answers: licenses listed.");
            }
            let detail = format!("the tenant's licenses were listed ({} SKUs)", skus.len());
            health.set(COMPONENT, true, detail);
        }
        Err(e) if was_ok == Some(true) && e.is_retryable() => {
            let detail = format!(
                "the last listing of the tenant's licenses failed ({e}); the tenant answered before, so the instance stays ready; checked again every {}",
                humantime::format_duration(TENANT_REFRESH)
            );
            warn!(error = %e, "The tenant check was throttled or failed transiently.");
            health.set(COMPONENT, true, detail);
        }
        Err(e) => {
            let detail = format!(
                "listing the tenant's licenses (subscribedSkus) failed: {e}; {}",
                hint(&e)
            );
            if was_ok != Some(false) || health.snapshot()[COMPONENT].detail != detail {
                warn!(error = %e, "The tenant check failed; the instance is not ready.");
            }
            health.set(COMPONENT, false, detail);
        }
    }
}

fn hint(e: &TenantError) -> String {
    let retry = humantime::format_duration(TENANT_REFRESH);
    match e.kind {
        ErrorKind::Unauthorized => format!(
            "check OFFBOARD_TENANT_ID, OFFBOARD_CLIENT_ID and OFFBOARD_CLIENT_SECRET or OFFBOARD_CLIENT_CERT (checked again every {retry})"
        ),
        ErrorKind::Forbidden => format!(
            "grant the app Organization.Read.All (or LicenseAssignment.Read.All) with admin consent (checked again every {retry})"
        ),
        _ => format!("checked again every {retry}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SimClock;
    use crate::tenant::sim::{SimFaults, SimTenant};

    fn sim() -> SimTenant {
        let scenario = serde_json::from_value(serde_json::json!({
            "tenant": "contoso.com",
            "skus": [{"skuId": "6fd2c87f-b296-42f0-b197-1e91e994b900", "skuPartNumber": "ENTERPRISEPACK",
                      "prepaidUnits": {"enabled": 2}, "otherConsumedUnits": 3}],
            "users": []
        }))
        .unwrap();
        SimTenant::from_scenario(scenario, SimClock::new()).unwrap()
    }

    #[tokio::test]
    async fn a_listing_sets_licenses_and_readiness_and_a_failure_says_why() {
        let (t, m, h) = (sim(), Metrics::new(), Health::new());
        check(&t, &m, &h).await;
        assert!(h.snapshot()[COMPONENT].ok);
        let out = m.render();
        assert!(
            out.contains("offboard_license_units{sku=\"ENTERPRISEPACK\",state=\"free\"} -1\n"),
            "{out}"
        );
        t.set_faults(SimFaults {
            transient_rate: 1.0,
            ..SimFaults::default()
        });
        // After a success, a transient failure keeps the instance ready, saying so.
        check(&t, &m, &h).await;
        let c = &h.snapshot()[COMPONENT];
        assert!(c.ok);
        assert!(c.detail.contains("ServiceUnavailable"), "{}", c.detail);
        // Never answered: not ready, with the reason.
        let (h2, m2) = (Health::new(), Metrics::new());
        check(&t, &m2, &h2).await;
        let c = &h2.snapshot()[COMPONENT];
        assert!(!c.ok);
        assert!(c.detail.contains("ServiceUnavailable"), "{}", c.detail);
        assert!(!h2.ready());
    }
}
