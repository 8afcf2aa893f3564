//! `licenses.remove`: frees the leaver's licenses after the mailbox is shared (R3), keeping one
//! Exchange license when the shared mailbox still needs it (R2/R8), removing direct SKUs in one
//! call and leaving license-bearing groups (R10), then polling until group licensing caught up.

use super::subject::{base_output, is_exchange, mailbox_of, part_number, resolve_user, skus_by_id};
use super::{Snapshot, StepContext, StepOutcome, StepReport};
use crate::ids::{GroupId, SkuId};
use crate::tenant::{DirectoryObject, ErrorKind, Group, Mailbox, MailboxType, Sku, Tenant, User};
use crate::try_tenant;
use chrono::Duration as ChronoDuration;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

pub const PARAMS: &[&str] = &[];

const POLL_EVERY_SECS: i64 = 30;
const GIVE_UP_AFTER_HOURS: i64 = 2;

/// One way the user holds a SKU: directly (`None`) or through a group.
pub(super) type Path = (SkuId, Option<GroupId>);

/// The Exchange license to keep: direct first, then one with a Plan 2-class mailbox plan,
/// then the smallest SKU (a standalone Exchange Online plan before a suite).
fn choose_kept(
    paths: &BTreeSet<Path>,
    user: &User,
    member_of: &BTreeSet<GroupId>,
    skus: &BTreeMap<SkuId, Sku>,
) -> Option<Path> {
    let direct = user.direct_skus();
    let enterprise = |s: &SkuId| {
        skus.get(s).is_some_and(|k| {
            k.service_plans
                .iter()
                .any(|p| p.service_plan_name == "EXCHANGE_S_ENTERPRISE")
        })
    };
    paths
        .iter()
        .filter(|(s, g)| {
            is_exchange(skus, s)
                && match g {
                    None => direct.contains(s),
                    Some(g) => member_of.contains(g) && user.holds_sku(s),
                }
        })
        // fewest plans = the standalone Exchange SKU rather than a whole suite seat
        .min_by_key(|(s, g)| {
            let plans = skus.get(s).map_or(usize::MAX, |k| k.service_plans.len());
            (g.is_some(), !enterprise(s), plans, s.clone())
        })
        .cloned()
}

pub(super) fn group_name(groups: &BTreeMap<GroupId, Group>, id: &GroupId) -> String {
    groups
        .get(id)
        .map(|g| g.display_name.clone())
        .unwrap_or_else(|| id.to_string())
}

