//! `licenses.swap`: a mover's plan change from one SKU to another without a moment
//! unlicensed. Direct licensing: after a seat check for `to` (R13), ONE assignLicense call
//! adds `to` and removes `from` (R11), keeping the disabled plans of `from` that `to` also
//! has. Group-based licensing (`to_group`): add the user to `to_group` first, wait until group
//! licensing shows `to` active (a `CountViolation` waits in the seat line, then asks for
//! reprocessing), only then leave `from_group` and wait until `from` is gone (R10).
//! Idempotent: on `to` and not on `from` → done.

use super::seats;
use super::subject::{base_output, resolve_user};
use super::{StepContext, StepOutcome, StepReport, sku_ref};
use crate::ids::{GroupId, SkuId};
use crate::tenant::{
    AssignedLicense, DirectoryObject, ErrorKind, Group, LicenseAssignmentState, Sku, Tenant, User,
};
use crate::try_tenant;
use chrono::Duration;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

pub const PARAMS: &[&str] = &["from", "to", "from_group", "to_group"];

/// How often to look whether group licensing has processed a change.
const PROCESSING_POLL_SECS: i64 = 30;

/// What the event asks for, resolved against the tenant.
pub(super) struct Swap {
    pub from: Sku,
    pub to: Sku,
    pub from_group: Option<Group>,
    pub to_group: Option<Group>,
}

async fn group_param(
    ctx: &StepContext<'_>,
    tenant: &dyn Tenant,
    param: &str,
    field: &str,
    carries: &Sku,
    upn: &str,
) -> Result<Option<Group>, StepOutcome> {
    let Some(raw) = ctx.param_str(param) else {
        return Ok(None);
    };
    let id = GroupId::new(raw.to_ascii_lowercase());
    let source = ctx.source_of(param, field);
    let g = match tenant.get_group(&id).await {
        Ok(g) => g,
        Err(e) if e.kind == ErrorKind::NotFound => {
            return Err(StepOutcome::failed(format!(
                "the group {raw} ({source}) does not exist in the tenant; nothing was changed for {upn}: \
                 correct the event and send it again"
            )));
        }
        Err(e) => {
            return Err(StepOutcome::from_error(
                &format!("reading group {raw} (for {upn})"),
                e,
            ));
        }
    };
    if !g
        .assigned_licenses
        .iter()
        .any(|l| l.sku_id == carries.sku_id)
    {
        return Err(StepOutcome::failed(format!(
            "the group '{}' ({source}) does not assign {}, so it cannot carry this swap for {upn}; \
             nothing was changed: correct the event and send it again",
            g.display_name, carries.sku_part_number
        )));
    }
    Ok(Some(g))
}

pub(super) async fn resolve(
    ctx: &StepContext<'_>,
    tenant: &dyn Tenant,
    upn: &str,
) -> Result<Swap, StepOutcome> {
    let need = |param: &str, field: &str| {
        ctx.param_str(param).map(str::to_string).ok_or_else(|| {
            format!(
                "licenses.swap for {upn} needs the parameter `{param}` (event field data.{field}): \
                 send the event with both `from` and `to`"
            )
        })
    };
    let from_ref = need("from", "from").map_err(StepOutcome::failed)?;
    let to_ref = need("to", "to").map_err(StepOutcome::failed)?;
    let skus = match tenant.list_skus().await {
        Ok(s) => s,
        Err(e) => {
            return Err(StepOutcome::from_error(
                &format!("listing the tenant's licenses (for {upn})"),
                e,
            ));
        }
    };
    let find = |r: &str, param: &str, field: &str| {
        sku_ref::find(&skus, r).cloned().ok_or_else(|| {
            format!(
                "the license `{r}` ({}) is not a SKU of this tenant; its SKUs are: {}. Nothing was changed \
                 for {upn}",
                ctx.source_of(param, field),
                sku_ref::tenant_list(&skus)
            )
        })
    };
    let from = find(&from_ref, "from", "from").map_err(StepOutcome::failed)?;
    let to = find(&to_ref, "to", "to").map_err(StepOutcome::failed)?;
    if from.sku_id == to.sku_id {
        return Err(StepOutcome::failed(format!(
            "licenses.swap for {upn}: `from` and `to` are the same license ({}); nothing to swap",
            from.sku_part_number
        )));
    }
    let from_group = group_param(ctx, tenant, "from_group", "fromGroup", &from, upn).await?;
    let to_group = group_param(ctx, tenant, "to_group", "toGroup", &to, upn).await?;
    Ok(Swap {
        from,
        to,
        from_group,
        to_group,
    })
}

