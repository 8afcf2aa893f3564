//! Users (docs/microsoft-365-api.md §3.1–3.6): get with `$select` (only the documented default set
//! without it), PATCH `accountEnabled` / `usageLocation` (204), revokeSignInSessions (200 with the
//! boolean), manager, memberOf (paged), soft delete (204). The collection and `$count` are
//! in `user_list.rs`.

use super::call::{Call, json, no_content, parse_body};
use super::errors::ApiError;
use super::odata;
use super::server::{AppState, g};
use crate::tenant::{DirectoryObject, Group, Tenant, User};
use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            &g("/users/{id}"),
            get(get_user).patch(patch_user).delete(delete_user),
        )
        .route(&g("/users/{id}/revokeSignInSessions"), post(revoke))
        .route(&g("/users/{id}/manager"), get(manager))
        .route(&g("/users/{id}/memberOf"), get(member_of))
        .merge(super::user_list::routes())
}

/// §3.1: what `GET /users/{id}` returns without `$select`.
pub const DEFAULT_USER: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
];

/// Every property this server can return for a user (`$select` of others is 400).
pub const USER_PROPERTIES: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "accountEnabled",
    "usageLocation",
    "assignedLicenses",
    "licenseAssignmentStates",
    "onPremisesSyncEnabled",
    "proxyAddresses",
    "signInSessionsValidFromDateTime",
    "deletedDateTime",
    "userType",
    "createdDateTime",
    "department",
    "companyName",
    "city",
    "country",
];

