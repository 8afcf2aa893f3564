//! The business state of the tenant as JSON, without timestamps, counters or request ids,
//! so two runs that should end in the same place can be compared with `==`.

use super::state::State;
use serde_json::{Value, json};

impl State {
    pub fn fingerprint(&self) -> Value {
        let users: Vec<Value> = self
            .users
            .values()
            .map(|u| {
                let mut paths: Vec<Value> = u
                    .group_paths
                    .iter()
                    .map(|p| json!({"sku": p.sku_id, "group": p.group, "error": p.error}))
                    .collect();
                paths.sort_by_key(|v| v.to_string());
                json!({
                    "id": u.id,
                    "upn": u.user_principal_name,
                    "enabled": u.account_enabled,
                    "usageLocation": u.usage_location,
                    "manager": u.manager,
                    "direct": u.direct_licenses,
                    "countViolations": u.count_violations,
                    "groupPaths": paths,
                    "sessionsRevoked": u.sign_in_sessions_valid_from.is_some(),
                    "deleted": u.deleted_date_time.is_some(),
                })
            })
            .collect();
        let skus: Vec<Value> = self
            .skus
            .values()
            .map(|s| {
                json!({"sku": s.sku_part_number, "consumed": self.consumed(s),
                       "prepaid": s.prepaid_units})
            })
            .collect();
        let groups: Vec<Value> = self
            .groups
            .values()
            .map(|g| json!({"id": g.group.id, "members": g.members}))
            .collect();
        let mailboxes: Vec<Value> = self
            .mailboxes
            .iter()
            .map(|(id, m)| {
                json!({
                    "user": id, "type": m.kind, "forwarding": m.forwarding_smtp_address,
                    "hidden": m.hidden, "fullAccess": m.full_access, "autoReply": m.auto_reply,
                    "deprovisioning": m.deprovisioning, "hold": m.litigation_hold,
                })
            })
            .collect();
        let drives: Vec<Value> = self
            .drives
            .values()
            .map(|d| {
                let mut perms: Vec<Value> = d
                    .permissions
                    .iter()
                    .map(|(item, p)| json!({"item": item, "to": p.granted_to, "roles": p.roles}))
                    .collect();
                perms.sort_by_key(|v| v.to_string());
                json!({"id": d.id, "owner": d.owner, "items": d.items.len(), "permissions": perms})
            })
            .collect();
        let subscriptions: Vec<Value> = self
            .subscriptions
            .values()
            .map(|s| {
                json!({
                    "id": s.id, "quantity": s.quantity, "status": s.status,
                    "autoRenew": s.auto_renew_enabled, "term": s.term_duration,
                    "billingCycle": s.billing_cycle, "scheduled": s.scheduled,
                })
            })
            .collect();
        let late: Vec<Value> = self
            .arrivals
            .iter()
            .map(|l| json!({"id": l.user.id, "upn": l.user.user_principal_name}))
            .collect();
        let damage: Vec<Value> = self
            .damage
            .iter()
            .map(|d| json!({"user": d.user, "rule": d.rule, "what": d.what}))
            .collect();
        json!({
            "users": users, "skus": skus, "groups": groups, "mailboxes": mailboxes,
            "drives": drives, "damage": damage, "pendingGroupLicenses": self.pending.len(),
            "subscriptions": subscriptions, "lateUsers": late,
        })
    }
}
