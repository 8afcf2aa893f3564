//! Subscriptions and seat counts (docs/microsoft-365-api.md §4.9, §9; R13–R15). A SKU's seats are
//! the sum of its subscriptions. CSP quantities change through Partner Center PATCH: up any time,
//! down only inside the 168 h window after purchase or renewal; next-term instructions any time
//! (with auto-renew). Direct subscriptions change in the admin center only (an inspection
//! method). Terms roll over lazily once the clock passes their end, like the 30-day purge.

use super::SimError;
use super::errors;
use super::scenario::ScenarioSubscription;
use super::state::{State, SubscriptionKind, SubscriptionState};
use crate::ids::SkuId;
use crate::tenant::{
    CompanySubscription, PartnerSubscription, ProductType, ScheduledNextTermInstructions,
    SubscriptionStatus, TenantError, TenantResult, reduction_window_end,
};
use chrono::{DateTime, Utc};
use serde_json::{Map, json};

/// `companySubscription.status` for a Partner Center status (value set UNCONFIRMED).
fn company_status(s: &SubscriptionStatus) -> &'static str {
    match s {
        SubscriptionStatus::Active => "Enabled",
        SubscriptionStatus::Expired => "Warning",
        SubscriptionStatus::Deleted => "Deleted",
        // Suspended, disabled, and the values the simulated tenant never stores.
        _ => "Suspended",
    }
}

impl State {
    /// A subscription by company id or commerce (Partner Center) id, case-insensitive.
    pub fn subscription_by_ref(&self, r: &str) -> Option<&SubscriptionState> {
        let r = r.trim();
        self.subscriptions.get(&r.to_ascii_lowercase()).or_else(|| {
            self.subscriptions
                .values()
                .find(|s| s.commerce_subscription_id.eq_ignore_ascii_case(r))
        })
    }

    pub fn company_view(&self, s: &SubscriptionState) -> CompanySubscription {
        let active = s.status == SubscriptionStatus::Active;
        let end = s.term_end();
        CompanySubscription {
            id: s.id.clone(),
            commerce_subscription_id: s.commerce_subscription_id.clone(),
            sku_id: s.sku_id.clone(),
            sku_part_number: self
                .skus
                .get(&s.sku_id)
                .map(|k| k.sku_part_number.clone())
                .unwrap_or_default(),
            status: company_status(&s.status).to_string(),
            total_licenses: s.quantity,
            is_trial: s.is_trial,
            created_date_time: Some(s.created_date_time),
            next_lifecycle_date_time: (active && end < DateTime::<Utc>::MAX_UTC).then_some(end),
        }
    }

    pub fn partner_view(&self, s: &SubscriptionState) -> PartnerSubscription {
        let mut extra = Map::new();
        extra.insert("attributes".into(), json!({ "objectType": "Subscription" }));
        PartnerSubscription {
            id: s.commerce_subscription_id.clone(),
            offer_id: s.offer_id.clone(),
            offer_name: Some(s.friendly_name.clone()),
            friendly_name: Some(s.friendly_name.clone()),
            product_type: Some(ProductType {
                id: "OnlineServicesNCE".into(),
                display_name: "OnlineServicesNCE".into(),
            }),
            quantity: s.quantity,
            unit_type: Some("Licenses".into()),
            parent_subscription_id: None,
            creation_date: Some(s.created_date_time),
            effective_start_date: Some(s.term_start),
            commitment_end_date: s.term_end(),
            cancellation_allowed_until_date: Some(reduction_window_end(s.term_start)),
            status: s.status.clone(),
            auto_renew_enabled: s.auto_renew_enabled,
            is_trial: s.is_trial,
            billing_type: Some("license".into()),
            billing_cycle: s.billing_cycle.clone(),
            term_duration: s.term_duration.clone(),
            renewal_term_duration: Some(String::new()),
            scheduled_next_term_instructions: s.scheduled.clone(),
            order_id: None,
            contract_type: Some("subscription".into()),
            is_microsoft_product: Some(true),
            publisher_name: Some("Microsoft".into()),
            partner_id: None,
            suspension_reasons: Vec::new(),
            refund_options: Vec::new(),
            migrated_from_subscription_id: None,
            extra,
        }
    }

    pub fn list_subscriptions(&self) -> Vec<CompanySubscription> {
        self.subscriptions
            .values()
            .map(|s| self.company_view(s))
            .collect()
    }

