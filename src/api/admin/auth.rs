//! Bearer-token check for every route except `GET /healthz`. The token is compared in
//! constant time (SHA-256 digests of both sides, xor-folded), so response timing says
//! nothing about how much of a guess was right. Without a token, the loopback and
//! same-origin rules of [`local_only`] apply instead.

use super::error::AdminError;
use super::local_only;
use super::state::AdminState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

pub async fn require_token(State(st): State<AdminState>, req: Request, next: Next) -> Response {
    let liveness = req.uri().path() == "/healthz"
        && (req.method() == Method::GET || req.method() == Method::HEAD);
    if liveness {
        return next.run(req).await;
    }
    let Some(expected) = st.admin_token.as_deref() else {
        return match local_only::check(&req) {
            Ok(()) => next.run(req).await,
            Err(refused) => refused.into_response(),
        };
    };
    match bearer(req.headers()) {
        Some(given) if same_secret(given, expected) => next.run(req).await,
        Some(_) => unauthorized(
            "the bearer token is not the configured admin token; use the value of OFFBOARD_ADMIN_TOKEN",
        ),
        None => unauthorized(
            "this API needs `Authorization: Bearer <token>` with the value of OFFBOARD_ADMIN_TOKEN",
        ),
    }
}

fn unauthorized(message: &str) -> Response {
    AdminError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response()
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Equal secrets, in time independent of where they differ.
fn same_secret(given: &str, expected: &str) -> bool {
    let (a, b) = (Sha256::digest(given), Sha256::digest(expected));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn secrets_compare_by_value() {
        assert!(same_secret("s3cret", "s3cret"));
        assert!(!same_secret("s3cret", "s3cres"));
        assert!(!same_secret("", "s3cret"));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_needs_a_token() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer abc"),
        );
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&h), None);
    }
}
