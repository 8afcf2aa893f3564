//! Seat-count types: Graph's read-only company subscriptions (docs/microsoft-365-api.md §4.9) and
//! Partner Center's CSP subscription resource (§9.2), with the R15 window helpers. Kept apart from
//! `types.rs` so neither file grows past a screenful of concepts.

use crate::ids::SkuId;
use chrono::{DateTime, Duration, Months, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Hours after purchase or renewal in which an NCE subscription may be reduced (R15).
pub const REDUCTION_WINDOW_HOURS: i64 = 168;

/// One entry of `GET /directory/subscriptions` (`companySubscription`, read-only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompanySubscription {
    pub id: String,
    /// The Partner Center subscription id of a CSP purchase (§9.2 `id`).
    pub commerce_subscription_id: String,
    pub sku_id: SkuId,
    pub sku_part_number: String,
    /// `Enabled`, `Warning`, `Suspended`, `Deleted`, `LockedOut` (value set UNCONFIRMED).
    pub status: String,
    pub total_licenses: i64,
    #[serde(default)]
    pub is_trial: bool,
    #[serde(default)]
    pub created_date_time: Option<DateTime<Utc>>,
    /// The next renewal or expiry.
    #[serde(default)]
    pub next_lifecycle_date_time: Option<DateTime<Utc>>,
}

impl CompanySubscription {
    pub fn is_enabled(&self) -> bool {
        self.status.eq_ignore_ascii_case("Enabled")
    }
}

/// Partner Center `status`. Unknown values survive a read-modify-write unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SubscriptionStatus {
    None,
    Active,
    Pending,
    Suspended,
    Deleted,
    Expired,
    Disabled,
    #[serde(untagged)]
    Other(String),
}

/// `termDuration` (ISO 8601): `P1M`, `P1Y`, `P3Y`; anything else is kept as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TermDuration {
    #[serde(rename = "P1M")]
    OneMonth,
    #[serde(rename = "P1Y")]
    OneYear,
    #[serde(rename = "P3Y")]
    ThreeYears,
    #[serde(untagged)]
    Other(String),
}

impl TermDuration {
    /// Length in months; `None` for a duration this crate does not know.
    pub fn months(&self) -> Option<u32> {
        match self {
            TermDuration::OneMonth => Some(1),
            TermDuration::OneYear => Some(12),
            TermDuration::ThreeYears => Some(36),
            TermDuration::Other(_) => None,
        }
    }

    /// The end of a term that starts at `start`; `None` for an unknown duration.
    pub fn end_of_term(&self, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        start.checked_add_months(Months::new(self.months()?))
    }
}

impl std::fmt::Display for TermDuration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TermDuration::OneMonth => "P1M",
            TermDuration::OneYear => "P1Y",
            TermDuration::ThreeYears => "P3Y",
            TermDuration::Other(s) => s,
        })
    }
}

/// `productType` of a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductType {
    pub id: String,
    #[serde(default)]
    pub display_name: String,
}

/// One of `refundOptions`: `type` is `Partial` or `Full`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundOption {
    pub r#type: String,
    #[serde(default)]
    pub expires_after: Option<DateTime<Utc>>,
}

/// The product a subscription renews into (`scheduledNextTermInstructions.product`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledProduct {
    pub product_id: String,
    pub sku_id: String,
    pub availability_id: String,
    pub billing_cycle: String,
    pub term_duration: TermDuration,
}

/// What changes at the next renewal (needs `autoRenewEnabled: true`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledNextTermInstructions {
    pub product: ScheduledProduct,
    pub quantity: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_term_end_date: Option<DateTime<Utc>>,
}