    fn csp(&self, id: &str) -> TenantResult<&SubscriptionState> {
        self.subscriptions
            .values()
            .find(|s| {
                s.kind == SubscriptionKind::Csp
                    && s.commerce_subscription_id.eq_ignore_ascii_case(id.trim())
            })
            .ok_or_else(|| errors::partner_not_found(id))
    }

    /// §9.2 GET. Partner Center knows only CSP subscriptions, by their commerce id.
    pub fn get_partner_subscription(&self, id: &str) -> TenantResult<PartnerSubscription> {
        self.csp(id).map(|s| self.partner_view(s))
    }

    /// §9.2 PATCH with the full resource. Changes `quantity`, `autoRenewEnabled`,
    /// `friendlyName` and `scheduledNextTermInstructions`; refuses the rest explicitly.
    pub fn update_partner_subscription(
        &mut self,
        sub: &PartnerSubscription,
        now: DateTime<Utc>,
    ) -> TenantResult<PartnerSubscription> {
        let s = self.csp(&sub.id)?.clone();
        let id = s.commerce_subscription_id.as_str();
        check_patch(&s, sub)?;
        let lowering = sub.quantity < s.quantity;
        let window_end = reduction_window_end(s.term_start);
        if lowering && now >= window_end {
            return Err(errors::reduction_window_closed(id, window_end));
        }
        let changed = sub.quantity != s.quantity;
        let wanted = &sub.scheduled_next_term_instructions;
        if let Some(i) = wanted {
            if !sub.auto_renew_enabled {
                return Err(errors::partner_bad_request(format!(
                    "Subscription {id}: scheduledNextTermInstructions need autoRenewEnabled: true; turn auto-renew on in the same request."
                )));
            }
            check_instructions(&s, i)?;
        }
        if changed && wanted.is_some() && *wanted != s.scheduled {
            // Our rule: a mid-term quantity change clears scheduled instructions (§9.2 [OBS]),
            // so new ones sent with it would be lost silently; refuse instead.
            return Err(errors::partner_bad_request(format!(
                "Subscription {id}: change the quantity and the next-term instructions in separate requests; a quantity change clears scheduled instructions."
            )));
        }
        let m = self
            .subscriptions
            .get_mut(&s.id)
            .ok_or_else(|| errors::partner_not_found(id))?;
        m.quantity = sub.quantity;
        m.auto_renew_enabled = sub.auto_renew_enabled;
        if let Some(name) = sub
            .friendly_name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
        {
            m.friendly_name = name.to_string();
        }
        // Turning auto-renew off drops scheduled changes (UNCONFIRMED, as the portal does).
        m.scheduled = if changed || !sub.auto_renew_enabled {
            None
        } else {
            wanted.clone()
        };
        let m = m.clone();
        if changed {
            self.after_seat_change(&m.sku_id, &m.id, now);
        }
        Ok(self.partner_view(&m))
    }

    /// The admin center's seat change for a direct subscription (no API does this, R14).
    pub fn set_subscription_quantity(
        &mut self,
        id: &str,
        quantity: i64,
        now: DateTime<Utc>,
    ) -> TenantResult<CompanySubscription> {
        let s = self
            .subscription_by_ref(id)
            .ok_or_else(|| TenantError::not_found(id))?
            .clone();
        if s.kind == SubscriptionKind::Csp {
            return Err(errors::bad_request(format!(
                "Subscription {} was bought through a partner: its seats change in Partner Center, not in the admin center (R14, see docs/rules.md).",
                s.id
            )));
        }
        if s.status != SubscriptionStatus::Active || quantity < 1 {
            return Err(errors::bad_request(format!(
                "Subscription {} is {:?} with {} seats; only an active subscription can be set to 1 or more seats (asked: {quantity}).",
                s.id, s.status, s.quantity
            )));
        }
        let m = self
            .subscriptions
            .get_mut(&s.id)
            .ok_or_else(|| TenantError::not_found(id))?;
        m.quantity = quantity;
        let m = m.clone();
        self.after_seat_change(&m.sku_id, &m.id, now);
        Ok(self.company_view(&m))
    }