fn state_via<'a>(
    user: &'a User,
    sku: &SkuId,
    group: &GroupId,
) -> Option<&'a LicenseAssignmentState> {
    user.license_assignment_states
        .iter()
        .find(|s| &s.sku_id == sku && s.assigned_by_group.as_ref() == Some(group))
}

fn holds_directly(user: &User, sku: &SkuId) -> bool {
    user.direct_skus().contains(sku)
}

/// The plans disabled on the user's `from`, split into those `to` also has (kept disabled)
/// and those it lacks (dropped).
fn carried_plans(user: &User, swap: &Swap) -> (Vec<String>, Vec<String>) {
    let disabled: Vec<String> = user
        .license_assignment_states
        .iter()
        .filter(|s| s.sku_id == swap.from.sku_id)
        .min_by_key(|s| s.assigned_by_group.is_some())
        .map(|s| s.disabled_plans.clone())
        .unwrap_or_default();
    let to_plans: BTreeSet<String> = swap
        .to
        .service_plans
        .iter()
        .map(|p| p.service_plan_id.to_ascii_lowercase())
        .collect();
    disabled
        .into_iter()
        .partition(|p| to_plans.contains(&p.to_ascii_lowercase()))
}

async fn groups_of(
    tenant: &dyn Tenant,
    user: &User,
) -> Result<BTreeMap<GroupId, Group>, StepOutcome> {
    match tenant.member_of(&user.id).await {
        Ok(list) => Ok(list
            .into_iter()
            .filter_map(|o| match o {
                DirectoryObject::Group(g) => Some((g.id.clone(), g)),
                DirectoryObject::DirectoryRole { .. } => None,
            })
            .collect()),
        Err(e) => Err(StepOutcome::from_error(
            &format!(
                "reading the group memberships of {}",
                user.user_principal_name
            ),
            e,
        )),
    }
}

fn processing(
    ctx: &StepContext<'_>,
    reason: String,
    changed: Vec<String>,
    lines: Vec<String>,
) -> StepOutcome {
    StepOutcome::WaitUntil {
        until: ctx.now + Duration::seconds(PROCESSING_POLL_SECS),
        reason,
        changed,
        emit: Vec::new(),
        lines,
    }
}

fn neither(upn: &str, swap: &Swap) -> StepOutcome {
    StepOutcome::failed(format!(
        "{upn} holds neither {} (from) nor {} (to), so there is nothing to swap: check the event's `from`, \
         or assign {} with a joiner event",
        swap.from.sku_part_number, swap.to.sku_part_number, swap.to.sku_part_number
    ))
}

