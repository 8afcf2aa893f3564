//! Error responses in each service's documented shape: Graph (§2.2, §8.1), Exchange
//! InvokeCommand (§5.4) and Partner Center (§9.2), built from the simulated tenant's
//! [`TenantError`]s (whose codes and messages are already the documented ones).

use crate::tenant::{ErrorKind, TenantError};
use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::time::Duration;

/// Which service answers: the error body shapes differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Graph,
    Exchange,
    Partner,
}

/// The `request-id` of the request being answered (a request extension).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// An error response: status, body and extra headers.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: Value,
    pub headers: Vec<(&'static str, String)>,
}

impl ApiError {
    /// §2.2: `{"error": {"code", "message", "innerError": {"date", "request-id", ...}}}`.
    pub fn graph(status: StatusCode, code: &str, message: &str, rid: &str) -> Self {
        ApiError {
            status,
            body: json!({ "error": {
                "code": code,
                "message": message,
                "innerError": inner_error(rid),
            }}),
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// A tenant error as `service` returns it.
    pub fn tenant(service: Service, e: TenantError, rid: &str) -> Self {
        match service {
            Service::Graph => graph_error(e, rid),
            Service::Exchange => exchange_error(e, rid),
            Service::Partner => partner_error(e),
        }
    }

    /// 400 with a Graph `Request_BadRequest` body.
    pub fn bad_request(message: &str, rid: &str) -> Self {
        Self::graph(StatusCode::BAD_REQUEST, "Request_BadRequest", message, rid)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(self.body)).into_response();
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().insert(HeaderName::from_static(name), v);
            }
        }
        resp
    }
}

pub fn inner_error(rid: &str) -> Value {
    json!({
        "date": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
        "request-id": rid,
        "client-request-id": rid,
    })
}

/// `Retry-After` in seconds: an integer when whole, else a decimal (`2.128`), as §8.1 allows.
pub fn retry_after_value(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        (ms / 1000).to_string()
    } else {
        let s = format!("{}.{:03}", ms / 1000, ms % 1000);
        s.trim_end_matches('0').to_string()
    }
}

/// The HTTP status of a tenant error.
pub fn status_of(e: &TenantError) -> StatusCode {
    match &e.kind {
        ErrorKind::NotFound
        | ErrorKind::NotMember
        | ErrorKind::MailboxNotEnabled
        | ErrorKind::DriveNotFound => StatusCode::NOT_FOUND,
        ErrorKind::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Transient { .. } if e.code == "GatewayTimeout" => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::Transient { .. } => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        // §6.2: a delta token that cannot be honoured is 410 Gone.
        ErrorKind::BadRequest if e.code == "resyncRequired" => StatusCode::GONE,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn with_retry_after(mut err: ApiError, e: &TenantError) -> ApiError {
    if let Some(d) = e.retry_after() {
        err = err.with_header("retry-after", retry_after_value(d));
    }
    err
}

fn graph_error(e: TenantError, rid: &str) -> ApiError {
    let status = status_of(&e);
    if matches!(e.kind, ErrorKind::Throttled { .. }) {
        return throttled(Service::Graph, e.retry_after(), rid);
    }
    with_retry_after(ApiError::graph(status, &e.code, &e.message, rid), &e)
}

/// §5.4: `error.details[0].message` is `ErrorId|ExceptionType|text`.
fn exchange_error(e: TenantError, rid: &str) -> ApiError {
    let status = status_of(&e);
    if matches!(e.kind, ErrorKind::Throttled { .. }) {
        return throttled(Service::Exchange, e.retry_after(), rid);
    }
    if matches!(e.kind, ErrorKind::Transient { .. }) {
        return transient(
            Service::Exchange,
            status == StatusCode::GATEWAY_TIMEOUT,
            e.retry_after(),
            rid,
        );
    }
    let detail = if e.message.contains('|') {
        e.message.clone()
    } else {
        format!(
            "ExSIM000|Microsoft.Exchange.Configuration.Tasks.{}|{}",
            e.code, e.message
        )
    };
    exchange_body(status, &detail).with_header_opt(e.retry_after())
}

/// An InvokeCommand error with one `details` entry.
pub fn exchange_body(status: StatusCode, detail: &str) -> ApiError {
    ApiError {
        status,
        body: json!({ "error": {
            "code": if status.is_server_error() { "InternalServerError" } else { "BadRequest" },
            "message": "Error executing cmdlet",
            "details": [{ "code": "Client", "target": "", "message": detail }],
            "innererror": {
                "message": "Error executing cmdlet",
                "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
            },
        }}),
        headers: Vec::new(),
    }
}

impl ApiError {
    fn with_header_opt(self, retry_after: Option<Duration>) -> Self {
        match retry_after {
            Some(d) => self.with_header("retry-after", retry_after_value(d)),
            None => self,
        }
    }
}

/// §9.2: `{"code": <number>, "description", "data": [], "source": "PartnerFD"}`.
fn partner_error(e: TenantError) -> ApiError {
    let status = status_of(&e);
    let code: Value = e
        .code
        .parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(u64::from(status.as_u16())));
    partner_body(status, code, &e.message).with_header_opt(e.retry_after())
}

pub fn partner_body(status: StatusCode, code: Value, description: &str) -> ApiError {
    ApiError {
        status,
        body: json!({ "code": code, "description": description, "data": [], "source": "PartnerFD" }),
        headers: Vec::new(),
    }
}

/// 429 in the service's shape (§8.1 for Graph), with `Retry-After` when given.
pub fn throttled(service: Service, retry_after: Option<Duration>, rid: &str) -> ApiError {
    let err = match service {
        Service::Graph | Service::Exchange => ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            body: json!({ "error": {
                "code": "TooManyRequests",
                "message": "Please retry again later.",
                "innerError": {
                    "code": "429",
                    "date": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
                    "message": "Please retry after",
                    "request-id": rid,
                    "status": "429",
                },
            }}),
            headers: Vec::new(),
        },
        Service::Partner => partner_body(
            StatusCode::TOO_MANY_REQUESTS,
            Value::from(429),
            "Too many requests. Please retry after some time.",
        ),
    };
    err.with_header_opt(retry_after)
}