    /// Rolls over (auto-renew) or expires every active subscription whose term has ended,
    /// applying scheduled next-term instructions. Returns whether anything changed.
    pub fn settle_subscriptions(&mut self, now: DateTime<Utc>) -> bool {
        let due: Vec<String> = self
            .subscriptions
            .values()
            .filter(|s| s.status == SubscriptionStatus::Active && s.term_end() <= now)
            .map(|s| s.id.clone())
            .collect();
        for id in &due {
            let Some(s) = self.subscriptions.get_mut(id) else {
                continue;
            };
            let mut end = s.term_end();
            let mut at = now;
            while end <= now {
                at = end;
                if !s.auto_renew_enabled {
                    s.status = SubscriptionStatus::Expired;
                    s.scheduled = None;
                    break;
                }
                if let Some(next) = s.scheduled.take() {
                    s.quantity = next.quantity;
                    s.billing_cycle = next.product.billing_cycle;
                    s.term_duration = next.product.term_duration;
                }
                s.term_start = end;
                end = s.term_end();
            }
            let sku = s.sku_id.clone();
            self.after_seat_change(&sku, id, at);
        }
        !due.is_empty()
    }

    /// Recomputes the SKU's prepaid units from its subscriptions (no-op without any):
    /// `enabled` = active, `warning` = expired (grace), `suspended` = suspended or disabled.
    pub fn recompute_prepaid(&mut self, sku: &SkuId) {
        let mut any = false;
        let (mut enabled, mut warning, mut suspended) = (0, 0, 0);
        for s in self.subscriptions.values().filter(|s| &s.sku_id == sku) {
            any = true;
            match s.status {
                SubscriptionStatus::Active => enabled += s.quantity,
                SubscriptionStatus::Expired => warning += s.quantity,
                SubscriptionStatus::Suspended | SubscriptionStatus::Disabled => {
                    suspended += s.quantity
                }
                _ => {}
            }
        }
        if let Some(k) = self.skus.get_mut(sku).filter(|_| any) {
            k.prepaid_units.enabled = enabled;
            k.prepaid_units.warning = warning;
            k.prepaid_units.suspended = suspended;
        }
    }

    /// After a subscription's seats changed: new prepaid units, and damage (R13) when the
    /// change left fewer seats enabled than are in use. Microsoft then puts the excess
    /// licenses into a grace period and later takes them from users; the simulated tenant
    /// shows the excess as negative free seats (new assignments fail) and keeps users
    /// licensed.
    fn after_seat_change(&mut self, sku: &SkuId, subscription: &str, at: DateTime<Utc>) {
        let before = self.skus.get(sku).map(|k| k.prepaid_units.enabled);
        self.recompute_prepaid(sku);
        let Some(k) = self.skus.get(sku) else {
            return;
        };
        let (used, enabled) = (self.consumed(k), k.prepaid_units.enabled);
        if used > enabled && before.is_some_and(|b| enabled < b) {
            let part = k.sku_part_number.clone();
            self.record_damage_to(
                at,
                part.clone(),
                "R13",
                format!(
                    "subscription {subscription} took {part} down to {enabled} enabled seats while {used} were in use: {} licenses are over the purchased quantity and will be taken from users after the grace period",
                    used - enabled
                ),
            );
        }
    }
}

/// The fields PATCH may not change in the simulated tenant, and the quantity's lower bound.
fn check_patch(s: &SubscriptionState, sub: &PartnerSubscription) -> TenantResult<()> {
    let id = &s.commerce_subscription_id;
    if s.status != SubscriptionStatus::Active {
        return Err(errors::partner_bad_request(format!(
            "Subscription {id} is {:?}; only an active subscription can be changed.",
            s.status
        )));
    }
    if sub.offer_id != s.offer_id
        || sub.term_duration != s.term_duration
        || sub.billing_cycle != s.billing_cycle
        || sub.status != s.status
    {
        return Err(errors::partner_bad_request(format!(
            "Subscription {id}: offerId, termDuration, billingCycle and status cannot be changed by this PATCH in the simulated tenant; send the resource as read with only quantity, autoRenewEnabled, friendlyName or scheduledNextTermInstructions changed."
        )));
    }
    if sub.quantity < 1 {
        return Err(errors::partner_bad_request(format!(
            "Subscription {id}: quantity must be at least 1 (asked: {}); a subscription is ended by cancelling it, not by a quantity of 0.",
            sub.quantity
        )));
    }
    Ok(())
}

