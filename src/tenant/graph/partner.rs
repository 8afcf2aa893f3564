//! Partner Center subscriptions (docs/microsoft-365-api.md §9.2): GET, and PATCH with the full
//! resource as read. Tokens come from the partner tenant; every call sends `MS-RequestId` (one per
//! logical call, the same on its retries, so a repeated PATCH is recognised) and
//! `MS-CorrelationId` (http.rs). Errors are `{code, description}` bodies (errors.rs).

use super::client::{Audience, Client, Request};
use super::errors::Service;
use super::limiter::Family;
use crate::tenant::{PartnerSubscription, TenantResult};
use reqwest::Method;

impl Client {
    fn partner(&self, method: Method, id: &str) -> Request {
        let url = self.cfg.partner_subscription_url(id);
        Request::new(
            method,
            url,
            Service::PartnerCenter,
            Some(Audience::PartnerCenter),
        )
        .family(Family::PartnerCenter, 1)
    }

    pub async fn get_partner_subscription(&self, id: &str) -> TenantResult<PartnerSubscription> {
        self.partner_configured()?;
        self.send(&self.partner(Method::GET, id)).await?.json()
    }

    /// `NotConfigured` when no CSP partner is configured: nothing is sent, and the caller
    /// handles the subscription as bought directly.
    fn partner_configured(&self) -> TenantResult<()> {
        if self.cfg.partner_configured {
            return Ok(());
        }
        Err(crate::tenant::TenantError::new(
            crate::tenant::ErrorKind::NotConfigured,
            "PartnerCenterNotConfigured",
            "no CSP partner is configured (OFFBOARD_PARTNER_TENANT_ID, OFFBOARD_CSP_CUSTOMER_ID)",
        ))
    }

    pub async fn patch_partner_subscription(
        &self,
        sub: &PartnerSubscription,
    ) -> TenantResult<PartnerSubscription> {
        self.partner_configured()?;
        let body = serde_json::to_value(sub).map_err(|e| {
            crate::tenant::TenantError::new(
                crate::tenant::ErrorKind::BadRequest,
                "InvalidRequest",
                e.to_string(),
            )
        })?;
        self.send(&self.partner(Method::PATCH, &sub.id).json(body))
            .await?
            .json()
    }
}