/// A CSP subscription as Partner Center's `GET /v1/customers/{c}/subscriptions/{id}` returns
/// it; PATCH takes the whole resource back. Fields this type does not name (`links`,
/// `attributes`, `actions`, `refundableQuantity`, whose shape is UNCONFIRMED, ...) ride in
/// `extra` so a read-modify-write sends them back unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartnerSubscription {
    pub id: String,
    /// NCE: `productId:skuId:availabilityId`.
    pub offer_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub friendly_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_type: Option<ProductType>,
    pub quantity: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_subscription_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_date: Option<DateTime<Utc>>,
    /// Start of the current term.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_start_date: Option<DateTime<Utc>>,
    /// End of the current term: the renewal (or expiry without auto-renew).
    pub commitment_end_date: DateTime<Utc>,
    /// End of the R15 window (purchase or renewal + 168 h); absent on legacy offers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation_allowed_until_date: Option<DateTime<Utc>>,
    pub status: SubscriptionStatus,
    pub auto_renew_enabled: bool,
    #[serde(default)]
    pub is_trial: bool,
    /// `none`, `usage`, `license`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_type: Option<String>,
    /// `monthly`, `annual`, `triennial`, ...
    pub billing_cycle: String,
    pub term_duration: TermDuration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_term_duration: Option<String>,
    /// Always sent (as `null` when there are none): clearing it is a change.
    #[serde(default)]
    pub scheduled_next_term_instructions: Option<ScheduledNextTermInstructions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_microsoft_product: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suspension_reasons: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refund_options: Vec<RefundOption>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrated_from_subscription_id: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl PartnerSubscription {
    /// R15: whether the quantity may still be lowered now (before
    /// `cancellationAllowedUntilDate`, i.e. within 168 h of purchase or renewal). A
    /// subscription without the date (legacy offer) is treated as outside the window.
    pub fn in_reduction_window(&self, now: DateTime<Utc>) -> bool {
        self.cancellation_allowed_until_date
            .is_some_and(|until| now < until)
    }

    /// The renewal: the end of the current term (`commitmentEndDate`).
    pub fn renewal(&self) -> DateTime<Utc> {
        self.commitment_end_date
    }

    /// The product of the current offer, as `scheduledNextTermInstructions` names it, so a
    /// decrease can be scheduled for the renewal. `None` unless `offerId` has the NCE form
    /// `productId:skuId:availabilityId`.
    pub fn current_product(&self) -> Option<ScheduledProduct> {
        let mut parts = self.offer_id.split(':');
        let (product_id, sku_id, availability_id) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || [product_id, sku_id, availability_id].contains(&"") {
            return None;
        }
        Some(ScheduledProduct {
            product_id: product_id.to_string(),
            sku_id: sku_id.to_string(),
            availability_id: availability_id.to_string(),
            billing_cycle: self.billing_cycle.clone(),
            term_duration: self.term_duration.clone(),
        })
    }
}

/// The end of the R15 window of a term that starts at `start`.
pub fn reduction_window_end(start: DateTime<Utc>) -> DateTime<Utc> {
    start + Duration::hours(REDUCTION_WINDOW_HOURS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn example() -> Value {
        json!({
            "id": "d3b7c9a2-9a4b-40b2-b075-6e442909e3e7",
            "offerId": "CFQ7TTC0LFLZ:0002:CFQ7TTC0K8NQ",
            "offerName": "Microsoft 365 E3",
            "friendlyName": "Microsoft 365 E3",
            "productType": { "id": "OnlineServicesNCE", "displayName": "OnlineServicesNCE" },
            "quantity": 50,
            "unitType": "Licenses",
            "creationDate": "2026-01-10T08:00:00Z",
            "effectiveStartDate": "2026-01-10T00:00:00Z",
            "commitmentEndDate": "2027-01-09T00:00:00Z",
            "cancellationAllowedUntilDate": "2026-01-17T00:00:00Z",
            "status": "active",
            "autoRenewEnabled": true,
            "isTrial": false,
            "billingType": "license",
            "billingCycle": "monthly",
            "termDuration": "P1Y",
            "renewalTermDuration": "",
            "scheduledNextTermInstructions": null,
            "orderId": "123456789101",
            "contractType": "subscription",
            "isMicrosoftProduct": true,
            "publisherName": "Microsoft",
            "links": { "self": { "uri": "/customers/1f53/subscriptions/d3b7", "method": "GET", "headers": [] } },
            "attributes": { "etag": "abc", "objectType": "Subscription" }
        })
    }

    #[test]
    fn the_documented_example_round_trips_with_unknown_fields() {
        let sub: PartnerSubscription = serde_json::from_value(example()).unwrap();
        assert_eq!(sub.term_duration, TermDuration::OneYear);
        assert_eq!(sub.status, SubscriptionStatus::Active);
        assert!(sub.extra.contains_key("links") && sub.extra.contains_key("attributes"));
        assert_eq!(serde_json::to_value(&sub).unwrap(), example());
    }

    #[test]
    fn unknown_status_and_term_survive() {
        let mut v = example();
        v["status"] = json!("migrating");
        v["termDuration"] = json!("P1D");
        let sub: PartnerSubscription = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(sub.status, SubscriptionStatus::Other("migrating".into()));
        assert_eq!(sub.term_duration.months(), None);
        assert_eq!(serde_json::to_value(&sub).unwrap(), v);
    }

    #[test]
    fn reduction_window_ends_at_cancellation_allowed_until_date() {
        let sub: PartnerSubscription = serde_json::from_value(example()).unwrap();
        let until = sub.cancellation_allowed_until_date.unwrap();
        assert!(sub.in_reduction_window(until - Duration::seconds(1)));
        assert!(!sub.in_reduction_window(until));
        assert_eq!(sub.renewal(), sub.commitment_end_date);
        let product = sub.current_product().unwrap();
        assert_eq!(
            (product.product_id.as_str(), product.sku_id.as_str()),
            ("CFQ7TTC0LFLZ", "0002")
        );
    }
}
