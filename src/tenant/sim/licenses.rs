//! Licenses, seats and group membership (docs/microsoft-365-api.md §4): assignLicense with the real
//! errors, seat counting (one seat per user per SKU, soft-deleted users free theirs), asynchronous
//! group-based licensing, and the mailbox damage that losing an Exchange license causes.

use super::errors;
use super::state::{GroupPath, PendingLicense, SkuState, State, UserState};
use crate::ids::{GroupId, SkuId, UserId};
use crate::tenant::{AssignedLicense, Mailbox, MailboxType, Sku, TenantError, TenantResult};
use chrono::{DateTime, Duration, Utc};

impl State {
    /// Whether the user holds `sku` by any active path.
    pub fn holds(&self, u: &UserState, sku: &SkuId) -> bool {
        (u.direct_licenses.iter().any(|l| &l.sku_id == sku) && !u.count_violations.contains(sku))
            || u.group_paths
                .iter()
                .any(|p| &p.sku_id == sku && p.error.is_none())
    }

    pub fn consumed(&self, sku: &SkuState) -> i64 {
        let users = self
            .users
            .values()
            .filter(|u| u.deleted_date_time.is_none() && self.holds(u, &sku.sku_id))
            .count() as i64;
        sku.other_consumed_units + users
    }

    pub fn free_units(&self, sku: &SkuState) -> i64 {
        sku.prepaid_units.enabled - self.consumed(sku)
    }

    pub fn sku_view(&self, sku: &SkuState) -> Sku {
        Sku {
            sku_id: sku.sku_id.clone(),
            sku_part_number: sku.sku_part_number.clone(),
            capability_status: sku.capability_status.clone(),
            consumed_units: self.consumed(sku),
            prepaid_units: sku.prepaid_units.clone(),
            service_plans: sku.service_plans.clone(),
            subscription_ids: super::subscriptions::subscription_ids(self, &sku.sku_id),
        }
    }

    /// The licenses the user holds (one per SKU, whatever the number of paths); paths in
    /// error are left out.
    pub fn assigned_licenses(&self, u: &UserState) -> Vec<AssignedLicense> {
        let mut out: Vec<AssignedLicense> = u
            .direct_licenses
            .iter()
            .filter(|l| !u.count_violations.contains(&l.sku_id))
            .cloned()
            .collect();
        for p in u.group_paths.iter().filter(|p| p.error.is_none()) {
            if !out.iter().any(|l| l.sku_id == p.sku_id) {
                out.push(AssignedLicense {
                    sku_id: p.sku_id.clone(),
                    disabled_plans: Vec::new(),
                });
            }
        }
        out
    }

    /// Whether the user holds a license whose Exchange Online plan is not disabled.
    pub fn has_exchange(&self, u: &UserState) -> bool {
        self.assigned_licenses(u).iter().any(|l| {
            self.skus.get(&l.sku_id).is_some_and(|s| {
                s.service_plans
                    .iter()
                    .any(|p| p.is_exchange() && !l.disabled_plans.contains(&p.service_plan_id))
            })
        })
    }