pub async fn run(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
    let user = match resolve_user(ctx, tenant).await {
        Ok(u) => u,
        Err(o) => return o,
    };
    let upn = user.user_principal_name.clone();
    let swap = match resolve(ctx, tenant, &upn).await {
        Ok(s) => s,
        Err(o) => return o,
    };
    let (from, to) = (&swap.from.sku_id, &swap.to.sku_id);
    let (from_name, to_name) = (&swap.from.sku_part_number, &swap.to.sku_part_number);
    let observed = json!({"licenses": user.license_assignment_states});
    let member = match groups_of(tenant, &user).await {
        Ok(m) => m,
        Err(o) => return o,
    };
    // `from` through a group the event did not name could never go: refuse before changing.
    let unnamed = user
        .group_skus()
        .into_iter()
        .filter(|(s, g)| s == from && swap.from_group.as_ref().is_none_or(|fg| &fg.id != g))
        .find(|(s, g)| state_via(&user, s, g).is_some_and(|st| st.state == "Active"));
    if let Some((_, g)) = unnamed {
        let name = member
            .get(&g)
            .map(|x| x.display_name.clone())
            .unwrap_or_else(|| g.to_string());
        return StepOutcome::blocked(format!(
            "{upn} gets {from_name} through the group '{name}' ({g}), which the event did not name as \
             fromGroup, so it could not be taken away after the swap: send the mover event with fromGroup \
             (and toGroup for group-based licensing), or remove {upn} from that group, then restart this step. \
             Nothing was changed"
        ));
    }
    let mut changed = Vec::new();
    let mut carried: Option<(Vec<String>, Vec<String>)> = None;

    // 1. Make sure `to` is active before anything of `from` goes.
    if !user.holds_sku(to) {
        match &swap.to_group {
            Some(tg) => {
                let line = vec![seats::line(&swap.to)];
                if !member.contains_key(&tg.id) {
                    if !user.holds_sku(from) {
                        return neither(&upn, &swap);
                    }
                    let s = match seats::seats(ctx, &swap.to) {
                        Ok(s) => s,
                        Err(reason) => return seats::retry(reason),
                    };
                    if !s.assignable() {
                        return seats::wait_for(ctx, &[s], &[], &upn, changed);
                    }
                    if let Some(why) = tg.not_editable_reason() {
                        return StepOutcome::blocked(format!(
                            "{upn} cannot be added to the licensing group '{}' ({}): {why} (R10, see docs/rules.md). {from_name} \
                             stays until then; restart this step after the change",
                            tg.display_name, tg.id
                        ));
                    }
                    match tenant.add_group_member(&tg.id, &user.id).await {
                        Ok(()) => changed.push(format!(
                            "added {upn} to the licensing group '{}' for {to_name}",
                            tg.display_name
                        )),
                        Err(e) if e.kind == ErrorKind::AlreadyMember => {}
                        Err(e) => {
                            return StepOutcome::from_error(
                                &format!(
                                    "adding {upn} to the licensing group '{}'",
                                    tg.display_name
                                ),
                                e,
                            );
                        }
                    }
                    // Keep this run's place in the seat line until the seat is really taken.
                    return processing(
                        ctx,
                        format!(
                            "waiting for group licensing to assign {to_name} to {upn} through '{}' (R10, see docs/rules.md); \
                             {from_name} stays until then",
                            tg.display_name
                        ),
                        changed,
                        line,
                    );
                }
                match state_via(&user, to, &tg.id) {
                    Some(st) if st.error.as_deref() == Some("CountViolation") => {
                        let s = match seats::seats(ctx, &swap.to) {
                            Ok(s) => s,
                            Err(reason) => return seats::retry(reason),
                        };
                        if !s.assignable() {
                            return seats::wait_for(ctx, &[s], &[], &upn, changed);
                        }
                        try_tenant!(
                            tenant.reprocess_license_assignment(&user.id).await,
                            "asking group licensing to process {upn} again"
                        );
                        changed.push(format!(
                            "asked group licensing to process {upn} again ({to_name} had no free seat, one is free now)"
                        ));
                        return processing(
                            ctx,
                            format!(
                                "waiting for group licensing to assign {to_name} to {upn} after reprocessing"
                            ),
                            changed,
                            line,
                        );
                    }
                    Some(st)
                        if st.state != "Active"
                            && st.error.as_deref().is_some_and(|e| e != "None") =>
                    {
                        return StepOutcome::failed(format!(
                            "group licensing could not assign {to_name} to {upn} through '{}': state {}, error {} \
                             ({from_name} is still assigned). Resolve the license error of the user in the Entra \
                             admin center, then restart this step",
                            tg.display_name,
                            st.state,
                            st.error.as_deref().unwrap_or("unknown")
                        ));
                    }
                    _ => {
                        return processing(
                            ctx,
                            format!(
                                "waiting for group licensing to assign {to_name} to {upn} through '{}' (R10, see docs/rules.md)",
                                tg.display_name
                            ),
                            changed,
                            line,
                        );
                    }
                }
            }
            None => {
                if !user.holds_sku(from) {
                    return neither(&upn, &swap);
                }
                let s = match seats::seats(ctx, &swap.to) {
                    Ok(s) => s,
                    Err(reason) => return seats::retry(reason),
                };
                if !s.assignable() {
                    return seats::wait_for(ctx, &[s], &[], &upn, changed);
                }
                let (keep, drop) = carried_plans(&user, &swap);
                let add = [AssignedLicense {
                    sku_id: to.clone(),
                    disabled_plans: keep.clone(),
                }];
                let remove: Vec<SkuId> = if holds_directly(&user, from) {
                    vec![from.clone()]
                } else {
                    Vec::new()
                };
                match tenant.assign_license(&user.id, &add, &remove).await {
                    Ok(()) => {
                        changed.push(if remove.is_empty() {
                            format!("assigned {to_name} to {upn} ({from_name} comes from a group)")
                        } else {
                            format!("swapped {from_name} for {to_name} for {upn} in one call (R11, see docs/rules.md)")
                        });
                        carried = Some((keep, drop));
                    }
                    Err(e) if e.kind == ErrorKind::NoFreeSeats => {
                        return match seats::refresh(
                            ctx,
                            tenant,
                            std::slice::from_ref(&swap.to),
                            &upn,
                        )
                        .await
                        {
                            Ok(fresh) => seats::wait_for(ctx, &fresh, &[], &upn, changed),
                            Err(o) => o,
                        };
                    }
                    // The first response was lost and the call retried, or `from` went
                    // meanwhile: what counts is the state now.
                    Err(e)
                        if matches!(
                            e.kind,
                            ErrorKind::NoCorrespondingLicense
                                | ErrorKind::LicenseInheritedFromGroup
                        ) => {}
                    Err(e) if e.kind == ErrorKind::InvalidUsageLocation => {
                        return StepOutcome::failed(format!(
                            "the tenant refused to assign {to_name} to {upn} because of its usage location (R12, see docs/rules.md): \
                             set it, then restart this step; {from_name} is still assigned. ({e})"
                        ));
                    }
                    Err(e) => {
                        return StepOutcome::from_error(
                            &format!("swapping {from_name} for {to_name} for {upn}"),
                            e,
                        );
                    }
                }
            }
        }
    }

    // 2. `to` is active: remove every path of `from` (direct, and `from_group`).
    let user = try_tenant!(
        tenant.get_user(user.id.as_str()).await,
        "re-reading the licenses of {upn}"
    );
    if !user.holds_sku(to) {
        if changed.is_empty() {
            return neither(&upn, &swap);
        }
        return StepOutcome::Retry {
            after: Some(std::time::Duration::from_secs(30)),
            reason: format!(
                "{upn} does not show {to_name} yet after the assignment; checking again"
            ),
        };
    }
    let from_group = swap.from_group.as_ref();
    let leave = from_group.filter(|fg| member.contains_key(&fg.id));
    if let Some(fg) = leave
        && let Some(why) = fg.not_editable_reason()
    {
        return StepOutcome::blocked(format!(
            "{upn} now holds {to_name}, but cannot be removed from '{}' ({}) to give up {from_name}: {why} (R10, see docs/rules.md). \
             Then restart this step",
            fg.display_name, fg.id
        ));
    }
    if holds_directly(&user, from) {
        match tenant
            .assign_license(&user.id, &[], std::slice::from_ref(from))
            .await
        {
            Ok(()) => changed.push(format!("removed the direct license {from_name} from {upn}")),
            Err(e) if e.kind == ErrorKind::NoCorrespondingLicense => {}
            Err(e) => {
                return StepOutcome::from_error(&format!("removing {from_name} from {upn}"), e);
            }
        }
    }
    if let Some(fg) = leave {
        match tenant.remove_group_member(&fg.id, &user.id).await {
            Ok(()) => changed.push(format!(
                "removed {upn} from the licensing group '{}' ({to_name} is active)",
                fg.display_name
            )),
            Err(e) if e.kind == ErrorKind::NotMember => {}
            Err(e) => {
                return StepOutcome::from_error(
                    &format!(
                        "removing {upn} from the licensing group '{}'",
                        fg.display_name
                    ),
                    e,
                );
            }
        }
    }

    // 3. Verify: `to` active, `from` gone (group licensing removes it asynchronously).
    let after = try_tenant!(
        tenant.get_user(user.id.as_str()).await,
        "re-reading the licenses of {upn}"
    );
    if !after.holds_sku(to) {
        return StepOutcome::failed(format!(
            "{upn} lost {to_name} while {from_name} was being removed: check the user's licenses in the Entra \
             admin center at once, then restart this step"
        ));
    }
    if after.holds_sku(from) {
        return processing(
            ctx,
            format!(
                "waiting for group licensing to remove {from_name} from {upn} (R10, see docs/rules.md); {to_name} is active"
            ),
            changed,
            Vec::new(),
        );
    }
    let (kept, dropped) = carried.unwrap_or_else(|| {
        let kept = after
            .license_assignment_states
            .iter()
            .find(|s| &s.sku_id == to && s.assigned_by_group.is_none())
            .map(|s| s.disabled_plans.clone())
            .unwrap_or_default();
        (kept, Vec::new())
    });
    let mut output = base_output(&after);
    output.insert(
        "from".into(),
        json!({"skuId": from, "skuPartNumber": from_name}),
    );
    output.insert("to".into(), json!({"skuId": to, "skuPartNumber": to_name}));
    output.insert(
        "via".into(),
        json!(if swap.to_group.is_some() {
            "group"
        } else {
            "direct"
        }),
    );
    output.insert(
        "disabledPlansKept".into(),
        json!(sku_ref::plan_names(&swap.to, &kept)),
    );
    output.insert(
        "disabledPlansDropped".into(),
        json!(sku_ref::plan_names(&swap.from, &dropped)),
    );
    StepOutcome::Done(StepReport {
        observed,
        changed,
        verified: json!({"licenses": after.license_assignment_states}),
        output: Value::Object(output),
        ..StepReport::default()
    })
}