/// What stops the step, with the plan's blocker code for it.
type Stop = (&'static str, StepOutcome);

fn reading(o: StepOutcome) -> Stop {
    ("cannot-read", o)
}

/// What the step reads and decides before changing anything.
pub(super) struct Removal {
    pub user: User,
    pub mailbox: Option<Mailbox>,
    pub skus: BTreeMap<SkuId, Sku>,
    /// Every path held now or at the snapshot.
    pub paths: BTreeSet<Path>,
    pub groups: BTreeMap<GroupId, Group>,
    /// Why the shared mailbox still needs an Exchange license (R2/R8).
    pub need: Option<String>,
    pub kept: Option<Path>,
    pub removed: Vec<Path>,
    pub direct_remove: Vec<SkuId>,
    pub leave: BTreeSet<GroupId>,
}

/// Observes and decides. `planning`: the mailbox is judged as `mailbox.convert` leaves it
/// (shared), since a plan runs before the conversion.
pub(super) async fn observe(
    ctx: &StepContext<'_>,
    tenant: &dyn Tenant,
    planning: bool,
) -> Result<Removal, Stop> {
    let user = resolve_user(ctx, tenant)
        .await
        .map_err(|o| ("user-not-found", o))?;
    let upn = user.user_principal_name.clone();
    let mailbox = mailbox_of(tenant, &user).await.map_err(reading)?;
    let skus = skus_by_id(tenant, &upn).await.map_err(reading)?;
    let holds_exchange = user
        .assigned_licenses
        .iter()
        .any(|l| is_exchange(&skus, &l.sku_id));
    if let Some(m) = mailbox.as_ref().filter(|_| !planning) {
        if m.recipient_type_details == MailboxType::UserMailbox && m.forwards() {
            return Err((
                "mailbox-forwards",
                StepOutcome::blocked(format!(
                    "the mailbox of {upn} forwards mail, which only works while the account is licensed (R5, see docs/rules.md): \
                 turn forwarding off or convert the mailbox to shared first, then restart this step"
                )),
            ));
        }
        if m.recipient_type_details == MailboxType::UserMailbox && holds_exchange {
            return Err((
                "mailbox-not-shared",
                StepOutcome::failed(format!(
                    "the mailbox of {upn} is not converted to shared; removing the license now would start \
                 deprovisioning it (R3, see docs/rules.md). Run mailbox.convert before licenses.remove"
                )),
            ));
        }
    }
    let member_of: BTreeSet<GroupId> = match tenant.member_of(&user.id).await {
        Ok(list) => list,
        Err(e) => {
            let doing = format!("reading the group memberships of {upn}");
            return Err(reading(StepOutcome::from_error(&doing, e)));
        }
    }
    .into_iter()
    .filter_map(|o| match o {
        DirectoryObject::Group(g) => Some(g.id),
        DirectoryObject::DirectoryRole { .. } => None,
    })
    .collect();

    // every path the user holds now or held at the snapshot (so a repeat still reports them)
    let mut paths: BTreeSet<Path> = user
        .license_assignment_states
        .iter()
        .map(|s| (s.sku_id.clone(), s.assigned_by_group.clone()))
        .collect();
    if let Some(snap) = Snapshot::from_outputs(ctx).filter(|s| s.user_id == user.id) {
        paths.extend(
            snap.license_states()
                .into_iter()
                .map(|s| (s.sku_id, s.assigned_by_group)),
        );
    }
    let mut groups: BTreeMap<GroupId, Group> = BTreeMap::new();
    for g in paths.iter().filter_map(|(_, g)| g.clone()) {
        if groups.contains_key(&g) {
            continue;
        }
        match tenant.get_group(&g).await {
            Ok(group) => {
                groups.insert(g, group);
            }
            Err(e) if e.kind == ErrorKind::NotFound => {}
            Err(e) => {
                let doing = format!("reading group {g} (licenses of {upn})");
                return Err(reading(StepOutcome::from_error(&doing, e)));
            }
        }
    }

    // R2/R8: which Exchange license the shared mailbox still needs
    let shared_by_then = |m: &&Mailbox| {
        m.recipient_type_details == MailboxType::SharedMailbox
            || (planning && m.recipient_type_details == MailboxType::UserMailbox)
    };
    let need = mailbox
        .as_ref()
        .filter(shared_by_then)
        .and_then(|m| m.license_required_reason());
    let kept = match &need {
        None => None,
        Some(reason) => match choose_kept(&paths, &user, &member_of, &skus) {
            Some(p) => Some(p),
            None => {
                return Err((
                    "no-exchange-license",
                    StepOutcome::blocked(format!(
                        "the shared mailbox of {upn} still needs an Exchange Online Plan 2 license because {reason}, \
                     but the user holds none: assign one, then restart this step"
                    )),
                ));
            }
        },
    };
    let kept_sku = kept.as_ref().map(|(s, _)| s.clone());
    let kept_group = kept.as_ref().and_then(|(_, g)| g.clone());
    let is_kept = |(s, g): &Path| {
        Some(s) == kept_sku.as_ref() || (g.is_some() && g.as_ref() == kept_group.as_ref())
    };
    let removed: Vec<Path> = paths.iter().filter(|p| !is_kept(p)).cloned().collect();

    // plan against the current state
    let direct_remove: Vec<SkuId> = user
        .direct_skus()
        .into_iter()
        .filter(|s| Some(s) != kept_sku.as_ref())
        .collect();
    let leave: BTreeSet<GroupId> = removed
        .iter()
        .filter_map(|(_, g)| g.clone())
        .filter(|g| member_of.contains(g) && Some(g) != kept_group.as_ref())
        .collect();
    for g in &leave {
        if let Some(why) = groups.get(g).and_then(Group::not_editable_reason) {
            return Err((
                "group-not-editable",
                StepOutcome::blocked(format!(
                    "{upn} gets licenses from group '{}' ({g}), which cannot be edited: {why} (R10, see docs/rules.md). \
                 Then restart this step",
                    group_name(&groups, g)
                )),
            ));
        }
    }
    Ok(Removal {
        user,
        mailbox,
        skus,
        paths,
        groups,
        need,
        kept,
        removed,
        direct_remove,
        leave,
    })
}

pub async fn run(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
    let Removal {
        user,
        mailbox,
        skus,
        paths,
        groups,
        need,
        kept,
        removed,
        direct_remove,
        leave,
    } = match observe(ctx, tenant, false).await {
        Ok(r) => r,
        Err((_, o)) => return o,
    };
    let upn = user.user_principal_name.clone();
    let kept_sku = kept.as_ref().map(|(s, _)| s.clone());
    let kept_group = kept.as_ref().and_then(|(_, g)| g.clone());
    let is_kept = |(s, g): &Path| {
        Some(s) == kept_sku.as_ref() || (g.is_some() && g.as_ref() == kept_group.as_ref())
    };

    // act
    let mut changed = Vec::new();
    if !direct_remove.is_empty() {
        let names: Vec<String> = direct_remove
            .iter()
            .map(|s| part_number(&skus, s))
            .collect();
        match tenant.assign_license(&user.id, &[], &direct_remove).await {
            Ok(()) => {}
            // Some were gone already (a repeat, or a retried call whose first response was
            // lost). For a SKU also held through a group the service then answers "inherited
            // from a group" instead of "no corresponding license": re-read, remove what is
            // still direct, once.
            Err(e)
                if matches!(
                    e.kind,
                    ErrorKind::NoCorrespondingLicense | ErrorKind::LicenseInheritedFromGroup
                ) =>
            {
                let again =
                    try_tenant!(tenant.get_user(user.id.as_str()).await, "re-reading {upn}");
                let left: Vec<SkuId> = again
                    .direct_skus()
                    .into_iter()
                    .filter(|s| direct_remove.contains(s))
                    .collect();
                if !left.is_empty() {
                    try_tenant!(
                        tenant.assign_license(&user.id, &[], &left).await,
                        "removing the licenses {} from {upn}",
                        names.join(", ")
                    );
                }
            }
            Err(e) => {
                return StepOutcome::from_error(
                    &format!("removing the licenses {} from {upn}", names.join(", ")),
                    e,
                );
            }
        }
        changed.push(format!(
            "removed the direct licenses {} from {upn}",
            names.join(", ")
        ));
    }
    for g in &leave {
        let name = group_name(&groups, g);
        match tenant.remove_group_member(g, &user.id).await {
            Ok(()) => changed.push(format!("removed {upn} from the licensing group '{name}'")),
            Err(e) if e.kind == ErrorKind::NotMember => {}
            Err(e) => {
                return StepOutcome::from_error(
                    &format!("removing {upn} from the licensing group '{name}' ({g})"),
                    e,
                );
            }
        }
    }

    // poll until group licensing has caught up
    let after = try_tenant!(
        tenant.get_user(user.id.as_str()).await,
        "re-reading the licenses of {upn}"
    );
    let kept_skus: BTreeSet<&SkuId> = paths
        .iter()
        .filter(|p| is_kept(p))
        .map(|(s, _)| s)
        .collect();
    let pending: BTreeSet<String> = removed
        .iter()
        .map(|(s, _)| s)
        .filter(|s| !kept_skus.contains(s) && after.holds_sku(s))
        .map(|s| part_number(&skus, s))
        .collect();
    if !pending.is_empty() {
        let list = pending.into_iter().collect::<Vec<_>>().join(", ");
        if ctx.now - ctx.step_started_at >= ChronoDuration::hours(GIVE_UP_AFTER_HOURS) {
            return StepOutcome::failed(format!(
                "{upn} still holds {list} {GIVE_UP_AFTER_HOURS} h after the removal: check the user's license \
                 assignment errors in the Entra admin center (group-based licensing), then restart this step"
            ));
        }
        return StepOutcome::WaitUntil {
            until: ctx.now + ChronoDuration::seconds(POLL_EVERY_SECS),
            reason: format!(
                "waiting for group-based licensing to remove {list} from {upn} (R10, see docs/rules.md)"
            ),
            changed,
            emit: Vec::new(),
            lines: Vec::new(),
        };
    }
    if let Some(s) = &kept_sku
        && !after.holds_sku(s)
    {
        return StepOutcome::failed(format!(
            "{upn} lost the license {} its shared mailbox needs (R2/R8, see docs/rules.md): assign it again at once",
            part_number(&skus, s)
        ));
    }

    let path_json = |(s, g): &Path| match g {
        None => json!({"skuId": s, "skuPartNumber": part_number(&skus, s), "via": "direct"}),
        Some(g) => json!({"skuId": s, "skuPartNumber": part_number(&skus, s), "via": "group",
            "groupId": g, "groupName": group_name(&groups, g)}),
    };
    let kept_json: Vec<Value> = paths
        .iter()
        .filter(|p| Some(*p) == kept.as_ref() || (p.1.is_some() && p.1 == kept_group))
        .map(|p| {
            let mut v = path_json(p);
            let why = if Some(p) == kept.as_ref() {
                format!(
                    "the shared mailbox still needs an Exchange license: {}",
                    need.clone().unwrap_or_default()
                )
            } else {
                "inherited from the group that carries the kept Exchange license".to_string()
            };
            v["reason"] = json!(why);
            v
        })
        .collect();
    let mut output = base_output(&user);
    output.insert(
        "removed".into(),
        Value::Array(removed.iter().map(path_json).collect()),
    );
    output.insert("kept".into(), Value::Array(kept_json));
    let left: BTreeSet<&GroupId> = removed
        .iter()
        .filter_map(|(_, g)| g.as_ref())
        .filter(|g| Some(*g) != kept_group.as_ref())
        .collect();
    output.insert(
        "leftGroups".into(),
        json!(
            left.iter()
                .map(|g| json!({"id": g, "name": group_name(&groups, g)}))
                .collect::<Vec<_>>()
        ),
    );
    StepOutcome::Done(StepReport {
        observed: json!({"licenses": user.license_assignment_states, "mailbox": mailbox.map(|m| m.recipient_type_details)}),
        changed,
        verified: json!({"assignedLicenses": after.assigned_licenses}),
        output: Value::Object(output),
        ..StepReport::default()
    })
}
