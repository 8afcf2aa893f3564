//! Licenses (docs/microsoft-365-api.md §4.1–4.5): subscribedSkus, user assignLicense (200 with the
//! user), reprocessLicenseAssignment, licenseDetails.

use super::call::{Call, json, parse_body};
use super::errors::ApiError;
use super::odata;
use super::server::{AppState, g};
use super::users::user_entity;
use crate::ids::SkuId;
use crate::tenant::{AssignedLicense, Sku, Tenant};
use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(&g("/subscribedSkus"), get(subscribed_skus))
        .route(&g("/users/{id}/assignLicense"), post(assign_license))
        .route(
            &g("/users/{id}/reprocessLicenseAssignment"),
            post(reprocess),
        )
        .route(&g("/users/{id}/licenseDetails"), get(license_details))
}

fn plans(sku: &Sku) -> Vec<Value> {
    sku.service_plans
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
}

pub fn sku_json(c: &Call, k: &Sku) -> Value {
    json!({
        "id": format!("{}_{}", c.st.opts.tenant_id, k.sku_id),
        "accountId": c.st.opts.tenant_id,
        "accountName": c.st.opts.tenant_domain,
        "appliesTo": "User",
        "capabilityStatus": k.capability_status,
        "consumedUnits": k.consumed_units,
        "prepaidUnits": {
            "enabled": k.prepaid_units.enabled,
            "suspended": k.prepaid_units.suspended,
            "warning": k.prepaid_units.warning,
            "lockedOut": k.prepaid_units.locked_out,
        },
        "servicePlans": plans(k),
        "skuId": k.sku_id,
        "skuPartNumber": k.sku_part_number,
        "subscriptionIds": k.subscription_ids,
    })
}

/// §4.1: one page; `$filter` and the other query options are not supported (400).
async fn subscribed_skus(c: Call) -> Result<Response, ApiError> {
    odata::refuse(
        &c,
        &["$filter", "$top", "$skip", "$count", "$search", "$orderby"],
    )?;
    let skus = c.st.tenant.list_skus().await.map_err(|e| c.err(e))?;
    let value: Vec<Value> = skus.iter().map(|k| sku_json(&c, k)).collect();
    Ok(json(
        StatusCode::OK,
        json!({ "@odata.context": c.context("subscribedSkus"), "value": value }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssignBody {
    add_licenses: Option<Vec<AddLicense>>,
    remove_licenses: Option<Vec<SkuId>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddLicense {
    sku_id: SkuId,
    #[serde(default)]
    disabled_plans: Option<Vec<String>>,
}

/// The `assignLicense` body (§4.2, §4.6): both arrays are required and non-null.
pub fn parse_assign(c: &Call, body: &[u8]) -> Result<(Vec<AssignedLicense>, Vec<SkuId>), ApiError> {
    let body: AssignBody = parse_body(c, body)?;
    let missing: Vec<&str> = [
        ("addLicenses", body.add_licenses.is_none()),
        ("removeLicenses", body.remove_licenses.is_none()),
    ]
    .into_iter()
    .filter_map(|(n, m)| m.then_some(n))
    .collect();
    if !missing.is_empty() {
        return Err(c.bad_request(&format!(
            "One or more parameters of the function import 'assignLicense' are missing from the request payload. The missing parameters are: {}.",
            missing.join(", ")
        )));
    }
    let add: Vec<AssignedLicense> = body
        .add_licenses
        .unwrap_or_default()
        .into_iter()
        .map(|a| AssignedLicense {
            sku_id: a.sku_id,
            disabled_plans: a.disabled_plans.unwrap_or_default(),
        })
        .collect();
    Ok((add, body.remove_licenses.unwrap_or_default()))
}

/// §4.2: 200 with the user (default set + `assignedLicenses`).
async fn assign_license(
    c: Call,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (add, remove) = parse_assign(&c, &body)?;
    let user = c.user_id(&id);
    c.st.tenant
        .assign_license(&user, &add, &remove)
        .await
        .map_err(|e| c.err(e))?;
    let u =
        c.st.tenant
            .get_user(user.as_str())
            .await
            .map_err(|e| c.err(e))?;
    Ok(json(
        StatusCode::OK,
        user_entity(&c, &u, &["assignedLicenses"]),
    ))
}

/// §4.5: 200 with the user.
async fn reprocess(c: Call, Path(id): Path<String>) -> Result<Response, ApiError> {
    let user = c.user_id(&id);
    let u =
        c.st.tenant
            .reprocess_license_assignment(&user)
            .await
            .map_err(|e| c.err(e))?;
    Ok(json(
        StatusCode::OK,
        user_entity(&c, &u, &["assignedLicenses"]),
    ))
}

/// §4.3: one entry per SKU the user holds (by any path).
async fn license_details(c: Call, Path(id): Path<String>) -> Result<Response, ApiError> {
    let u = c.st.tenant.get_user(&id).await.map_err(|e| c.err(e))?;
    let items: Vec<Value> = u
        .assigned_licenses
        .iter()
        .map(|l| {
            let sku = c.st.tenant.sku(l.sku_id.as_str());
            json!({
                "id": hex::encode(format!("{}|{}", u.id, l.sku_id)),
                "skuId": l.sku_id,
                "skuPartNumber": sku.as_ref().map(|k| k.sku_part_number.clone()),
                "servicePlans": sku.as_ref().map(plans).unwrap_or_default(),
            })
        })
        .collect();
    let context = c.context(&format!("users('{}')/licenseDetails", u.id));
    odata::collection(&c, &context, items, 100, 999)
}
