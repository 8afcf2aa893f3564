//! Sending one logical call (docs/microsoft-365-api.md §2.1, §8.1): rate limiter first, bearer
//! token of the call's audience, a timeout per HTTP request, and retries of 429/5xx/transport
//! failures honouring `Retry-After` (else exponential backoff with full jitter), a bounded number
//! of times. A 401 drops the cached token and tries once more with a new one. The error of a
//! failed call carries the service's `request-id`, or the `client-request-id` we sent.

use super::backoff;
use super::client::{Body, Client, Request, Response};
use super::errors::{self, Service};
use crate::tenant::{TenantError, TenantResult};
use std::time::Duration;

impl Client {
    pub async fn send(&self, req: &Request) -> TenantResult<Response> {
        // One id per logical call: Graph's client-request-id, Partner Center's MS-RequestId
        // (the same on every retry, so a repeated PATCH is recognised, §9.2).
        let call_id = uuid::Uuid::now_v7().to_string();
        let mut attempt = 0;
        let mut renewed = false;
        loop {
            attempt += 1;
            if let Some((family, cost)) = req.family {
                self.limiters.acquire(family, cost).await;
            }
            let token = match req.audience {
                Some(a) => Some(self.token(a).await?),
                None => None,
            };
            let err = match self
                .once(req, token.as_ref().map(|t| t.value.expose()), &call_id)
                .await
            {
                Ok(resp) => {
                    if let Some((family, _)) = req.family {
                        self.limiters.succeeded(family);
                    }
                    return Ok(resp);
                }
                Err(e) => e,
            };
            if let (Some(m), true) = (&self.metrics, err.is_throttling()) {
                m.tenant_throttled(req.service.label());
            }
            if let (Some((family, _)), crate::tenant::ErrorKind::Throttled { retry_after }) =
                (req.family, &err.kind)
            {
                self.limiters.throttled(family, *retry_after);
            }
            if err.kind == crate::tenant::ErrorKind::Unauthorized
                && !renewed
                && let (Some(a), Some(t)) = (req.audience, &token)
            {
                renewed = true;
                self.cache(a).invalidate(t);
                attempt -= 1;
                continue;
            }
            match self.retry_wait(&err, attempt) {
                Some(wait) => {
                    tracing::warn!(
                        code = %err.code, attempt, wait_ms = wait.as_millis() as u64,
                        request_id = err.request_id.as_deref().unwrap_or(""),
                        "Call failed; retrying."
                    );
                    tokio::time::sleep(wait).await;
                }
                None => return Err(err),
            }
        }
    }

    /// How long to wait before trying `err`'s call again, or `None` to give up: permanent
    /// errors, tries used up, or a Retry-After the engine should wait out durably instead.
    fn retry_wait(&self, err: &TenantError, attempt: u32) -> Option<Duration> {
        let policy = &self.cfg.http;
        if !err.is_retryable() || attempt >= policy.tries {
            return None;
        }
        let wait = err
            .retry_after()
            .unwrap_or_else(|| backoff::full_jitter(policy.backoff, policy.max_backoff, attempt));
        (wait <= policy.max_retry_after).then_some(wait)
    }

    /// One HTTP request. A 2xx or 3xx is a response; anything else a typed error.
    async fn once(
        &self,
        req: &Request,
        bearer: Option<&str>,
        call_id: &str,
    ) -> TenantResult<Response> {
        let timeout = req.timeout.unwrap_or(self.cfg.http.timeout);
        let mut rb = self
            .http
            .request(req.method.clone(), &req.url)
            .timeout(timeout);
        if let Some(token) = bearer {
            rb = rb.bearer_auth(token);
        }
        rb = match req.service {
            Service::Graph | Service::Exchange => rb.header("client-request-id", call_id),
            Service::PartnerCenter => rb
                .header("Accept", "application/json")
                .header("MS-RequestId", call_id)
                .header("MS-CorrelationId", call_id),
            Service::Login | Service::Download => rb,
        };
        for (name, value) in &req.headers {
            rb = rb.header(*name, value);
        }
        rb = match &req.body {
            Body::Empty if req.method == reqwest::Method::GET => rb,
            // An empty body of known length: `Content-Length: 0` on POST and DELETE.
            Body::Empty => rb.body(Vec::<u8>::new()),
            Body::Json(v) => rb.json(v),
            Body::Form(fields) => rb.form(fields),
        };
        let with_id = |mut e: TenantError| {
            if e.request_id.is_none() {
                e.request_id = Some(call_id.to_string());
            }
            e
        };
        let resp = rb
            .send()
            .await
            .map_err(|e| with_id(errors::transport(&e, req.service)))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| with_id(errors::transport(&e, req.service)))?
            .to_vec();
        if (200..400).contains(&status) {
            let request_id = headers
                .get("request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or(call_id)
                .to_string();
            return Ok(Response {
                status,
                headers,
                body,
                request_id,
            });
        }
        Err(with_id(errors::from_response(
            req.service,
            status,
            &headers,
            &body,
        )))
    }
}
