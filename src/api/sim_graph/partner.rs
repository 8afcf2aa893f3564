//! Partner Center (docs/microsoft-365-api.md §9.2): `GET` and `PATCH
//! /v1/customers/{customer}/subscriptions/{id}`; PATCH takes the full resource and answers
//! 200 with the updated one. The customer must be this tenant (id or domain).

use super::call::{Call, json};
use super::errors::{ApiError, Service, partner_body};
use crate::tenant::{PartnerSubscription, Tenant};
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

fn customer_ok(c: &Call, customer: &str) -> Result<(), ApiError> {
    if c.st.opts.is_tenant(customer) {
        return Ok(());
    }
    Err(partner_body(
        StatusCode::NOT_FOUND,
        // The simulated tenant's code for an unknown subscription (UNCONFIRMED, ours).
        Value::from(800002),
        &format!("Customer {customer} was not found for this partner."),
    ))
}

fn to_json(c: &Call, s: &PartnerSubscription) -> Result<Response, ApiError> {
    serde_json::to_value(s)
        .map(|v| json(StatusCode::OK, v))
        .map_err(|e| {
            ApiError::tenant(
                Service::Partner,
                crate::tenant::TenantError::transient(e.to_string()),
                &c.rid,
            )
        })
}

pub async fn get(
    c: Call,
    Path((customer, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    customer_ok(&c, &customer)?;
    let s =
        c.st.tenant
            .get_partner_subscription(&id)
            .await
            .map_err(|e| ApiError::tenant(Service::Partner, e, &c.rid))?;
    to_json(&c, &s)
}

pub async fn patch(
    c: Call,
    Path((customer, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    customer_ok(&c, &customer)?;
    let sub: PartnerSubscription = serde_json::from_slice(&body).map_err(|e| {
        partner_body(
            StatusCode::BAD_REQUEST,
            Value::from(800000),
            &format!("The request body is not a subscription resource: {e}"),
        )
    })?;
    if !sub.id.eq_ignore_ascii_case(&id) {
        return Err(partner_body(
            StatusCode::BAD_REQUEST,
            Value::from(800000),
            &format!(
                "The subscription id in the body ({}) does not match the URL ({id}).",
                sub.id
            ),
        ));
    }
    let updated =
        c.st.tenant
            .update_partner_subscription(&sub)
            .await
            .map_err(|e| ApiError::tenant(Service::Partner, e, &c.rid))?;
    to_json(&c, &updated)
}
