//! What the connector needs to know: tenant, app credentials, the four service base URLs
//! (national clouds and test servers override them, docs/microsoft-365-api.md §1.5), retry
//! policy and client-side rate limits. Built from [`Config`] by [`GraphConfig::from_config`].

use super::assertion::ClientCertificate;
use super::limiter::LimiterConfig;
use super::secret::Secret;
use crate::config::Config;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub const DEFAULT_LOGIN_URL: &str = "https://login.microsoftonline.com";
pub const DEFAULT_GRAPH_URL: &str = "https://graph.microsoft.com";
pub const DEFAULT_EXCHANGE_URL: &str = "https://outlook.office365.com";
pub const DEFAULT_PARTNER_CENTER_URL: &str = "https://api.partnercenter.microsoft.com";

/// How the app proves who it is to the token endpoint (§1.1, §1.2).
#[derive(Debug, Clone)]
pub enum Credential {
    Secret(Secret),
    Certificate(Arc<ClientCertificate>),
}

/// Timeouts and retries of one HTTP call (§8.1).
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    /// Per HTTP request (connect to last byte).
    pub timeout: Duration,
    /// Per file download (`/content` and the pre-authenticated URL).
    pub download_timeout: Duration,
    /// Tries in all for one call, including the first.
    pub tries: u32,
    /// First backoff without Retry-After; doubles, with full jitter.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// A Retry-After longer than this is not slept in the call: the error goes back to the
    /// engine, which waits on a durable timer instead.
    pub max_retry_after: Duration,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        HttpPolicy {
            timeout: Duration::from_secs(60),
            download_timeout: Duration::from_secs(600),
            tries: 6,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

#[derive(Debug, Clone)]
pub struct GraphConfig {
    pub tenant_id: String,
    pub client_id: String,
    pub credential: Credential,
    /// Without trailing slash, e.g. `https://login.microsoftonline.com`.
    pub login_url: String,
    /// Without `/v1.0`, e.g. `https://graph.microsoft.com`; also the token audience.
    pub graph_url: String,
    pub exchange_url: String,
    pub partner_center_url: String,
    /// Partner Center tokens come from the partner's tenant (§9.2).
    pub partner_tenant_id: String,
    /// Whether a CSP partner is configured (`OFFBOARD_PARTNER_TENANT_ID`,
    /// `OFFBOARD_CSP_CUSTOMER_ID` or `OFFBOARD_PARTNER_CENTER_URL` set). Without one, Partner
    /// Center is never called and every subscription is handled as bought directly.
    pub partner_configured: bool,
    /// The customer id in Partner Center paths.
    pub csp_customer_id: String,
    pub http: HttpPolicy,
    pub limits: LimiterConfig,
    /// Send independent reads in `$batch` requests of 20 (§7). Off only to measure what
    /// batching saves (the connector benchmark).
    pub batching: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum GraphConfigError {
    #[error("{var} is not set; OFFBOARD_TENANT=graph needs {what}")]
    Missing {
        var: &'static str,
        what: &'static str,
    },
    #[error("{var}: `{value}` is not an http:// or https:// URL")]
    BadUrl { var: &'static str, value: String },
    #[error("set only one of OFFBOARD_CLIENT_SECRET and OFFBOARD_CLIENT_CERT")]
    BothCredentials,
    #[error("OFFBOARD_CLIENT_CERT {path}: {message}")]
    Certificate { path: PathBuf, message: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

fn url(var: &'static str, value: Option<&str>, default: &str) -> Result<String, GraphConfigError> {
    let value = value.unwrap_or(default).trim().trim_end_matches('/');
    match reqwest::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            Ok(value.to_string())
        }
        _ => Err(GraphConfigError::BadUrl {
            var,
            value: value.to_string(),
        }),
    }
}

fn required(
    value: &Option<String>,
    var: &'static str,
    what: &'static str,
) -> Result<String, GraphConfigError> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .ok_or(GraphConfigError::Missing { var, what })
}

impl GraphConfig {
    /// Reads the `OFFBOARD_*` settings (README "Configuration"). Names the variable that is missing
    /// or wrong; never shows a secret.
    pub fn from_config(cfg: &Config) -> Result<Self, GraphConfigError> {
        let tenant_id = required(
            &cfg.tenant_id,
            "OFFBOARD_TENANT_ID",
            "the customer tenant id",
        )?;
        let client_id = required(
            &cfg.client_id,
            "OFFBOARD_CLIENT_ID",
            "the app registration's application (client) id",
        )?;
        let secret = cfg.client_secret.as_deref().filter(|s| !s.is_empty());
        let credential = match (secret, &cfg.client_cert) {
            (Some(_), Some(_)) => return Err(GraphConfigError::BothCredentials),
            (Some(s), None) => Credential::Secret(Secret::new(s)),
            (None, Some(path)) => {
                let pem =
                    std::fs::read_to_string(path).map_err(|e| GraphConfigError::Certificate {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                let cert = ClientCertificate::from_pem(&pem).map_err(|message| {
                    GraphConfigError::Certificate {
                        path: path.clone(),
                        message,
                    }
                })?;
                Credential::Certificate(Arc::new(cert))
            }
            (None, None) => {
                return Err(GraphConfigError::Missing {
                    var: "OFFBOARD_CLIENT_SECRET",
                    what: "a client secret, or OFFBOARD_CLIENT_CERT (a PEM file with the certificate and its private key)",
                });
            }
        };
        let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        let partner_configured = given(&cfg.partner_tenant_id)
            || given(&cfg.csp_customer_id)
            || given(&cfg.partner_center_url);
        let partner_tenant_id = cfg
            .partner_tenant_id
            .clone()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| tenant_id.clone());
        let csp_customer_id = cfg
            .csp_customer_id
            .clone()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| tenant_id.clone());
        Ok(GraphConfig {
            login_url: url(
                "OFFBOARD_LOGIN_URL",
                cfg.login_url.as_deref(),
                DEFAULT_LOGIN_URL,
            )?,
            graph_url: url(
                "OFFBOARD_GRAPH_URL",
                cfg.graph_url.as_deref(),
                DEFAULT_GRAPH_URL,
            )?,
            exchange_url: url(
                "OFFBOARD_EXCHANGE_URL",
                cfg.exchange_url.as_deref(),
                DEFAULT_EXCHANGE_URL,
            )?,
            partner_center_url: url(
                "OFFBOARD_PARTNER_CENTER_URL",
                cfg.partner_center_url.as_deref(),
                DEFAULT_PARTNER_CENTER_URL,
            )?,
            tenant_id,
            client_id,
            credential,
            partner_tenant_id,
            partner_configured,
            csp_customer_id,
            http: HttpPolicy::default(),
            limits: LimiterConfig::default(),
            batching: true,
        })
    }

    /// The token endpoint of a tenant (§1.1); also the `aud` of a client assertion (§1.2).
    pub fn token_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.login_url)
    }

    /// `https://graph.microsoft.com/v1.0`
    pub fn graph_base(&self) -> String {
        format!("{}/v1.0", self.graph_url)
    }

    /// `.../adminapi/beta/{tenant}/InvokeCommand` (§5.4)
    pub fn invoke_command_url(&self) -> String {
        format!(
            "{}/adminapi/beta/{}/InvokeCommand",
            self.exchange_url, self.tenant_id
        )
    }

    /// `.../v1/customers/{customer}/subscriptions/{id}` (§9.2)
    pub fn partner_subscription_url(&self, id: &str) -> String {
        format!(
            "{}/v1/customers/{}/subscriptions/{}",
            self.partner_center_url,
            self.csp_customer_id,
            super::path::segment(id)
        )
    }
}
