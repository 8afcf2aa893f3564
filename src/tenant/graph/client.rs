//! The shared HTTP client of a `GraphTenant`: configuration, one reqwest client (no
//! redirects: downloads follow `Location` themselves, without the bearer token), the rate
//! limiters and one token cache per audience.

use super::config::{GraphConfig, GraphConfigError};
use super::errors::Service;
use super::limiter::{Family, Limiters};
use super::token::TokenCache;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

/// Who a token is for: each service is its own audience (`scope = {base}/.default`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Graph,
    Exchange,
    PartnerCenter,
}

pub enum Body {
    Empty,
    Json(Value),
    /// `application/x-www-form-urlencoded` (the token request; values may be secrets).
    Form(Vec<(&'static str, String)>),
}

/// One logical call; [`Client::send`] retries it as a whole.
pub struct Request {
    pub method: Method,
    pub url: String,
    pub service: Service,
    pub audience: Option<Audience>,
    /// The quota it counts against, and how many tokens it costs there.
    pub family: Option<(Family, u32)>,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
    pub timeout: Option<Duration>,
}

impl Request {
    pub fn new(method: Method, url: String, service: Service, audience: Option<Audience>) -> Self {
        Request {
            method,
            url,
            service,
            audience,
            family: None,
            headers: Vec::new(),
            body: Body::Empty,
            timeout: None,
        }
    }

    pub fn family(mut self, family: Family, cost: u32) -> Self {
        self.family = Some((family, cost));
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// A response with a 2xx or 3xx status.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The `request-id` (or our `client-request-id`) for errors found in the body later.
    pub request_id: String,
}

impl Response {
    /// The body as `T`; a body that does not fit is a permanent error naming the request.
    pub fn json<T: DeserializeOwned>(&self) -> crate::tenant::TenantResult<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            crate::tenant::TenantError::new(
                crate::tenant::ErrorKind::BadRequest,
                "InvalidResponse",
                format!("the service's response does not have the documented shape: {e}"),
            )
            .with_request_id(self.request_id.clone())
        })
    }
}

pub struct Client {
    pub cfg: GraphConfig,
    pub(super) http: reqwest::Client,
    pub limiters: Limiters,
    pub(super) tokens: [TokenCache; 3],
    /// Where 429s (and 503s with Retry-After) are counted, by service.
    pub(super) metrics: Option<crate::metrics::Metrics>,
}

impl Client {
    pub fn new(cfg: GraphConfig) -> Result<Self, GraphConfigError> {
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("offboard/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| GraphConfigError::Client(e.to_string()))?;
        let limiters = Limiters::new(cfg.limits.clone());
        let tokens = [
            TokenCache::new(&cfg.tenant_id, &cfg.graph_url),
            TokenCache::new(&cfg.tenant_id, &cfg.exchange_url),
            TokenCache::new(&cfg.partner_tenant_id, &cfg.partner_center_url),
        ];
        Ok(Client {
            cfg,
            http,
            limiters,
            tokens,
            metrics: None,
        })
    }

    pub(super) fn cache(&self, audience: Audience) -> &TokenCache {
        match audience {
            Audience::Graph => &self.tokens[0],
            Audience::Exchange => &self.tokens[1],
            Audience::PartnerCenter => &self.tokens[2],
        }
    }
}

/// Makes ring the process's rustls provider unless one is installed already. reqwest is built
/// without a provider of its own (ring builds without cmake), so any other reqwest client in
/// the process (tests, tools) must call this before it is built; `GraphTenant` does.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A response that does not have the documented shape.
pub fn invalid(what: &str) -> crate::tenant::TenantError {
    crate::tenant::TenantError::new(
        crate::tenant::ErrorKind::BadRequest,
        "InvalidResponse",
        format!("the service's {what} does not have the documented shape"),
    )
}
