//! Resolving what events and workflows name — SKU part numbers (`SPE_E3`) or skuIds, service
//! plan names or ids — against the tenant's subscribed SKUs, with errors that list what the
//! tenant has.

use crate::tenant::Sku;

/// The SKU `r` names: its part number (case-insensitive) or its skuId.
pub(crate) fn find<'a>(skus: &'a [Sku], r: &str) -> Option<&'a Sku> {
    let r = r.trim();
    skus.iter().find(|s| {
        s.sku_part_number.eq_ignore_ascii_case(r) || s.sku_id.as_str().eq_ignore_ascii_case(r)
    })
}

/// "SPE_E3, SPB, ..." for error messages.
pub(crate) fn tenant_list(skus: &[Sku]) -> String {
    let mut names: Vec<&str> = skus.iter().map(|s| s.sku_part_number.as_str()).collect();
    names.sort_unstable();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// Resolves every reference, or names the first unknown one and what the tenant has.
pub(crate) fn resolve_all(skus: &[Sku], refs: &[String], source: &str) -> Result<Vec<Sku>, String> {
    let mut out: Vec<Sku> = Vec::new();
    for r in refs {
        let Some(s) = find(skus, r) else {
            return Err(format!(
                "the license `{r}` ({source}) is not a SKU of this tenant; its SKUs are: {}",
                tenant_list(skus)
            ));
        };
        if !out.iter().any(|o| o.sku_id == s.sku_id) {
            out.push(s.clone());
        }
    }
    Ok(out)
}

/// The service plan ids of `sku` that `plans` (names or ids) name.
pub(crate) fn plan_ids(sku: &Sku, plans: &[String]) -> Vec<String> {
    sku.service_plans
        .iter()
        .filter(|p| {
            plans.iter().any(|n| {
                p.service_plan_name.eq_ignore_ascii_case(n.trim())
                    || p.service_plan_id.eq_ignore_ascii_case(n.trim())
            })
        })
        .map(|p| p.service_plan_id.clone())
        .collect()
}

/// Names of `sku`'s plans among `ids`, for reports (ids the SKU lacks are shown as ids).
pub(crate) fn plan_names(sku: &Sku, ids: &[String]) -> Vec<String> {
    ids.iter()
        .map(|id| {
            sku.service_plans
                .iter()
                .find(|p| p.service_plan_id.eq_ignore_ascii_case(id))
                .map(|p| p.service_plan_name.clone())
                .unwrap_or_else(|| id.clone())
        })
        .collect()
}
