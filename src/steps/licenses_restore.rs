//! `licenses.restore`: undoes the leaver's `licenses.remove`. Gives back the direct licenses
//! it removed, with their disabled service plans, in one call after a seat check (R13; the
//! usage location first, R12), re-adds the licensing groups it left (R10) and waits until
//! group licensing has processed. What the leaver kept, or never removed, is left alone.

use super::leaver_trace::{self, Leaver, LeaverRun, Stop, Trace, other_account};
use super::restore_seats::{shortages, taken, wait_for_seats};
use super::subject::{base_output, part_number, skus_by_id};
use super::{Snapshot, StepContext, StepOutcome, StepReport};
use crate::ids::{GroupId, SkuId};
use crate::tenant::{AssignedLicense, DirectoryObject, ErrorKind, Group, Sku, Tenant, User};
use crate::try_tenant;
use chrono::Duration as ChronoDuration;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub const PARAMS: &[&str] = &[];

const POLL_EVERY_SECS: i64 = 30;
const GIVE_UP_AFTER_HOURS: i64 = 2;

/// What the user must hold again: direct licenses and licensing groups.
#[derive(Default)]
struct Plan {
    direct: Vec<AssignedLicense>,
    groups: BTreeSet<GroupId>,
    notes: Vec<String>,
}

fn snapshot_direct(s: &Snapshot, sku: &SkuId) -> Option<AssignedLicense> {
    s.licenses
        .iter()
        .find(|l| &l.sku_id == sku && l.assigned_by_group.is_none())
        .map(|l| AssignedLicense {
            sku_id: l.sku_id.clone(),
            disabled_plans: l.disabled_plans.clone(),
        })
}

