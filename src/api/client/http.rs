//! [`AdminClient`]: the base URL, the optional bearer token and one reqwest client; every
//! call answers the response's JSON or a [`ClientError`].

use super::error::{ClientError, transport_reason};
use reqwest::{Method, Url};
use serde_json::Value;
use std::time::Duration;

/// A client of one admin API. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct AdminClient {
    base: Url,
    token: Option<String>,
    http: reqwest::Client,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// A request body with its extra headers.
pub(super) struct Payload {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
}

impl AdminClient {
    /// A client of the API at `base` (`http://host:port`, a path prefix is kept).
    pub fn new(base: &str, token: Option<String>) -> Result<Self, ClientError> {
        let bad = |reason: String| ClientError::BadUrl {
            url: base.to_string(),
            reason,
        };
        let mut url = Url::parse(base.trim()).map_err(|e| bad(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(bad("it needs http:// or https:// and a host".into()));
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        crate::tenant::graph::install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            // The service closes a connection idle for 10 s; never reuse one that old.
            .pool_idle_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| bad(format!("the HTTP client cannot be built: {e}")))?;
        Ok(AdminClient {
            base: url,
            token: token.filter(|t| !t.is_empty()),
            http,
        })
    }

    /// The base URL as given (without the trailing slash), for messages.
    pub fn base(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url, ClientError> {
        let mut url =
            self.base
                .join(path.trim_start_matches('/'))
                .map_err(|e| ClientError::BadUrl {
                    url: format!("{}{path}", self.base),
                    reason: e.to_string(),
                })?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// Sends one request; 2xx answers are parsed as JSON, others become [`ClientError`].
    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        payload: Option<Payload>,
    ) -> Result<Value, ClientError> {
        let url = self.url(path, query)?;
        let mut req = self.http.request(method, url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(p) = payload {
            req = req.header(reqwest::header::CONTENT_TYPE, p.content_type);
            for (name, value) in p.headers {
                req = req.header(name, value);
            }
            req = req.body(p.bytes);
        }
        let resp = req.send().await.map_err(|e| ClientError::Unreachable {
            url: self.base().to_string(),
            reason: transport_reason(&e),
        })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| ClientError::Unreachable {
            url: self.base().to_string(),
            reason: format!("the answer was cut off: {}", transport_reason(&e)),
        })?;
        let body: Option<Value> = serde_json::from_str(&text).ok();
        if (200..300).contains(&status) {
            return body.ok_or_else(|| self.invalid(status, "a body that is not JSON"));
        }
        if status == 401 {
            return Err(ClientError::Unauthorized);
        }
        match body
            .as_ref()
            .and_then(|b| Some((b.get("error")?.as_str()?, b)))
        {
            Some((code, b)) => Err(ClientError::Api {
                status,
                code: code.to_string(),
                message: b["message"].as_str().unwrap_or("(no message)").to_string(),
            }),
            None => Err(self.invalid(status, "no `{\"error\", \"message\"}` body")),
        }
    }

    fn invalid(&self, status: u16, what: &str) -> ClientError {
        ClientError::Invalid {
            url: self.base().to_string(),
            status,
            what: what.to_string(),
        }
    }
}
