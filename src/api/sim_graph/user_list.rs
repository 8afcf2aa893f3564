//! The users collection (docs/microsoft-365-api.md §2.3–§2.4): `GET /users` with `$filter` (`eq`
//! clauses joined by `and` on directory attributes), `$select`, `$top` paging and `$count=true`
//! (only with `ConsistencyLevel: eventual`), and `GET /users/$count` as a plain-text number (400
//! without the header). Soft-deleted users are never listed or counted.

use super::call::Call;
use super::errors::ApiError;
use super::odata;
use super::server::{AppState, g};
use super::users::{DEFAULT_USER, USER_PROPERTIES, user_json};
use crate::tenant::Tenant;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

/// Properties `$filter` may test on the collection.
const FILTERABLE: &[&str] = &[
    "department",
    "jobTitle",
    "companyName",
    "officeLocation",
    "city",
    "country",
    "usageLocation",
    "accountEnabled",
    "userPrincipalName",
    "displayName",
    "mail",
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(&g("/users"), get(list_users))
        .route(&g("/users/$count"), get(count_users))
}

async fn list_users(c: Call) -> Result<Response, ApiError> {
    odata::check_select(&c, USER_PROPERTIES, "user")?;
    odata::check_advanced(&c)?;
    odata::check_filter_properties(&c, FILTERABLE, "User")?;
    let users = c.st.tenant.all_users().await.map_err(|e| c.err(e))?;
    // Filter on every property first: the filter may test what `$select` leaves out.
    let all: Vec<Value> = users.iter().map(|u| Value::Object(user_json(u))).collect();
    let sel = odata::select(&c);
    let items: Vec<Value> = odata::filter(&c, all)?
        .into_iter()
        .map(|v| match v {
            Value::Object(m) => odata::project(m, sel.as_deref(), Some(DEFAULT_USER)),
            other => other,
        })
        .collect();
    let context = c.context(&odata::with_select(&c, "users"));
    odata::collection(&c, &context, items, 100, 999)
}

async fn count_users(c: Call) -> Result<Response, ApiError> {
    if !c.eventual() {
        return Err(c.bad_request("$count is not currently supported."));
    }
    let n = c.st.tenant.count_users().await.map_err(|e| c.err(e))?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        n.to_string(),
    )
        .into_response())
}
