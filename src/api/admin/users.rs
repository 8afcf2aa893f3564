//! `GET /api/v1/users?department=Sales&usageLocation=US`: the tenant's active users meeting
//! every condition (the selection a bulk submission turns into one event per user), sorted
//! by UPN. A request without a condition is refused: it must never select everyone.

use super::error::AdminError;
use super::state::AdminState;
use crate::tenant::{QueryError, TenantError, User, UserField, UserQuery};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use serde::Serialize;
use serde_json::{Value, json};

/// One user as the admin API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView<'a> {
    pub id: &'a str,
    pub user_principal_name: &'a str,
    pub display_name: &'a str,
    pub account_enabled: bool,
    pub usage_location: Option<&'a str>,
    pub department: Option<&'a str>,
    pub job_title: Option<&'a str>,
    pub company_name: Option<&'a str>,
    pub office_location: Option<&'a str>,
    pub city: Option<&'a str>,
    pub country: Option<&'a str>,
    pub on_premises_sync_enabled: Option<bool>,
}

impl<'a> UserView<'a> {
    pub fn of(u: &'a User) -> Self {
        UserView {
            id: u.id.as_str(),
            user_principal_name: &u.user_principal_name,
            display_name: &u.display_name,
            account_enabled: u.account_enabled,
            usage_location: u.usage_location.as_deref(),
            department: u.department.as_deref(),
            job_title: u.job_title.as_deref(),
            company_name: u.company_name.as_deref(),
            office_location: u.office_location.as_deref(),
            city: u.city.as_deref(),
            country: u.country.as_deref(),
            on_premises_sync_enabled: u.on_premises_sync_enabled,
        }
    }
}

pub async fn list(State(st): State<AdminState>, uri: Uri) -> Result<Json<Value>, AdminError> {
    let pairs = Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map_err(|e| {
            AdminError::bad_request(
                "bad-query",
                format!("the query string cannot be decoded ({e}); percent-encode its values"),
            )
        })?
        .0;
    let query = UserQuery::from_pairs(pairs).map_err(|e| match e {
        QueryError::Empty => AdminError::bad_request(
            "missing-filter",
            format!(
                "give at least one condition, e.g. ?department=Sales&usageLocation=US; supported keys: {}",
                UserField::supported()
            ),
        ),
        other => AdminError::bad_request("bad-filter", other.to_string()),
    })?;
    let mut users = st
        .engine
        .tenant()
        .list_users(&query)
        .await
        .map_err(|e| tenant_error(&e, &format!("listing the users with {query}")))?;
    users.sort_by(|a, b| a.user_principal_name.cmp(&b.user_principal_name));
    let views: Vec<UserView> = users.iter().map(UserView::of).collect();
    Ok(Json(json!({ "users": views })))
}

/// 502 `tenant-error`: the tenant refused or failed a read; the message is the service's
/// (with its request-id) and what to check.
pub fn tenant_error(e: &TenantError, doing: &str) -> AdminError {
    AdminError::new(
        StatusCode::BAD_GATEWAY,
        "tenant-error",
        format!(
            "{doing} failed at the tenant: {e}; {}",
            if e.is_retryable() {
                "retry later"
            } else {
                "check the app registration's permissions and the tenant settings"
            }
        ),
    )
}