    /// §4.2 one call with both arrays; validated as a whole before anything changes.
    pub fn assign_license(
        &mut self,
        user: &UserId,
        add: &[AssignedLicense],
        remove: &[SkuId],
        now: DateTime<Utc>,
    ) -> TenantResult<()> {
        let id = self.active_id(user.as_str())?;
        let u = self
            .users
            .get(&id)
            .ok_or_else(|| errors::user_not_found(user.as_str()))?;
        let location_ok = u
            .usage_location
            .as_deref()
            .is_some_and(|c| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_uppercase()));
        if !add.is_empty() && !location_ok {
            return Err(errors::invalid_usage_location());
        }
        for sku in add.iter().map(|a| &a.sku_id).chain(remove.iter()) {
            if !self.skus.contains_key(sku) {
                return Err(errors::invalid_license(sku.as_str()));
            }
        }
        if let Some(both) = add.iter().find(|a| remove.contains(&a.sku_id)) {
            return Err(errors::bad_request(format!(
                "License {} is both added and removed in the same request.",
                both.sku_id
            )));
        }
        for sku in remove {
            if !u.direct_licenses.iter().any(|l| &l.sku_id == sku) {
                return Err(if u.group_paths.iter().any(|p| &p.sku_id == sku) {
                    errors::inherited_from_group()
                } else {
                    errors::no_corresponding_license()
                });
            }
        }
        for a in add {
            let Some(sku) = self.skus.get(&a.sku_id) else {
                return Err(errors::invalid_license(a.sku_id.as_str()));
            };
            if !self.holds(u, &a.sku_id) && self.free_units(sku) <= 0 {
                return Err(errors::no_free_seats(a.sku_id.as_str()));
            }
        }
        let had = self.has_exchange(u);
        let u = self.user_mut(&id)?;
        u.direct_licenses.retain(|l| !remove.contains(&l.sku_id));
        u.count_violations.retain(|sku| !remove.contains(sku));
        for a in add {
            u.direct_licenses.retain(|l| l.sku_id != a.sku_id);
            u.direct_licenses.push(a.clone());
            u.count_violations.remove(&a.sku_id);
        }
        self.after_license_change(&id, had, now);
        Ok(())
    }

    fn editable_group(&self, group: &GroupId) -> TenantResult<()> {
        let g = self
            .groups
            .get(group)
            .ok_or_else(|| TenantError::not_found(group.as_str()))?;
        let g = &g.group;
        if g.is_dynamic() {
            Err(errors::dynamic_group())
        } else if g.on_premises_sync_enabled == Some(true) {
            Err(errors::on_premises_mastered())
        } else if g.mail_enabled && !g.group_types.iter().any(|t| t == "Unified") {
            Err(errors::mail_enabled_group())
        } else {
            Ok(())
        }
    }

    /// §4.7
    pub fn add_group_member(
        &mut self,
        group: &GroupId,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> TenantResult<()> {
        self.editable_group(group)?;
        let id = self.active_id(user.as_str())?;
        let g = self
            .groups
            .get_mut(group)
            .ok_or_else(|| TenantError::not_found(group.as_str()))?;
        if !g.members.insert(id.clone()) {
            return Err(errors::already_member());
        }
        self.queue_group_license(&id, group, now);
        Ok(())
    }

    /// §4.8
    pub fn remove_group_member(
        &mut self,
        group: &GroupId,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> TenantResult<()> {
        self.editable_group(group)?;
        let g = self
            .groups
            .get_mut(group)
            .ok_or_else(|| TenantError::not_found(group.as_str()))?;
        let id = UserId::new(user.as_str().to_ascii_lowercase());
        if !g.members.remove(&id) {
            return Err(errors::not_member(user.as_str()));
        }
        self.queue_group_license(&id, group, now);
        Ok(())
    }

    /// §4.5 group licensing processes every licensed group of the user again (after the
    /// usual delay); a path in `CountViolation` becomes active once a seat is free.
    pub fn reprocess_license_assignment(
        &mut self,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> TenantResult<crate::tenant::User> {
        let id = self.active_id(user.as_str())?;
        let groups: Vec<GroupId> = self
            .groups
            .iter()
            .filter(|(_, g)| g.members.contains(&id))
            .map(|(gid, _)| gid.clone())
            .collect();
        for g in &groups {
            self.queue_group_license(&id, g, now);
        }
        self.get_user(id.as_str())
    }

    pub fn queue_group_license(&mut self, user: &UserId, group: &GroupId, now: DateTime<Utc>) {
        let licensed = self
            .groups
            .get(group)
            .is_some_and(|g| !g.group.assigned_licenses.is_empty());
        if !licensed {
            return;
        }
        let delay = i64::try_from(self.group_licensing_delay_seconds).unwrap_or(i64::MAX / 2000);
        self.pending.push(PendingLicense {
            user: user.clone(),
            group: group.clone(),
            due: now + Duration::seconds(delay),
        });
        if delay == 0 {
            self.settle_group_licenses(now);
        }
    }

    /// Applies group-license changes whose delay has passed. Returns whether anything changed.
    pub fn settle_group_licenses(&mut self, now: DateTime<Utc>) -> bool {
        let mut due: Vec<PendingLicense> = Vec::new();
        self.pending.retain(|p| {
            if p.due <= now {
                due.push(p.clone());
                false
            } else {
                true
            }
        });
        due.sort_by_key(|p| p.due);
        let changed = !due.is_empty();
        for p in due {
            self.apply_group_paths(&p.user, &p.group, p.due);
        }
        changed
    }

    /// Recomputes the user's license paths through `group` from its current membership.
    pub fn apply_group_paths(&mut self, user: &UserId, group: &GroupId, at: DateTime<Utc>) {
        let Some(u) = self.users.get(user) else {
            return;
        };
        let member = self
            .groups
            .get(group)
            .is_some_and(|g| g.members.contains(user));
        let skus: Vec<SkuId> = match self.groups.get(group) {
            Some(g) if member => g
                .group
                .assigned_licenses
                .iter()
                .map(|l| l.sku_id.clone())
                .collect(),
            _ => Vec::new(),
        };
        let had = self.has_exchange(u);
        let mut without = u.clone();
        without.group_paths.retain(|p| &p.group != group);
        let mut paths = Vec::new();
        for sku in skus {
            let seat_ok = self.holds(&without, &sku)
                || self.skus.get(&sku).is_some_and(|s| self.free_units(s) > 0)
                || self.holds(u, &sku);
            paths.push(GroupPath {
                sku_id: sku,
                group: group.clone(),
                error: (!seat_ok).then(|| "CountViolation".to_string()),
            });
        }
        without.group_paths.extend(paths);
        self.users.insert(user.clone(), without);
        self.after_license_change(user, had, at);
    }

    /// Seats for a user who comes back (restore) or appears late: each direct license, then
    /// each group path, takes a free seat if there is one and is otherwise in
    /// `CountViolation`, consuming nothing, instead of pushing the SKU over its seats.
    pub fn claim_seats(&mut self, id: &UserId) {
        let Some(u) = self.users.get_mut(id) else {
            return;
        };
        let direct: Vec<SkuId> = u.direct_licenses.iter().map(|l| l.sku_id.clone()).collect();
        let paths: Vec<SkuId> = u.group_paths.iter().map(|p| p.sku_id.clone()).collect();
        u.count_violations = direct.iter().cloned().collect();
        for p in &mut u.group_paths {
            p.error = Some("CountViolation".into());
        }
        for sku in direct {
            if self.seat_free(&sku)
                && let Some(u) = self.users.get_mut(id)
            {
                u.count_violations.remove(&sku);
            }
        }
        for (i, sku) in paths.iter().enumerate() {
            let ok = self.users.get(id).is_some_and(|u| self.holds(u, sku)) || self.seat_free(sku);
            if let Some(p) = self
                .users
                .get_mut(id)
                .and_then(|u| u.group_paths.get_mut(i))
            {
                p.error = (!ok).then(|| "CountViolation".to_string());
            }
        }
    }

    fn seat_free(&self, sku: &SkuId) -> bool {
        self.skus.get(sku).is_some_and(|k| self.free_units(k) > 0)
    }

    /// Mailbox consequences of a license change: provisioning, R3, R5, R2/R8.
    pub fn after_license_change(&mut self, user: &UserId, had: bool, now: DateTime<Utc>) {
        let Some(u) = self.users.get(user) else {
            return;
        };
        let has = self.has_exchange(u);
        let upn = u.user_principal_name.clone();
        if has && !had {
            let mb = self
                .mailboxes
                .entry(user.clone())
                .or_insert_with(|| super::seed::default_mailbox(&upn));
            mb.deprovisioning = false;
            return;
        }
        if !had || has {
            return;
        }
        let Some(mb) = self.mailboxes.get_mut(user) else {
            return;
        };
        let mut records: Vec<(&str, String)> = Vec::new();
        match mb.kind {
            MailboxType::UserMailbox => {
                if let Some(fwd) = mb.forwarding_smtp_address.take() {
                    records.push((
                        "R5",
                        format!("the Exchange license was removed while the mailbox forwarded to {fwd}: forwarding stopped"),
                    ));
                }
                mb.deprovisioning = true;
                records.push((
                    "R3",
                    "the last Exchange license was removed while the mailbox was still a user mailbox: the mailbox started deprovisioning".into(),
                ));
            }
            MailboxType::SharedMailbox => {
                let view = Mailbox {
                    user_id: user.clone(),
                    primary_smtp_address: mb.primary_smtp_address.clone(),
                    recipient_type_details: mb.kind,
                    forwarding_smtp_address: None,
                    forwarding_address: None,
                    deliver_to_mailbox_and_forward: false,
                    hidden_from_address_lists_enabled: false,
                    litigation_hold_enabled: mb.litigation_hold,
                    archive_active: mb.archive,
                    total_item_size_bytes: mb.size_bytes,
                };
                if let Some(reason) = view.license_required_reason() {
                    let rule = if mb.litigation_hold { "R8" } else { "R2" };
                    records.push((
                        rule,
                        format!(
                            "the shared mailbox lost its last Exchange license although {reason}"
                        ),
                    ));
                }
            }
            _ => {}
        }
        for (rule, what) in records {
            self.record_damage(now, user, rule, what);
        }
    }
}
