//! Group-based licensing changes (`POST /groups/{id}/assignLicense`, docs/microsoft-365-api.md
//! §4.6): the group's licenses change at once; its members' license paths follow after the usual
//! group-licensing delay (R10: asynchronous). Not part of the `Tenant` trait (no step assigns
//! group licenses); sim-graph serves it.

use super::errors;
use super::state::{PendingLicense, State};
use crate::ids::{GroupId, SkuId};
use crate::tenant::{AssignedLicense, Group, TenantError, TenantResult};
use chrono::{DateTime, Duration, Utc};

impl State {
    /// Adds (or replaces the disabled plans of) `add` and drops `remove` on the group, then
    /// queues every member for reprocessing. Unknown SKUs are `InvalidLicense`; removing a
    /// SKU the group does not have is a no-op.
    pub fn assign_group_license(
        &mut self,
        group: &GroupId,
        add: &[AssignedLicense],
        remove: &[SkuId],
        now: DateTime<Utc>,
    ) -> TenantResult<Group> {
        if !self.groups.contains_key(group) {
            return Err(TenantError::not_found(group.as_str()));
        }
        for sku in add.iter().map(|a| &a.sku_id).chain(remove.iter()) {
            if !self.skus.contains_key(sku) {
                return Err(errors::invalid_license(sku.as_str()));
            }
        }
        let delay = i64::try_from(self.group_licensing_delay_seconds).unwrap_or(i64::MAX / 2000);
        let g = self
            .groups
            .get_mut(group)
            .ok_or_else(|| TenantError::not_found(group.as_str()))?;
        let licenses = &mut g.group.assigned_licenses;
        licenses
            .retain(|l| !remove.contains(&l.sku_id) && !add.iter().any(|a| a.sku_id == l.sku_id));
        licenses.extend(add.iter().cloned());
        let members: Vec<_> = g.members.iter().cloned().collect();
        let out = g.group.clone();
        for user in members {
            self.pending.push(PendingLicense {
                user,
                group: group.clone(),
                due: now + Duration::seconds(delay),
            });
        }
        if delay == 0 {
            self.settle_group_licenses(now);
        }
        Ok(out)
    }
}
