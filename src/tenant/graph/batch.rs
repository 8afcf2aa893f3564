//! JSON batching (docs/microsoft-365-api.md §7): up to 20 requests per `POST /$batch`, correlated
//! by `id` (the response order is not guaranteed). Throttling is per inner request: the items that
//! come back 429 (or 503/504) are sent again, alone, in a new batch after the longest
//! Retry-After among them; the others keep their results. Used where one trait method needs
//! several independent reads: the group details of `member_of` (tenant_impl.rs).

use super::backoff;
use super::client::Client;
use super::errors::{self, Service};
use super::limiter::Family;
use crate::tenant::{ErrorKind, TenantError, TenantResult};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use std::time::Duration;

/// At most this many requests in one batch (§7).
pub const MAX_BATCH: usize = 20;

/// One inner request: `url` is relative to the batch's version, e.g. `/groups/{id}`.
#[derive(Debug, Clone)]
pub struct BatchItem {
    pub method: Method,
    pub url: String,
    pub body: Option<Value>,
}

impl BatchItem {
    pub fn get(url: impl Into<String>) -> Self {
        BatchItem {
            method: Method::GET,
            url: url.into(),
            body: None,
        }
    }
}

fn inner_headers(v: Option<&Value>) -> HeaderMap {
    let mut map = HeaderMap::new();
    if let Some(Value::Object(h)) = v {
        for (k, v) in h {
            let value = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            if let (Ok(name), Ok(value)) = (
                HeaderName::try_from(k.as_str()),
                HeaderValue::try_from(value),
            ) {
                map.insert(name, value);
            }
        }
    }
    map
}

impl Client {
    /// Runs `items` in batches of 20; one result per item, in the order given. Each item
    /// costs `cost` tokens of `family`. Fails as a whole only when a batch itself fails.
    pub async fn batch(
        &self,
        items: &[BatchItem],
        family: Family,
        cost: u32,
    ) -> TenantResult<Vec<TenantResult<Value>>> {
        let mut results: Vec<Option<TenantResult<Value>>> = vec![None; items.len()];
        let mut pending: Vec<usize> = (0..items.len()).collect();
        let mut round = 0;
        while !pending.is_empty() {
            round += 1;
            let mut again = Vec::new();
            let mut wait: Option<Duration> = None;
            for chunk in pending.chunks(MAX_BATCH) {
                let requests: Vec<Value> = chunk
                    .iter()
                    .map(|&i| {
                        let item = &items[i];
                        let mut r = json!({"id": i.to_string(), "method": item.method.as_str(), "url": item.url});
                        if let Some(body) = &item.body {
                            r["body"] = body.clone();
                            r["headers"] = json!({"Content-Type": "application/json"});
                        }
                        r
                    })
                    .collect();
                let req = self
                    .graph(Method::POST, "/$batch", family, cost * chunk.len() as u32)
                    .json(json!({ "requests": requests }));
                let resp = self.send(&req).await?;
                let body: Value = resp.json()?;
                let responses = body
                    .get("responses")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for &i in chunk {
                    let r = responses.iter().find(|r| {
                        r.get("id").and_then(Value::as_str) == Some(i.to_string().as_str())
                    });
                    let Some(r) = r else {
                        again.push(i);
                        continue;
                    };
                    let status = r.get("status").and_then(Value::as_u64).unwrap_or(500) as u16;
                    let inner_body = r.get("body").cloned().unwrap_or(Value::Null);
                    if (200..300).contains(&status) {
                        results[i] = Some(Ok(inner_body));
                        continue;
                    }
                    let headers = inner_headers(r.get("headers"));
                    let bytes = serde_json::to_vec(&inner_body).unwrap_or_default();
                    let mut err = errors::from_response(Service::Graph, status, &headers, &bytes);
                    if err.request_id.is_none() {
                        err.request_id = Some(resp.request_id.clone());
                    }
                    if err.is_retryable() && round < self.cfg.http.tries {
                        if let ErrorKind::Throttled { retry_after } = err.kind {
                            self.limiters.throttled(family, retry_after);
                        }
                        let w = err.retry_after().unwrap_or_else(|| {
                            backoff::full_jitter(
                                self.cfg.http.backoff,
                                self.cfg.http.max_backoff,
                                round,
                            )
                        });
                        wait = Some(wait.map_or(w, |x| x.max(w)));
                        again.push(i);
                    } else {
                        results[i] = Some(Err(err));
                    }
                }
            }
            if let Some(w) = wait.filter(|_| !again.is_empty()) {
                tracing::warn!(
                    items = again.len(),
                    wait_ms = w.as_millis() as u64,
                    "Batch items throttled; retrying them."
                );
                tokio::time::sleep(w.min(self.cfg.http.max_retry_after)).await;
            }
            if round >= self.cfg.http.tries {
                for &i in &again {
                    results[i].get_or_insert_with(|| {
                        Err(TenantError::transient(
                            "the batch never answered this request",
                        ))
                    });
                }
                break;
            }
            pending = again;
        }
        Ok(results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(TenantError::transient(
                        "the batch never answered this request",
                    ))
                })
            })
            .collect())
    }
}