/// 503 / 504 in the service's shape.
pub fn transient(
    service: Service,
    gateway: bool,
    retry_after: Option<Duration>,
    rid: &str,
) -> ApiError {
    let (status, code, message) = if gateway {
        (
            StatusCode::GATEWAY_TIMEOUT,
            "GatewayTimeout",
            "The operation timed out before a response was received; it may have been applied.",
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "serviceNotAvailable",
            "The service is temporarily unavailable. Please retry later.",
        )
    };
    let err = match service {
        Service::Graph => ApiError::graph(status, code, message, rid),
        // The front door answers, not a cmdlet: no `details`, so the status decides.
        Service::Exchange => ApiError::graph(status, code, message, rid),
        Service::Partner => partner_body(status, Value::from(status.as_u16()), message),
    };
    err.with_header_opt(retry_after)
}

/// 401 `InvalidAuthenticationToken` (every service, as the shared conventions say).
pub fn unauthorized(message: &str, rid: &str) -> ApiError {
    ApiError::graph(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
        message,
        rid,
    )
    .with_header(
        "www-authenticate",
        "Bearer realm=\"\", error=\"invalid_token\"",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_whole_or_decimal_seconds() {
        assert_eq!(retry_after_value(Duration::from_secs(3)), "3");
        assert_eq!(retry_after_value(Duration::from_millis(2128)), "2.128");
        assert_eq!(retry_after_value(Duration::from_millis(250)), "0.25");
        assert_eq!(retry_after_value(Duration::ZERO), "0");
    }

    #[test]
    fn tenant_errors_map_to_documented_statuses() {
        let nf = TenantError::not_found("x");
        assert_eq!(status_of(&nf), StatusCode::NOT_FOUND);
        let resync = TenantError::new(ErrorKind::BadRequest, "resyncRequired", "m");
        assert_eq!(status_of(&resync), StatusCode::GONE);
        let e = ApiError::tenant(
            Service::Partner,
            TenantError::new(ErrorKind::NotFound, "800002", "gone"),
            "r",
        );
        assert_eq!(e.body["code"], json!(800002));
        assert_eq!(e.body["source"], json!("PartnerFD"));
    }
}
