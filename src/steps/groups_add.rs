//! `groups.add`: adds the joiner to the requested groups (object ids). Already a member →
//! nothing to do. A group whose members cannot be changed through Graph (dynamic membership,
//! synced from AD, mail-enabled security group or distribution list) blocks the step before
//! anything changes, naming the group and what to do instead.

use super::subject::{base_output, resolve_user};
use super::{StepContext, StepOutcome, StepPlan, StepReport};
use crate::ids::GroupId;
use crate::tenant::{DirectoryObject, ErrorKind, Group, Tenant, User};
use serde_json::{Value, json};
use std::collections::BTreeSet;

pub const PARAMS: &[&str] = &["groups"];

async fn member_of(tenant: &dyn Tenant, user: &User) -> Result<BTreeSet<GroupId>, StepOutcome> {
    match tenant.member_of(&user.id).await {
        Ok(list) => Ok(list
            .into_iter()
            .filter_map(|o| match o {
                DirectoryObject::Group(g) => Some(g.id),
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

fn named(g: &Group) -> Value {
    json!({"id": g.id, "name": g.display_name})
}

/// The requested group ids, each once; `Err` says why the parameter is unusable.
fn requested(ctx: &StepContext<'_>) -> Result<Vec<GroupId>, String> {
    match ctx.param_list("groups") {
        Ok(list) => {
            let mut seen = BTreeSet::new();
            Ok(list
                .into_iter()
                .map(|g| GroupId::new(g.to_ascii_lowercase()))
                .filter(|g| seen.insert(g.clone()))
                .collect())
        }
        Err(reason) => Err(format!("groups.add for {}: {reason}", ctx.subject)),
    }
}

/// Reads a requested group; a missing one fails the step (code `unknown-group` for a plan).
async fn read_group(
    tenant: &dyn Tenant,
    id: &GroupId,
    source: &str,
    upn: &str,
) -> Result<Group, (&'static str, StepOutcome)> {
    match tenant.get_group(id).await {
        Ok(g) => Ok(g),
        Err(e) if e.kind == ErrorKind::NotFound => Err((
            "unknown-group",
            StepOutcome::failed(format!(
                "the group {id} ({source}) does not exist in the tenant, so {upn} was added to no group: \
             correct the group id and send the event again"
            )),
        )),
        Err(e) => Err((
            "cannot-read",
            StepOutcome::from_error(&format!("reading group {id} (for {upn})"), e),
        )),
    }
}

/// Why members of `g` cannot be changed through Graph, naming the group.
fn refusal(g: &Group) -> Option<String> {
    g.not_editable_reason()
        .map(|why| format!("'{}' ({}): {why}", g.display_name, g.id))
}

pub async fn run(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
    let ids = match requested(ctx) {
        Ok(ids) => ids,
        Err(why) => return StepOutcome::failed(why),
    };
    let source = ctx.source_of("groups", "groups");
    let user = match resolve_user(ctx, tenant).await {
        Ok(u) => u,
        Err(o) => return o,
    };
    let upn = user.user_principal_name.clone();
    let before = match member_of(tenant, &user).await {
        Ok(m) => m,
        Err(o) => return o,
    };
    let mut groups = Vec::new();
    for id in &ids {
        match read_group(tenant, id, &source, &upn).await {
            Ok(g) => groups.push(g),
            Err((_, o)) => return o,
        }
    }
    let (already, to_add): (Vec<&Group>, Vec<&Group>) =
        groups.iter().partition(|g| before.contains(&g.id));
    let refused: Vec<String> = to_add.iter().filter_map(|g| refusal(g)).collect();
    if !refused.is_empty() {
        return StepOutcome::blocked(format!(
            "{upn} cannot be added to {} through Graph: {}. Make the change there (or drop the group from \
             the event), then restart this step; no group was changed",
            if refused.len() == 1 {
                "a group"
            } else {
                "some groups"
            },
            refused.join("; ")
        ));
    }
    let mut changed = Vec::new();
    for g in &to_add {
        match tenant.add_group_member(&g.id, &user.id).await {
            Ok(()) => changed.push(format!("added {upn} to '{}'", g.display_name)),
            Err(e) if e.kind == ErrorKind::AlreadyMember => {}
            Err(e) => {
                return StepOutcome::from_error(
                    &format!("adding {upn} to the group '{}' ({})", g.display_name, g.id),
                    e,
                );
            }
        }
    }
    let after = match member_of(tenant, &user).await {
        Ok(m) => m,
        Err(o) => return o,
    };
    let absent: Vec<String> = groups
        .iter()
        .filter(|g| !after.contains(&g.id))
        .map(|g| format!("'{}'", g.display_name))
        .collect();
    if !absent.is_empty() {
        return StepOutcome::Retry {
            after: Some(std::time::Duration::from_secs(30)),
            reason: format!(
                "{upn} is not listed as a member of {} after being added (directory replication); checking again",
                absent.join(", ")
            ),
        };
    }
    let mut output = base_output(&user);
    output.insert(
        "added".into(),
        json!(to_add.iter().map(|g| named(g)).collect::<Vec<_>>()),
    );
    output.insert(
        "alreadyMember".into(),
        json!(already.iter().map(|g| named(g)).collect::<Vec<_>>()),
    );
    StepOutcome::Done(StepReport {
        observed: json!({"memberOf": before}),
        changed,
        verified: json!({"memberOf": after}),
        output: Value::Object(output),
        ..StepReport::default()
    })
}

/// The groups the user would join; an unknown group or one that cannot be edited through
/// Graph (dynamic, synced from AD, mail-enabled) is a blocker naming it.
pub async fn plan(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepPlan {
    let ids = match requested(ctx) {
        Ok(ids) => ids,
        Err(why) => return StepPlan::stopped("invalid-groups", StepOutcome::failed(why)),
    };
    let source = ctx.source_of("groups", "groups");
    // a joiner's account may not exist yet (user.await comes first): no memberships then
    let before = match resolve_user(ctx, tenant).await {
        Ok(user) => match member_of(tenant, &user).await {
            Ok(m) => m,
            Err(o) => return StepPlan::stopped("cannot-read", o),
        },
        Err(_) => BTreeSet::new(),
    };
    let mut p = StepPlan::default();
    for id in &ids {
        match read_group(tenant, id, &source, ctx.subject).await {
            Ok(g) if before.contains(&g.id) => {
                p.does(format!(
                    "nothing for '{}': {} is a member already",
                    g.display_name, ctx.subject
                ));
            }
            Ok(g) => match refusal(&g) {
                Some(why) => {
                    let code = if g.is_dynamic() {
                        "dynamic-group"
                    } else if g.on_premises_sync_enabled == Some(true) {
                        "synced-group"
                    } else {
                        "group-not-editable"
                    };
                    p.block(code, format!("{} cannot be added to {why}", ctx.subject));
                }
                None => {
                    p.does(format!("add {} to '{}'", ctx.subject, g.display_name));
                }
            },
            Err((code, o)) => {
                let stopped = StepPlan::stopped(code, o);
                p.blockers.extend(stopped.blockers);
            }
        }
    }
    if ids.is_empty() {
        p.does(format!("nothing: no group requested for {}", ctx.subject));
    }
    p
}
