//! [`Call`]: what every handler needs about the request it answers — the shared state, the
//! `request-id`, the external base URL (from `Host`, for absolute links), the path and the
//! decoded query — plus the small helpers that turn results into Graph responses.

use super::errors::{ApiError, RequestId, Service};
use super::server::AppState;
use crate::ids::UserId;
use crate::tenant::TenantError;
use axum::Json;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::convert::Infallible;

pub struct Call {
    pub st: AppState,
    pub rid: String,
    /// `http://{Host}`: where this server is reached.
    pub base: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
}

impl FromRequestParts<AppState> for Call {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Infallible> {
        let rid = parts
            .extensions
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        let query = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|q| q.0)
            .unwrap_or_default();
        Ok(Call {
            st: st.clone(),
            rid,
            base: base_url(&parts.headers),
            path: parts.uri.path().to_string(),
            query,
            headers: parts.headers.clone(),
        })
    }
}

/// `http://{Host}` (127.0.0.1 when the client sent no Host).
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

impl Call {
    /// A query option by name; `$top` also matches `top` (OData allows the bare form).
    pub fn q(&self, name: &str) -> Option<&str> {
        let bare = name.trim_start_matches('$');
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name) || k.eq_ignore_ascii_case(bare))
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `ConsistencyLevel: eventual` was sent (§2.4).
    pub fn eventual(&self) -> bool {
        self.header("consistencylevel")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("eventual"))
    }

    /// A Graph error response for a tenant error.
    pub fn err(&self, e: TenantError) -> ApiError {
        ApiError::tenant(Service::Graph, e, &self.rid)
    }

    pub fn bad_request(&self, message: &str) -> ApiError {
        ApiError::bad_request(message, &self.rid)
    }

    /// `{base}/graph/v1.0/$metadata#{fragment}`.
    pub fn context(&self, fragment: &str) -> String {
        format!("{}/graph/v1.0/$metadata#{fragment}", self.base)
    }

    /// The user a path segment names: a UPN is resolved to the object id of the active user
    /// with it; anything else is passed on as an id (the tenant answers 404 for unknown ones).
    pub fn user_id(&self, seg: &str) -> UserId {
        let seg = seg.trim();
        let seg = seg
            .strip_prefix("('")
            .and_then(|s| s.strip_suffix("')"))
            .unwrap_or(seg);
        if seg.contains('@')
            && let Some(u) = self.st.tenant.user(seg)
        {
            return u.id;
        }
        UserId::new(seg.to_ascii_lowercase())
    }
}

/// A JSON response with `status`.
pub fn json(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// 204 No Content.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Parses a JSON request body; a Graph 400 when it is not JSON of the expected shape.
pub fn parse_body<T: serde::de::DeserializeOwned>(c: &Call, body: &[u8]) -> Result<T, ApiError> {
    let text = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(text).map_err(|e| {
        ApiError::graph(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Invalid request body: {e}"),
            &c.rid,
        )
    })
}