/// Every property of a user, in Graph's names.
pub fn user_json(u: &User) -> Map<String, Value> {
    let states: Vec<Value> = u
        .license_assignment_states
        .iter()
        .map(|s| {
            json!({
                "assignedByGroup": s.assigned_by_group,
                "disabledPlans": s.disabled_plans,
                "error": s.error.clone().unwrap_or_else(|| "None".into()),
                "lastUpdatedDateTime": null,
                "skuId": s.sku_id,
                "state": s.state,
            })
        })
        .collect();
    let proxy: Vec<String> = u.mail.iter().map(|m| format!("SMTP:{m}")).collect();
    let v = json!({
        "id": u.id,
        "businessPhones": [],
        "displayName": u.display_name,
        "givenName": null,
        "jobTitle": u.job_title,
        "mail": u.mail,
        "mobilePhone": null,
        "officeLocation": u.office_location,
        "preferredLanguage": null,
        "surname": null,
        "userPrincipalName": u.user_principal_name,
        "accountEnabled": u.account_enabled,
        "usageLocation": u.usage_location,
        "assignedLicenses": u.assigned_licenses.iter().map(|l| json!({
            "disabledPlans": l.disabled_plans, "skuId": l.sku_id,
        })).collect::<Vec<_>>(),
        "licenseAssignmentStates": states,
        "onPremisesSyncEnabled": u.on_premises_sync_enabled,
        "proxyAddresses": proxy,
        "signInSessionsValidFromDateTime": u.sign_in_sessions_valid_from.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        "deletedDateTime": null,
        "userType": "Member",
        "createdDateTime": null,
        "department": u.department,
        "companyName": u.company_name,
        "city": u.city,
        "country": u.country,
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A user as an entity response: `@odata.context` + the selected (or default) properties.
pub fn user_entity(c: &Call, u: &User, extra_default: &[&str]) -> Value {
    let mut m = user_json(u);
    let sel = odata::select(c);
    let set = odata::with_select(c, "users");
    m.insert(
        "@odata.context".into(),
        Value::String(c.context(&format!("{set}/$entity"))),
    );
    let mut default: Vec<&str> = DEFAULT_USER.to_vec();
    default.extend_from_slice(extra_default);
    odata::project(m, sel.as_deref(), Some(&default))
}

async fn get_user(c: Call, Path(id): Path<String>) -> Result<Response, ApiError> {
    odata::check_select(&c, USER_PROPERTIES, "user")?;
    let u = c.st.tenant.get_user(&id).await.map_err(|e| c.err(e))?;
    Ok(json(StatusCode::OK, user_entity(&c, &u, &[])))
}

async fn patch_user(c: Call, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let body: Map<String, Value> = parse_body(&c, &body)?;
    let user = c.user_id(&id);
    for key in body.keys() {
        if key != "accountEnabled" && key != "usageLocation" {
            return Err(c.bad_request(&format!(
                "Property '{key}' cannot be updated by the simulated tenant; it supports accountEnabled and usageLocation."
            )));
        }
    }
    if let Some(v) = body.get("accountEnabled") {
        let enabled = v.as_bool().ok_or_else(|| {
            c.bad_request(
                "Invalid value specified for property 'accountEnabled' of resource 'User'.",
            )
        })?;
        c.st.tenant
            .set_account_enabled(&user, enabled)
            .await
            .map_err(|e| c.err(e))?;
    }
    if let Some(v) = body.get("usageLocation") {
        let code = v.as_str().unwrap_or_default();
        c.st.tenant
            .set_usage_location(&user, code)
            .await
            .map_err(|e| c.err(e))?;
    }
    Ok(no_content())
}

async fn delete_user(c: Call, Path(id): Path<String>) -> Result<Response, ApiError> {
    let user = c.user_id(&id);
    c.st.tenant.delete_user(&user).await.map_err(|e| c.err(e))?;
    Ok(no_content())
}

/// §3.3: documented 204, observed 200 `{"value": true}`; this server answers what is observed.
async fn revoke(c: Call, Path(id): Path<String>) -> Result<Response, ApiError> {
    let user = c.user_id(&id);
    c.st.tenant
        .revoke_sign_in_sessions(&user)
        .await
        .map_err(|e| c.err(e))?;
    Ok(json(
        StatusCode::OK,
        json!({ "@odata.context": c.context("Edm.Boolean"), "value": true }),
    ))
}

async fn manager(c: Call, Path(id): Path<String>) -> Result<Response, ApiError> {
    let user = c.user_id(&id);
    let m = c.st.tenant.get_manager(&user).await.map_err(|e| c.err(e))?;
    let Some(m) = m else {
        return Err(c.err(crate::tenant::TenantError::not_found("manager")));
    };
    let mut obj = user_json(&m);
    obj.insert(
        "@odata.context".into(),
        Value::String(c.context("directoryObjects/$entity")),
    );
    obj.insert(
        "@odata.type".into(),
        Value::String("#microsoft.graph.user".into()),
    );
    let sel = odata::select(&c);
    Ok(json(
        StatusCode::OK,
        odata::project(obj, sel.as_deref(), Some(DEFAULT_USER)),
    ))
}

/// A group as directory lists show it (`assignedLicenses` only on `$select`).
pub fn group_json(gr: &Group) -> Map<String, Value> {
    let v = json!({
        "@odata.type": "#microsoft.graph.group",
        "id": gr.id,
        "displayName": gr.display_name,
        "groupTypes": gr.group_types,
        "mailEnabled": gr.mail_enabled,
        "securityEnabled": gr.security_enabled,
        "onPremisesSyncEnabled": gr.on_premises_sync_enabled,
        "membershipRule": gr.membership_rule,
        "assignedLicenses": gr.assigned_licenses.iter().map(|l| json!({
            "disabledPlans": l.disabled_plans, "skuId": l.sku_id,
        })).collect::<Vec<_>>(),
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

pub const DEFAULT_GROUP: &[&str] = &[
    "id",
    "displayName",
    "groupTypes",
    "mailEnabled",
    "securityEnabled",
    "onPremisesSyncEnabled",
    "membershipRule",
];

async fn member_of(c: Call, Path(id): Path<String>) -> Result<Response, ApiError> {
    odata::check_advanced(&c)?;
    let user = c.user_id(&id);
    let objects = c.st.tenant.member_of(&user).await.map_err(|e| c.err(e))?;
    let sel = odata::select(&c);
    let items: Vec<Value> = objects
        .iter()
        .map(|o| match o {
            DirectoryObject::Group(gr) => {
                odata::project(group_json(gr), sel.as_deref(), Some(DEFAULT_GROUP))
            }
            DirectoryObject::DirectoryRole {
                id,
                display_name,
                role_template_id,
            } => {
                let v = json!({
                    "@odata.type": "#microsoft.graph.directoryRole",
                    "id": id,
                    "displayName": display_name,
                    "roleTemplateId": role_template_id,
                });
                match v {
                    Value::Object(m) => odata::project(m, sel.as_deref(), None),
                    other => other,
                }
            }
        })
        .collect();
    let items = odata::filter(&c, items)?;
    let context = c.context(&odata::with_select(&c, "directoryObjects"));
    odata::collection(&c, &context, items, 100, 999)
}
