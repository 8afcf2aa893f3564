//! `GET /api/v1/licenses`: the tenant's subscribed SKUs with their seats (docs/microsoft-365-api.md
//! §4.1): `enabled`, `suspended` and `warning` are `prepaidUnits`, `free = enabled − consumed`
//! (negative when over-assigned, R13), sorted by SKU part number.

use super::error::AdminError;
use super::state::AdminState;
use super::users::tenant_error;
use crate::tenant::Sku;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseView<'a> {
    pub sku_id: &'a str,
    pub sku_part_number: &'a str,
    pub capability_status: &'a str,
    pub enabled: i64,
    pub suspended: i64,
    pub warning: i64,
    pub consumed: i64,
    pub free: i64,
}

impl<'a> LicenseView<'a> {
    pub fn of(s: &'a Sku) -> Self {
        LicenseView {
            sku_id: s.sku_id.as_str(),
            sku_part_number: &s.sku_part_number,
            capability_status: &s.capability_status,
            enabled: s.prepaid_units.enabled,
            suspended: s.prepaid_units.suspended,
            warning: s.prepaid_units.warning,
            consumed: s.consumed_units,
            free: s.free_units(),
        }
    }
}

pub async fn list(State(st): State<AdminState>) -> Result<Json<Value>, AdminError> {
    let mut skus = st
        .engine
        .tenant()
        .list_skus()
        .await
        .map_err(|e| tenant_error(&e, "listing the subscribed SKUs"))?;
    skus.sort_by(|a, b| a.sku_part_number.cmp(&b.sku_part_number));
    let views: Vec<LicenseView> = skus.iter().map(LicenseView::of).collect();
    Ok(Json(json!({ "licenses": views })))
}