/// The leaver's step succeeded: its output lists what it removed and the groups it left.
fn plan_from_output(out: &Value, s: &Snapshot) -> Plan {
    let mut plan = Plan::default();
    let entries = |k: &str| {
        out.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    for r in entries("removed") {
        if r.get("via").and_then(Value::as_str) != Some("direct") {
            continue;
        }
        let Some(sku) = r.get("skuId").and_then(Value::as_str).map(SkuId::new) else {
            continue;
        };
        match snapshot_direct(s, &sku) {
            Some(l) => plan.direct.push(l),
            None => plan.notes.push(format!(
                "{} was not a direct license at the snapshot: not given back",
                r.get("skuPartNumber")
                    .and_then(Value::as_str)
                    .unwrap_or(sku.as_str())
            )),
        }
    }
    plan.groups = entries("leftGroups")
        .iter()
        .filter_map(|g| g.get("id").and_then(Value::as_str))
        .map(GroupId::new)
        .collect();
    plan
}

/// The leaver's step started but did not succeed: every license path of the snapshot is
/// what it may have touched, so the user holds all of them again.
fn plan_from_snapshot(s: &Snapshot) -> Plan {
    Plan {
        direct: s
            .licenses
            .iter()
            .filter(|l| l.assigned_by_group.is_none())
            .map(|l| AssignedLicense {
                sku_id: l.sku_id.clone(),
                disabled_plans: l.disabled_plans.clone(),
            })
            .collect(),
        groups: s
            .licenses
            .iter()
            .filter_map(|l| l.assigned_by_group.clone())
            .collect(),
        notes: Vec::new(),
    }
}

fn output(
    user: &User,
    plan: &Plan,
    skus: &BTreeMap<SkuId, Sku>,
    groups: &BTreeMap<GroupId, Group>,
    notes: &[String],
) -> Value {
    let mut o = base_output(user);
    o.insert(
        "direct".into(),
        json!(
            plan.direct
                .iter()
                .map(|l| json!({"skuId": l.sku_id,
            "skuPartNumber": part_number(skus, &l.sku_id), "disabledPlans": l.disabled_plans}))
                .collect::<Vec<_>>()
        ),
    );
    o.insert(
        "groups".into(),
        json!(
            groups
                .values()
                .map(|g| json!({"id": g.id, "name": g.display_name}))
                .collect::<Vec<_>>()
        ),
    );
    o.insert("notes".into(), json!(notes));
    Value::Object(o)
}

fn nothing(user: &User, notes: Vec<String>) -> StepOutcome {
    let mut o = base_output(user);
    o.insert("direct".into(), json!([]));
    o.insert("groups".into(), json!([]));
    o.insert("notes".into(), json!(notes));
    StepOutcome::Done(StepReport {
        observed: json!({"licenses": user.license_assignment_states}),
        output: Value::Object(o),
        ..StepReport::default()
    })
}

/// Reads the groups to re-join; a deleted group is noted and dropped, one that cannot be
/// edited blocks (R10).
async fn read_groups(
    tenant: &dyn Tenant,
    plan: &mut Plan,
    upn: &str,
) -> Result<BTreeMap<GroupId, Group>, StepOutcome> {
    let mut out = BTreeMap::new();
    for g in std::mem::take(&mut plan.groups) {
        match tenant.get_group(&g).await {
            Ok(group) => {
                out.insert(g, group);
            }
            Err(e) if e.kind == ErrorKind::NotFound => plan.notes.push(format!(
                "the licensing group {g} no longer exists: {upn} was not added back to it"
            )),
            Err(e) => {
                return Err(StepOutcome::from_error(
                    &format!("reading group {g} (licenses of {upn})"),
                    e,
                ));
            }
        }
    }
    plan.groups = out.keys().cloned().collect();
    Ok(out)
}

fn plan_for(l: &LeaverRun, upn: &str) -> Result<Option<Plan>, Stop> {
    match l.trace("licenses.remove") {
        Trace::NotStarted => Ok(None),
        Trace::Done(out) => Ok(Some(plan_from_output(
            out,
            l.snapshot_for("licenses.remove", upn)?,
        ))),
        Trace::Partial { .. } => Ok(Some(plan_from_snapshot(
            l.snapshot_for("licenses.remove", upn)?,
        ))),
    }
}

pub async fn run(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
    let (leaver, user) = match leaver_trace::leaver_and_user(ctx, tenant).await {
        Ok(found) => found,
        Err(o) => return o,
    };
    let upn = user.user_principal_name.clone();
    let l = match &leaver {
        Leaver::Found(l) => l,
        other => return nothing(&user, other.nothing_to_undo().into_iter().collect()),
    };
    if !l.is_of(&user.id) {
        return other_account(l, &upn, &user.id);
    }
    let mut plan = match plan_for(l, &upn) {
        Ok(Some(p)) => p,
        Ok(None) => {
            return nothing(
                &user,
                vec![format!("{} did not remove licenses", l.describe())],
            );
        }
        Err(o) => return *o,
    };
    let snapshot = l.snapshot.as_ref();
    let skus = match skus_by_id(tenant, &upn).await {
        Ok(s) => s,
        Err(o) => return o,
    };
    let groups = match read_groups(tenant, &mut plan, &upn).await {
        Ok(g) => g,
        Err(o) => return o,
    };
    let member_of: BTreeSet<GroupId> = try_tenant!(
        tenant.member_of(&user.id).await,
        "reading the group memberships of {upn}"
    )
    .into_iter()
    .filter_map(|o| match o {
        DirectoryObject::Group(g) => Some(g.id),
        DirectoryObject::DirectoryRole { .. } => None,
    })
    .collect();

    // what is missing now
    let held_direct = user.direct_skus();
    let add: Vec<AssignedLicense> = plan
        .direct
        .iter()
        .filter(|l| !held_direct.contains(&l.sku_id))
        .cloned()
        .collect();
    let join: Vec<&Group> = groups
        .values()
        .filter(|g| !member_of.contains(&g.id))
        .collect();
    for g in &join {
        if let Some(why) = g.not_editable_reason() {
            return StepOutcome::blocked(format!(
                "{upn} got licenses from group '{}' ({}), which cannot be edited: {why} (R10, see docs/rules.md). \
                 Add {upn} back there, then restart this step",
                g.display_name, g.id
            ));
        }
    }
    let needed: BTreeSet<SkuId> = add
        .iter()
        .map(|l| l.sku_id.clone())
        .chain(
            join.iter()
                .flat_map(|g| g.assigned_licenses.iter().map(|l| l.sku_id.clone())),
        )
        .filter(|s| !user.holds_sku(s))
        .collect();
    match shortages(ctx, &skus, &needed) {
        Ok(short) if !short.is_empty() => {
            return wait_for_seats(ctx, &upn, &short, Vec::new());
        }
        Ok(_) => {}
        Err(o) => return *o,
    }

    // act: usage location (R12), direct licenses in one call, then groups
    let mut changed = Vec::new();
    if (!add.is_empty() || !join.is_empty()) && user.usage_location.is_none() {
        let Some(code) = snapshot.and_then(|s| s.usage_location.clone()) else {
            return StepOutcome::blocked(format!(
                "{upn} has no usage location, so no license can be assigned (R12, see docs/rules.md), and the snapshot \
                 has none either: set one, then restart this step"
            ));
        };
        try_tenant!(
            tenant.set_usage_location(&user.id, &code).await,
            "setting the usage location of {upn} to {code}"
        );
        changed.push(format!("set the usage location of {upn} back to {code}"));
    }
    if !add.is_empty() {
        let names: Vec<String> = add.iter().map(|l| part_number(&skus, &l.sku_id)).collect();
        match tenant.assign_license(&user.id, &add, &[]).await {
            Ok(()) => {}
            Err(e) if e.kind == ErrorKind::NoFreeSeats && !needed.is_empty() => {
                // taken meanwhile: wait in line like any other shortage
                let short = taken(&skus, &needed);
                return wait_for_seats(ctx, &upn, &short, changed);
            }
            Err(e) if e.kind == ErrorKind::InvalidUsageLocation => {
                return StepOutcome::blocked(format!(
                    "the usage location of {upn} is not valid, so {} cannot be assigned (R12, see docs/rules.md): set a valid \
                     ISO 3166-1 alpha-2 code, then restart this step",
                    names.join(", ")
                ));
            }
            Err(e) if e.kind == ErrorKind::InvalidLicense => {
                return StepOutcome::failed(format!(
                    "the tenant no longer subscribes to one of {} ({e}), so it cannot be given back to {upn}: \
                     buy it again or assign another license by hand, then restart this run from its next step",
                    names.join(", ")
                ));
            }
            Err(e) => {
                return StepOutcome::from_error(
                    &format!("giving the licenses {} back to {upn}", names.join(", ")),
                    e,
                );
            }
        }
        changed.push(format!(
            "gave the direct licenses {} back to {upn}",
            names.join(", ")
        ));
    }
    for g in &join {
        match tenant.add_group_member(&g.id, &user.id).await {
            Ok(()) => changed.push(format!(
                "added {upn} back to the licensing group '{}'",
                g.display_name
            )),
            Err(e) if e.kind == ErrorKind::AlreadyMember => {}
            Err(e) => {
                return StepOutcome::from_error(
                    &format!(
                        "adding {upn} back to the licensing group '{}' ({})",
                        g.display_name, g.id
                    ),
                    e,
                );
            }
        }
    }

    // verify; group licensing is asynchronous (R10)
    let after = try_tenant!(
        tenant.get_user(user.id.as_str()).await,
        "re-reading the licenses of {upn}"
    );
    let direct_missing: Vec<String> = plan
        .direct
        .iter()
        .filter(|l| !after.direct_skus().contains(&l.sku_id))
        .map(|l| part_number(&skus, &l.sku_id))
        .collect();
    if !direct_missing.is_empty() {
        return StepOutcome::Retry {
            after: Some(Duration::from_secs(30)),
            reason: format!(
                "{upn} does not show the direct licenses {} yet (replication)",
                direct_missing.join(", ")
            ),
        };
    }
    // Processed means the group's own path shows on the user: a SKU the user also holds
    // directly is no sign that group licensing has got to the membership yet.
    let paths = after.group_skus();
    let group_missing: BTreeSet<String> = groups
        .values()
        .flat_map(|g| {
            g.assigned_licenses
                .iter()
                .map(|l| (l.sku_id.clone(), &g.id))
        })
        .filter(|(s, g)| !after.holds_sku(s) || !paths.iter().any(|(ps, pg)| ps == s && &pg == g))
        .map(|(s, _)| part_number(&skus, &s))
        .collect();
    if !group_missing.is_empty() {
        let list = group_missing.into_iter().collect::<Vec<_>>().join(", ");
        if ctx.now - ctx.step_started_at >= ChronoDuration::hours(GIVE_UP_AFTER_HOURS) {
            return StepOutcome::failed(format!(
                "{upn} is back in its licensing groups but still lacks {list} {GIVE_UP_AFTER_HOURS} h later: \
                 check the user's license assignment errors in the Entra admin center (group-based \
                 licensing), then restart this step"
            ));
        }
        return StepOutcome::WaitUntil {
            until: ctx.now + ChronoDuration::seconds(POLL_EVERY_SECS),
            reason: format!(
                "waiting for group-based licensing to give {list} back to {upn} (R10, see docs/rules.md)"
            ),
            changed,
            emit: Vec::new(),
            lines: Vec::new(),
        };
    }
    let mut notes = plan.notes.clone();
    notes.extend(l.partial_note("licenses.remove"));
    StepOutcome::Done(StepReport {
        observed: json!({"licenses": user.license_assignment_states, "mode": match l.trace("licenses.remove") {
            Trace::Done(_) => "leaver output",
            _ => "snapshot",
        }}),
        changed,
        verified: json!({"assignedLicenses": after.assigned_licenses}),
        output: output(&user, &plan, &skus, &groups, &notes),
        ..StepReport::default()
    })
}
