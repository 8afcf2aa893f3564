//! Groups (docs/microsoft-365-api.md §4.7–4.8): get a group, add a member (`POST members/$ref`,
//! 204), remove a member (`DELETE members/{id}/$ref`, 204).

use super::call::{Call, json, no_content, parse_body};
use super::errors::ApiError;
use super::licenses::parse_assign;
use super::odata;
use super::server::{AppState, g};
use super::users::{DEFAULT_GROUP, group_json};
use crate::ids::GroupId;
use crate::tenant::Tenant;
use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post};
use serde_json::Value;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(&g("/groups/{id}"), get(get_group))
        .route(&g("/groups/{id}/members/$ref"), post(add_member))
        .route(&g("/groups/{id}/assignLicense"), post(assign_license))
        .route(
            &g("/groups/{id}/members/{user}/$ref"),
            delete(remove_member),
        )
}

const GROUP_PROPERTIES: &[&str] = &[
    "id",
    "displayName",
    "groupTypes",
    "mailEnabled",
    "securityEnabled",
    "onPremisesSyncEnabled",
    "membershipRule",
    "assignedLicenses",
];

fn group_id(id: &str) -> GroupId {
    GroupId::new(id.trim().to_ascii_lowercase())
}

/// `GET /groups/{id}`: `assignedLicenses` only on `$select`.
async fn get_group(c: Call, Path(id): Path<String>) -> Result<Response, ApiError> {
    odata::check_select(&c, GROUP_PROPERTIES, "group")?;
    let gr =
        c.st.tenant
            .get_group(&group_id(&id))
            .await
            .map_err(|e| c.err(e))?;
    let mut m = group_json(&gr);
    m.remove("@odata.type");
    let set = odata::with_select(&c, "groups");
    m.insert(
        "@odata.context".into(),
        Value::String(c.context(&format!("{set}/$entity"))),
    );
    let sel = odata::select(&c);
    Ok(json(
        StatusCode::OK,
        odata::project(m, sel.as_deref(), Some(DEFAULT_GROUP)),
    ))
}

/// §4.7: body `{"@odata.id": ".../directoryObjects/{id}"}`.
async fn add_member(c: Call, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let body: serde_json::Map<String, Value> = parse_body(&c, &body)?;
    let reference = body
        .get("@odata.id")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            c.bad_request("The request body must contain '@odata.id' with the member's URL.")
        })?;
    let member = reference
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let user = c.user_id(member);
    c.st.tenant
        .add_group_member(&group_id(&id), &user)
        .await
        .map_err(|e| c.err(e))?;
    Ok(no_content())
}

async fn remove_member(
    c: Call,
    Path((id, member)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let user = c.user_id(&member);
    c.st.tenant
        .remove_group_member(&group_id(&id), &user)
        .await
        .map_err(|e| c.err(e))?;
    Ok(no_content())
}

/// §4.6: 202 Accepted with the group and a `Location`; members follow asynchronously.
async fn assign_license(
    c: Call,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (add, remove) = parse_assign(&c, &body)?;
    let gr =
        c.st.tenant
            .assign_group_license(&group_id(&id), &add, &remove)
            .await
            .map_err(|e| c.err(e))?;
    let location = format!(
        "{}/graph/v2/{}/directoryObjects/{}/Microsoft.DirectoryServices.Group",
        c.base, c.st.opts.tenant_id, gr.id
    );
    let body = serde_json::json!({
        "id": gr.id,
        "displayName": gr.display_name,
        "securityEnabled": gr.security_enabled,
    });
    let mut resp = json(StatusCode::ACCEPTED, body);
    if let Ok(v) = location.parse() {
        resp.headers_mut().insert("location", v);
    }
    Ok(resp)
}
