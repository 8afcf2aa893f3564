//! The plan of `licenses.remove`: which SKUs would come off (directly, or by leaving a
//! licensing group) and which stay and why (R2 Exchange license, group-based), from the
//! step's own observation in licenses_remove.rs.

use super::licenses_remove::{group_name, observe};
use super::subject::part_number;
use super::{StepContext, StepPlan};
use crate::tenant::Tenant;

/// Which SKUs would come off (direct, or by leaving a licensing group) and which stay, why.
pub async fn plan(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepPlan {
    let r = match observe(ctx, tenant, true).await {
        Ok(r) => r,
        Err((code, o)) => return StepPlan::stopped(code, o),
    };
    let upn = &r.user.user_principal_name;
    let mut p = StepPlan::default();
    if r.paths.is_empty() {
        return StepPlan::doing(format!("nothing: {upn} holds no license"));
    }
    if !r.direct_remove.is_empty() {
        let names: Vec<String> = r
            .direct_remove
            .iter()
            .map(|s| part_number(&r.skus, s))
            .collect();
        p.does(format!(
            "remove the direct licenses {} from {upn}",
            names.join(", ")
        ));
    }
    for g in &r.leave {
        let via: Vec<String> = r
            .removed
            .iter()
            .filter(|(_, pg)| pg.as_ref() == Some(g))
            .map(|(s, _)| part_number(&r.skus, s))
            .collect();
        p.does(format!(
            "remove {upn} from the licensing group '{}', which takes {} away (group-based licensing, R10 in docs/rules.md)",
            group_name(&r.groups, g),
            via.join(", ")
        ));
    }
    for (s, g) in r.paths.iter().filter(|path| !r.removed.contains(path)) {
        let via = match g {
            None => "directly".to_string(),
            Some(g) => format!("through the group '{}'", group_name(&r.groups, g)),
        };
        let why = match (&r.kept, &r.need) {
            (Some(k), Some(need)) if k.0 == *s => {
                format!("the shared mailbox still needs an Exchange license: {need}")
            }
            _ => "inherited from the group that carries the kept Exchange license".into(),
        };
        p.does(format!("keep {} ({via}): {why}", part_number(&r.skus, s)));
    }
    if r.mailbox.is_none() && r.kept.is_none() && p.does.is_empty() {
        p.does(format!("nothing to remove from {upn}"));
    }
    p
}
