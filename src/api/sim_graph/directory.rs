//! The directory (docs/microsoft-365-api.md §3.7–3.10, §4.9): the recycle bin of users (list with
//! paging, get, restore, purge) and the read-only company subscriptions.

use super::call::{Call, json, no_content};
use super::errors::ApiError;
use super::odata;
use super::server::{AppState, g};
use crate::tenant::{CompanySubscription, DeletedUser, Tenant};
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            &g("/directory/deletedItems/microsoft.graph.user"),
            get(list_deleted),
        )
        .route(&g("/directory/deletedItems"), get(list_untyped))
        .route(
            &g("/directory/deletedItems/{id}"),
            get(get_deleted).delete(purge),
        )
        .route(&g("/directory/deletedItems/{id}/restore"), post(restore))
        .route(&g("/directory/subscriptions"), get(subscriptions))
}

fn deleted_json(d: &DeletedUser) -> Map<String, Value> {
    let v = json!({
        "@odata.type": "#microsoft.graph.user",
        "id": d.id,
        "displayName": d.display_name,
        "userPrincipalName": d.user_principal_name,
        "deletedDateTime": d.deleted_date_time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// §3.7: the type cast is required; `$select`, `$filter`, `$count`/`$orderby` (with
/// `ConsistencyLevel: eventual`), `$top` (default 100, max 999).
async fn list_deleted(c: Call) -> Result<Response, ApiError> {
    odata::check_advanced(&c)?;
    let users =
        c.st.tenant
            .list_deleted_users()
            .await
            .map_err(|e| c.err(e))?;
    let sel = odata::select(&c);
    let items: Vec<Value> = users
        .iter()
        .map(|d| {
            let mut m = deleted_json(d);
            m.remove("@odata.type");
            odata::project(m, sel.as_deref(), None)
        })
        .collect();
    let items = odata::order(&c, odata::filter(&c, items)?);
    let context = c.context(&odata::with_select(&c, "users"));
    odata::collection(&c, &context, items, 100, 999)
}

/// §3.7: `GET /directory/deletedItems` without the cast is not supported.
async fn list_untyped(c: Call) -> Result<Response, ApiError> {
    Err(c.bad_request(
        "Type cast is required: use /directory/deletedItems/microsoft.graph.user (or another type).",
    ))
}

/// §3.8
async fn get_deleted(c: Call, Path(id): Path<String>) -> Result<Response, ApiError> {
    let user = c.user_id(&id);
    let d =
        c.st.tenant
            .get_deleted_user(&user)
            .await
            .map_err(|e| c.err(e))?;
    let mut m = deleted_json(&d);
    m.insert(
        "@odata.context".into(),
        Value::String(c.context("directoryObjects/$entity")),
    );
    let sel = odata::select(&c);
    Ok(json(
        StatusCode::OK,
        odata::project(m, sel.as_deref(), None),
    ))
}

/// §3.9: 200 with the restored user as a directory object. The optional body
/// (`autoReconcileProxyConflict`, `newUserPrincipalName`) is ignored.
async fn restore(c: Call, Path(id): Path<String>) -> Result<Response, ApiError> {
    let user = c.user_id(&id);
    let u =
        c.st.tenant
            .restore_deleted_user(&user)
            .await
            .map_err(|e| c.err(e))?;
    Ok(json(
        StatusCode::OK,
        json!({
            "@odata.context": c.context("directoryObjects/$entity"),
            "@odata.type": "#microsoft.graph.user",
            "id": u.id,
            "displayName": u.display_name,
            "userPrincipalName": u.user_principal_name,
        }),
    ))
}

/// §3.10: 204.
async fn purge(c: Call, Path(id): Path<String>) -> Result<Response, ApiError> {
    let user = c.user_id(&id);
    c.st.tenant
        .purge_deleted_user(&user)
        .await
        .map_err(|e| c.err(e))?;
    Ok(no_content())
}

fn subscription_json(c: &Call, s: &CompanySubscription) -> Value {
    let plans: Vec<Value> =
        c.st.tenant
            .sku(s.sku_id.as_str())
            .map(|k| {
                k.service_plans
                    .iter()
                    .map(|p| {
                        json!({
                            "servicePlanId": p.service_plan_id,
                            "servicePlanName": p.service_plan_name,
                            "provisioningStatus": "Success",
                            "appliesTo": "User",
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
    let at = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    };
    json!({
        "id": s.id,
        "commerceSubscriptionId": s.commerce_subscription_id,
        "createdDateTime": at(s.created_date_time),
        "isTrial": s.is_trial,
        "nextLifecycleDateTime": at(s.next_lifecycle_date_time),
        "ownerId": c.st.opts.tenant_id,
        "ownerTenantId": c.st.opts.tenant_id,
        "ownerType": "Company",
        "serviceStatus": plans,
        "skuId": s.sku_id,
        "skuPartNumber": s.sku_part_number,
        "status": s.status,
        "totalLicenses": s.total_licenses,
    })
}

/// §4.9: `$filter` allowed; `$top`/`$skip`/`$count` are not supported (one page).
async fn subscriptions(c: Call) -> Result<Response, ApiError> {
    odata::refuse(&c, &["$top", "$skip", "$count", "$search", "$orderby"])?;
    let subs =
        c.st.tenant
            .list_subscriptions()
            .await
            .map_err(|e| c.err(e))?;
    let items: Vec<Value> = subs.iter().map(|s| subscription_json(&c, s)).collect();
    let items = odata::filter(&c, items)?;
    Ok(json(
        StatusCode::OK,
        json!({ "@odata.context": c.context("directory/subscriptions"), "value": items }),
    ))
}
