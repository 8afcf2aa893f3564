//! JSON batching, `POST /v1.0/$batch` (docs/microsoft-365-api.md §7): at most 20 requests, each run
//! through the same Graph stack as a direct call (token check, faults, write quota — so a throttled
//! item is its own `429` with `Retry-After`), in order with `dependsOn` honoured (a failed
//! dependency gives `424`). The batch answers 200 whatever its items did, 400 when the batch
//! itself is malformed. The batch costs one latency, not one per item.

use super::call::{Call, json};
use super::errors::ApiError;
use super::faults::InnerBatch;
use axum::body::{Body, Bytes, to_bytes};
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::time::Duration;
use tower::ServiceExt;

/// The documented maximum.
pub const MAX_REQUESTS: usize = 20;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchBody {
    requests: Vec<Item>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    id: String,
    method: String,
    url: String,
    #[serde(default)]
    headers: Map<String, Value>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    depends_on: Vec<String>,
}

fn malformed(c: &Call, message: &str) -> ApiError {
    ApiError::graph(StatusCode::BAD_REQUEST, "BadRequest", message, &c.rid)
}

fn validate(c: &Call, items: &[Item]) -> Result<(), ApiError> {
    if items.is_empty() {
        return Err(malformed(
            c,
            "Batch request must contain at least one request.",
        ));
    }
    if items.len() > MAX_REQUESTS {
        return Err(malformed(
            c,
            &format!(
                "Number of batch requests ({}) exceeds the maximum of {MAX_REQUESTS}.",
                items.len()
            ),
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    for it in items {
        if it.id.is_empty() || seen.contains(&it.id.as_str()) {
            return Err(malformed(
                c,
                &format!("Batch request id '{}' is empty or not unique.", it.id),
            ));
        }
        seen.push(&it.id);
        if Method::from_bytes(it.method.to_ascii_uppercase().as_bytes()).is_err() {
            return Err(malformed(
                c,
                &format!("Invalid method '{}' in request '{}'.", it.method, it.id),
            ));
        }
        if it.url.contains("://") {
            return Err(malformed(
                c,
                &format!("Request '{}' must use a relative URL.", it.id),
            ));
        }
        let has_type = it
            .headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("content-type"));
        if it.body.is_some() && !has_type {
            return Err(malformed(
                c,
                &format!(
                    "Write request id : {} does not contain Content-Type header or body.",
                    it.id
                ),
            ));
        }
        if let Some(d) = it
            .depends_on
            .iter()
            .find(|d| !items.iter().any(|i| &i.id == *d))
        {
            return Err(malformed(
                c,
                &format!("Request '{}' depends on unknown request '{d}'.", it.id),
            ));
        }
    }
    Ok(())
}

pub async fn batch(c: Call, body: Bytes) -> Result<Response, ApiError> {
    let parsed: BatchBody = serde_json::from_slice(&body)
        .map_err(|e| malformed(&c, &format!("Invalid batch payload format: {e}")))?;
    validate(&c, &parsed.requests)?;
    let latency = Duration::from_millis(c.st.opts.faults.latency_ms);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut status: HashMap<String, u16> = HashMap::new();
    let mut responses = Vec::new();
    let mut pending: Vec<&Item> = parsed.requests.iter().collect();
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .position(|it| it.depends_on.iter().all(|d| status.contains_key(d)));
        let Some(i) = ready else {
            return Err(malformed(
                &c,
                "The dependsOn of the batch requests form a cycle.",
            ));
        };
        let it = pending.remove(i);
        let failed = it
            .depends_on
            .iter()
            .any(|d| status.get(d).is_none_or(|s| *s >= 400));
        let resp = if failed {
            json!({
                "id": it.id,
                "status": 424,
                "headers": { "Content-Type": "application/json" },
                "body": { "error": { "code": "FailedDependency", "message": "Failed dependency." } },
            })
        } else {
            run(&c, it).await
        };
        status.insert(it.id.clone(), resp["status"].as_u64().unwrap_or(500) as u16);
        responses.push(resp);
    }
    Ok(json(StatusCode::OK, json!({ "responses": responses })))
}

/// One item through the Graph router, as JSON `{id, status, headers, body}`.
async fn run(c: &Call, it: &Item) -> Value {
    let url = it.url.trim_start_matches('/');
    let error = |status: u16, code: &str, message: &str| {
        json!({
            "id": it.id, "status": status, "headers": { "Content-Type": "application/json" },
            "body": { "error": { "code": code, "message": message } },
        })
    };
    if url.starts_with("$batch") {
        return error(400, "BadRequest", "Batches cannot be nested.");
    }
    let Some(router) = c.st.graph.get() else {
        return error(500, "InternalServerError", "The Graph router is not ready.");
    };
    let method =
        Method::from_bytes(it.method.to_ascii_uppercase().as_bytes()).unwrap_or(Method::GET);
    // Clients often leave spaces of `$filter` values unencoded in item URLs.
    let url = url.replace(' ', "%20");
    let mut builder = Request::builder()
        .method(method)
        .uri(format!("/graph/v1.0/{url}"));
    for name in ["authorization", "host", "client-request-id"] {
        if let Some(v) = c.headers.get(name) {
            builder = builder.header(name, v);
        }
    }
    for (k, v) in &it.headers {
        if let (Ok(name), Some(Ok(value))) = (
            HeaderName::from_bytes(k.as_bytes()),
            v.as_str().map(HeaderValue::from_str),
        ) {
            builder = builder.header(name, value);
        }
    }
    let body = match &it.body {
        None => Body::empty(),
        Some(v) => Body::from(serde_json::to_vec(v).unwrap_or_default()),
    };
    let Ok(mut req) = builder.body(body) else {
        return error(
            400,
            "BadRequest",
            "The request could not be built from the batch item.",
        );
    };
    req.extensions_mut().insert(InnerBatch);
    let Ok(resp) = router.clone().oneshot(req).await;
    let status = resp.status().as_u16();
    let mut headers = Map::new();
    for (name, value) in resp.headers() {
        let keep = [
            "content-type",
            "retry-after",
            "location",
            "x-ms-throttle-scope",
            "x-ms-throttle-information",
        ];
        if keep.contains(&name.as_str())
            && let Ok(v) = value.to_str()
        {
            let key = match name.as_str() {
                "content-type" => "Content-Type",
                "retry-after" => "Retry-After",
                "location" => "Location",
                other => other,
            };
            headers.insert(key.to_string(), json!(v));
        }
    }
    let bytes = to_bytes(resp.into_body(), 64 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(STANDARD.encode(&bytes)))
    };
    json!({ "id": it.id, "status": status, "headers": headers, "body": body })
}