/// What the simulated tenant can renew into: the same product, a known term, ≥ 1 seat.
fn check_instructions(
    s: &SubscriptionState,
    i: &ScheduledNextTermInstructions,
) -> TenantResult<()> {
    let id = &s.commerce_subscription_id;
    let bad = |why: String| {
        Err(errors::partner_bad_request(format!(
            "Subscription {id}: {why}"
        )))
    };
    if i.quantity < 1 {
        return bad(format!(
            "the next term's quantity must be at least 1 (asked: {}).",
            i.quantity
        ));
    }
    if i.product.term_duration.months().is_none() {
        return bad(format!(
            "termDuration {} is not one the simulated tenant renews into (P1M, P1Y, P3Y).",
            i.product.term_duration
        ));
    }
    if i.custom_term_end_date.is_some() {
        return bad("customTermEndDate is not modelled by the simulated tenant.".into());
    }
    let mut offer = s.offer_id.split(':');
    let (product, sku) = (offer.next().unwrap_or(""), offer.next().unwrap_or(""));
    if !sku.is_empty() && (i.product.product_id != product || i.product.sku_id != sku) {
        return bad(format!(
            "the simulated tenant renews only into the same product ({product}:{sku}), not {}:{}.",
            i.product.product_id, i.product.sku_id
        ));
    }
    Ok(())
}

/// Seeds the scenario's subscriptions, counts each term from `createdDateTime` up to `now`
/// and sets the prepaid units of their SKUs.
pub fn seed_subscriptions(
    st: &mut State,
    subs: &[ScenarioSubscription],
    now: DateTime<Utc>,
) -> Result<(), SimError> {
    for x in subs {
        let invalid = |why: String| SimError::Invalid(format!("subscription {}: {why}", x.id));
        let sku = st
            .sku_by_ref(&x.sku)
            .ok_or_else(|| invalid(format!("sku '{}' is not a SKU of the scenario", x.sku)))?;
        let (sku_id, part) = (sku.sku_id.clone(), sku.sku_part_number.clone());
        let id = x.id.trim().to_ascii_lowercase();
        if id.is_empty() || st.subscription_by_ref(&id).is_some() {
            return Err(invalid("the id is empty or listed twice".into()));
        }
        if st
            .subscription_by_ref(&x.commerce_subscription_id)
            .is_some()
        {
            return Err(invalid(format!(
                "commerceSubscriptionId {} is used twice",
                x.commerce_subscription_id
            )));
        }
        if x.quantity < 1 {
            return Err(invalid(format!("quantity {} is below 1", x.quantity)));
        }
        if x.term_duration.months().is_none() {
            return Err(invalid(format!(
                "termDuration {} is not P1M, P1Y or P3Y",
                x.term_duration
            )));
        }
        use SubscriptionStatus as S;
        if !matches!(
            x.status,
            S::Active | S::Expired | S::Suspended | S::Disabled | S::Deleted
        ) {
            return Err(invalid(format!(
                "status {:?} is not active, expired, suspended, disabled or deleted",
                x.status
            )));
        }
        let offer_id = match (x.kind, x.offer_id.as_deref().map(str::trim)) {
            (SubscriptionKind::Csp, None | Some("")) => {
                return Err(invalid(
                    "a csp subscription needs offerId (productId:skuId:availabilityId)".into(),
                ));
            }
            (_, o) => o.unwrap_or_default().to_string(),
        };
        let created = x.created_date_time.unwrap_or(now);
        if created > now {
            return Err(invalid(format!(
                "createdDateTime {created} is after the start of the simulation ({now})"
            )));
        }
        st.subscriptions.insert(
            id.clone(),
            SubscriptionState {
                id,
                commerce_subscription_id: x.commerce_subscription_id.trim().to_string(),
                sku_id,
                kind: x.kind,
                offer_id,
                friendly_name: part,
                quantity: x.quantity,
                status: x.status.clone(),
                is_trial: x.is_trial,
                created_date_time: created,
                term_start: created,
                term_duration: x.term_duration.clone(),
                billing_cycle: x.billing_cycle.clone(),
                auto_renew_enabled: x.auto_renew_enabled,
                scheduled: None,
            },
        );
    }
    st.settle_subscriptions(now);
    let skus: Vec<SkuId> = st
        .subscriptions
        .values()
        .map(|s| s.sku_id.clone())
        .collect();
    for sku in skus {
        st.recompute_prepaid(&sku);
    }
    Ok(())
}

/// The subscriptions of a SKU, for `subscribedSkus.subscriptionIds`.
pub fn subscription_ids(st: &State, sku: &SkuId) -> Vec<String> {
    st.subscriptions
        .values()
        .filter(|s| &s.sku_id == sku)
        .map(|s| s.id.clone())
        .collect()
}
