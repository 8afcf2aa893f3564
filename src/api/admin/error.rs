//! [`AdminError`]: every refusal as JSON `{"error": code, "message": text}` with its status,
//! plus the 404 and 405 fallbacks. The message says what is wrong and what to do.

use crate::engine::EngineError;
use axum::Json;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tracing::{debug, warn};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminError {
    pub status: StatusCode,
    /// Stable, machine-readable (README "Admin HTTP API" lists them).
    pub code: &'static str,
    pub message: String,
}

impl AdminError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AdminError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

/// Unknown run → 404 `not-found`; a run in the wrong state → 409 `conflict`; an unknown step
/// → 400 `unknown-step`; other client errors (a refused event) → 422 `rejected`; store
/// errors → 503 `unavailable`; the rest → 500.
impl From<EngineError> for AdminError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::UnknownRun(id) => Self::new(
                StatusCode::NOT_FOUND,
                "not-found",
                format!("run {id} does not exist; GET /api/v1/runs lists the runs"),
            ),
            EngineError::Conflict { .. } => {
                Self::new(StatusCode::CONFLICT, "conflict", e.to_string())
            }
            EngineError::UnknownStep { .. } => Self::bad_request("unknown-step", e.to_string()),
            EngineError::Store(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                format!("{e}; nothing was changed, retry later"),
            ),
            other if other.is_client_error() => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "rejected",
                other.to_string(),
            ),
            other => Self::internal(other.to_string()),
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            warn!(status = self.status.as_u16(), code = self.code, message = %self.message, "Admin request failed.");
        } else {
            debug!(
                status = self.status.as_u16(),
                code = self.code,
                "Admin request refused."
            );
        }
        let unauthorized = self.status == StatusCode::UNAUTHORIZED;
        let body = json!({ "error": self.code, "message": self.message });
        let mut resp = (self.status, Json(body)).into_response();
        if unauthorized {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

/// Fallback for paths no route serves.
pub async fn not_found(method: Method, uri: Uri) -> AdminError {
    AdminError::new(
        StatusCode::NOT_FOUND,
        "not-found",
        format!(
            "no route for {method} {}; the API serves /healthz, /readyz, /metrics, /api/v1/events, /api/v1/runs[/{{id}}[/restart|/cancel|/approve]], /api/v1/workflows, /api/v1/plan, /api/v1/users, /api/v1/licenses and /api/v1/quarantine[/approve|/cancel] (README: Admin HTTP API)",
            uri.path()
        ),
    )
}

/// Fallback for a known path with a method it does not serve (axum adds `Allow`).
pub async fn method_not_allowed(method: Method, uri: Uri) -> AdminError {
    AdminError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        format!(
            "{} does not accept {method}; the `Allow` header lists the methods it does",
            uri.path()
        ),
    )
}
