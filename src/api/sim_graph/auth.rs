//! Per-request stamping and bearer-token checks. Every Graph and Exchange response carries
//! `request-id` (and echoes `client-request-id`); Partner Center responses carry
//! `MS-RequestId`, `MS-CorrelationId` and `MS-Contract-Version`. A missing, unknown or
//! expired token, or one issued for another service or tenant, is 401
//! `InvalidAuthenticationToken`.

use super::errors::{RequestId, unauthorized};
use super::server::AppState;
use super::token::{Audience, TokenProblem};
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The application a request was authenticated as (a request extension).
#[derive(Debug, Clone)]
pub struct App(pub String);

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Gives the request its id and stamps the service's tracing headers on the response.
pub async fn stamp(mut req: Request, next: Next) -> Response {
    let partner = req.uri().path().starts_with("/partner/");
    let rid = uuid::Uuid::now_v7().to_string();
    let (rid, client_rid, correlation) = if partner {
        (
            header(&req, "ms-requestid").unwrap_or(rid),
            None,
            header(&req, "ms-correlationid").unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
        )
    } else {
        let client = header(&req, "client-request-id");
        (rid, client, String::new())
    };
    req.extensions_mut().insert(RequestId(rid.clone()));
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    if partner {
        set("ms-requestid", &rid);
        set("ms-correlationid", &correlation);
        set("ms-contract-version", "v1");
    } else {
        set("request-id", &rid);
        set("client-request-id", client_rid.as_deref().unwrap_or(&rid));
    }
    resp
}

pub async fn graph(State(st): State<AppState>, req: Request, next: Next) -> Response {
    check(st, req, next, Audience::Graph).await
}

pub async fn exchange(State(st): State<AppState>, req: Request, next: Next) -> Response {
    check(st, req, next, Audience::Exchange).await
}

pub async fn partner(State(st): State<AppState>, req: Request, next: Next) -> Response {
    check(st, req, next, Audience::Partner).await
}

async fn check(st: AppState, mut req: Request, next: Next, audience: Audience) -> Response {
    let rid = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let bearer = header(&req, "authorization").and_then(|v| {
        let t = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))?;
        Some(t.trim().to_string()).filter(|t| !t.is_empty())
    });
    let Some(token) = bearer else {
        return unauthorized("Access token is empty.", &rid).into_response();
    };
    let issued = match st.tokens.check(&token) {
        Ok(i) => i,
        Err(TokenProblem::Expired) => {
            return unauthorized("Lifetime validation failed, the token is expired.", &rid)
                .into_response();
        }
        Err(TokenProblem::Unknown) => {
            return unauthorized("Access token validation failure.", &rid).into_response();
        }
    };
    if issued.audience != audience {
        return unauthorized("Access token validation failure. Invalid audience.", &rid)
            .into_response();
    }
    let tenant_ok = match (audience, &st.opts.partner_tenant_id) {
        (Audience::Partner, Some(p)) => issued.tenant.eq_ignore_ascii_case(p),
        _ => st.opts.is_tenant(&issued.tenant),
    };
    if !tenant_ok {
        return unauthorized("Access token validation failure. Invalid tenant.", &rid)
            .into_response();
    }
    req.extensions_mut().insert(App(issued.client_id));
    next.run(req).await
}
