//! `groups.add`: adds the joiner to the requested groups (object ids). Already a member →
//! nothing to do. A group whose members cannot be changed through Graph (dynamic membership,
//! synced from AD, mail-enabled security group or distribution list) blocks the step before
//! anything changes, naming the group and what to do instead.

use super::subject::{base_output, resolve_user};
use super::{StepContext, StepOutcome, StepReport};
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

pub async fn run(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
    let ids: Vec<GroupId> = match ctx.param_list("groups") {
        Ok(list) => {
            let mut seen = BTreeSet::new();
            list.into_iter()
                .map(|g| GroupId::new(g.to_ascii_lowercase()))
                .filter(|g| seen.insert(g.clone()))
                .collect()
        }
        Err(reason) => {
            return StepOutcome::failed(format!("groups.add for {}: {reason}", ctx.subject));
        }
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
        match tenant.get_group(id).await {
            Ok(g) => groups.push(g),
            Err(e) if e.kind == ErrorKind::NotFound => {
                return StepOutcome::failed(format!(
                    "the group {id} ({source}) does not exist in the tenant, so {upn} was added to no group: \
                     correct the group id and send the event again"
                ));
            }
            Err(e) => {
                return StepOutcome::from_error(&format!("reading group {id} (for {upn})"), e);
            }
        }
    }
    let (already, to_add): (Vec<&Group>, Vec<&Group>) =
        groups.iter().partition(|g| before.contains(&g.id));
    let refused: Vec<String> = to_add
        .iter()
        .filter_map(|g| {
            g.not_editable_reason()
                .map(|why| format!("'{}' ({}): {why}", g.display_name, g.id))
        })
        .collect();
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
