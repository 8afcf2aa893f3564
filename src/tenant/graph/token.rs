//! Client-credentials tokens (docs/microsoft-365-api.md §1.1–1.3): one cached token per audience,
//! renewed before it expires (5 minutes or a tenth of its lifetime early, whichever is less), and
//! fetched by one caller at a time: concurrent calls that find no valid token wait for the
//! same fetch instead of each asking the token endpoint.

use super::client::{Audience, Body, Client, Request};
use super::config::Credential;
use super::errors::Service;
use super::secret::Secret;
use crate::tenant::{ErrorKind, TenantError, TenantResult};
use reqwest::Method;
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// Renew at most this long before expiry.
const EARLY: Duration = Duration::from_secs(300);

#[derive(Debug)]
pub struct AccessToken {
    pub value: Secret,
    /// Renew from here on.
    pub renew_at: Instant,
    /// Tells tokens apart for [`TokenCache::invalidate`].
    serial: u64,
}

/// The token of one audience.
#[derive(Debug)]
pub struct TokenCache {
    /// The tenant whose token endpoint issues it (the partner tenant for Partner Center).
    pub tenant: String,
    /// `{service base URL}/.default`
    pub scope: String,
    current: std::sync::Mutex<Option<Arc<AccessToken>>>,
    fetching: tokio::sync::Mutex<()>,
    fetches: AtomicU64,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

impl TokenCache {
    pub fn new(tenant: &str, base_url: &str) -> Self {
        TokenCache {
            tenant: tenant.to_string(),
            scope: format!("{base_url}/.default"),
            current: std::sync::Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
            fetches: AtomicU64::new(0),
        }
    }

    fn fresh(&self) -> Option<Arc<AccessToken>> {
        let guard = self.current.lock().unwrap_or_else(|e| e.into_inner());
        guard
            .as_ref()
            .filter(|t| Instant::now() < t.renew_at)
            .cloned()
    }

    /// Forgets `token` (a 401 said it is no longer good) unless a newer one replaced it.
    pub fn invalidate(&self, token: &AccessToken) {
        let mut guard = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if guard.as_ref().is_some_and(|t| t.serial == token.serial) {
            *guard = None;
        }
    }

    /// How many tokens this cache has fetched.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }
}

fn lifetime(v: Option<&serde_json::Value>) -> Duration {
    // A number on the v2.0 endpoint, a string on v1 (§1.3); an hour when absent.
    let secs = match v {
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    Duration::from_secs_f64(secs.filter(|s| s.is_finite() && *s > 0.0).unwrap_or(3600.0))
}

impl Client {
    /// A valid token for `audience`, fetching one if needed (one fetch at a time).
    pub async fn token(&self, audience: Audience) -> TenantResult<Arc<AccessToken>> {
        let cache = self.cache(audience);
        if let Some(t) = cache.fresh() {
            return Ok(t);
        }
        let _one_at_a_time = cache.fetching.lock().await;
        if let Some(t) = cache.fresh() {
            return Ok(t);
        }
        let token = Arc::new(self.fetch_token(cache).await?);
        *cache.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(token.clone());
        Ok(token)
    }

    async fn fetch_token(&self, cache: &TokenCache) -> TenantResult<AccessToken> {
        let token_url = self.cfg.token_url(&cache.tenant);
        let mut form = vec![
            ("client_id", self.cfg.client_id.clone()),
            ("scope", cache.scope.clone()),
            ("grant_type", "client_credentials".to_string()),
        ];
        match &self.cfg.credential {
            Credential::Secret(s) => form.push(("client_secret", s.expose().to_string())),
            Credential::Certificate(cert) => {
                let now = chrono::Utc::now().timestamp();
                let jwt = cert
                    .assertion(&self.cfg.client_id, &token_url, now)
                    .map_err(|m| TenantError::new(ErrorKind::Unauthorized, "ClientAssertion", m))?;
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string(),
                ));
                form.push(("client_assertion", jwt));
            }
        }
        let mut req = Request::new(Method::POST, token_url, Service::Login, None);
        req.body = Body::Form(form);
        let started = Instant::now();
        // Boxed: `send` fetches tokens, so its future cannot contain itself unboxed.
        let resp = Box::pin(self.send(&req)).await?;
        let body: TokenResponse = resp.json()?;
        let life = lifetime(body.expires_in.as_ref());
        let early = EARLY.min(life / 10);
        let serial = cache.fetches.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::debug!(scope = %cache.scope, lifetime_s = life.as_secs(), "Fetched an access token.");
        Ok(AccessToken {
            value: Secret::new(body.access_token),
            renew_at: started + life - early,
            serial,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_come_as_numbers_or_strings() {
        assert_eq!(
            lifetime(Some(&serde_json::json!(3599))),
            Duration::from_secs(3599)
        );
        assert_eq!(
            lifetime(Some(&serde_json::json!("60"))),
            Duration::from_secs(60)
        );
        assert_eq!(lifetime(None), Duration::from_secs(3600));
        assert_eq!(
            lifetime(Some(&serde_json::json!(-5))),
            Duration::from_secs(3600)
        );
    }
}
