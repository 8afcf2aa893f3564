//! `shared.licenses`: removes the Exchange licenses that shared mailboxes do not need (R2):
//! at most 50 GB, no in-place archive, no litigation hold (R8). A mailbox that forwards
//! (R5) or whose account can still sign in keeps its license too. Direct licenses go in one
//! assignLicense call per account; a license inherited from a group is reported, not
//! removed (only the group's membership can change it, R10). Other SKUs are left alone.

use super::subject::{is_exchange, is_not_found, part_number, skus_by_id};
use super::{StepContext, StepOutcome, StepReport};
use crate::ids::SkuId;
use crate::tenant::{ErrorKind, Mailbox, MailboxType, Tenant, User};
use crate::try_tenant;
use serde_json::{Value, json};

pub const PARAMS: &[&str] = &[];

/// Why this shared mailbox's account must keep its Exchange license, if it must.
fn keep_reason(m: &Mailbox, user: &User) -> Option<String> {
    if let Some(r) = m.license_required_reason() {
        return Some(r);
    }
    if m.forwards() {
        return Some(
            "the mailbox forwards mail, which only works while it is licensed (R5, see docs/rules.md)".into(),
        );
    }
    if user.account_enabled {
        return Some(
            "the account can sign in: a shared mailbox signed into directly needs its license; disable sign-in first"
                .into(),
        );
    }
    None
}

pub async fn run(_ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
    let skus = match skus_by_id(tenant, "the shared mailboxes").await {
        Ok(s) => s,
        Err(o) => return o,
    };
    let mut mailboxes = try_tenant!(
        tenant.list_mailboxes(MailboxType::SharedMailbox).await,
        "listing the shared mailboxes (Get-Mailbox -RecipientTypeDetails SharedMailbox)"
    );
    mailboxes.sort_by(|a, b| a.primary_smtp_address.cmp(&b.primary_smtp_address));
    let (mut removed, mut kept, mut inherited) = (Vec::new(), Vec::new(), Vec::new());
    let mut unlicensed = 0usize;
    let mut changed = Vec::new();
    for m in &mailboxes {
        let user = match tenant.get_user(m.user_id.as_str()).await {
            Ok(u) => u,
            Err(e) if is_not_found(&e) => continue, // deleted since the listing
            Err(e) => {
                return StepOutcome::from_error(
                    &format!(
                        "reading the account of the shared mailbox {}",
                        m.primary_smtp_address
                    ),
                    e,
                );
            }
        };
        let upn = user.user_principal_name.clone();
        let direct: Vec<SkuId> = user
            .direct_skus()
            .into_iter()
            .filter(|s| is_exchange(&skus, s))
            .collect();
        let by_group: Vec<_> = user
            .group_skus()
            .into_iter()
            .filter(|(s, _)| is_exchange(&skus, s))
            .collect();
        if direct.is_empty() && by_group.is_empty() {
            unlicensed += 1;
            continue;
        }
        let names = |list: &[SkuId]| {
            list.iter()
                .map(|s| part_number(&skus, s))
                .collect::<Vec<_>>()
        };
        if let Some(why) = keep_reason(m, &user) {
            let mut all = direct.clone();
            all.extend(by_group.iter().map(|(s, _)| s.clone()));
            kept.push(
                json!({"userId": user.id, "upn": upn, "licenses": names(&all), "reason": why}),
            );
            continue;
        }
        for (s, g) in &by_group {
            inherited.push(json!({"userId": user.id, "upn": upn, "sku": part_number(&skus, s),
                "groupId": g, "reason": "inherited from a group: remove the account from the group to free the seat (R10, see docs/rules.md)"}));
        }
        if direct.is_empty() {
            continue;
        }
        match tenant.assign_license(&user.id, &[], &direct).await {
            Ok(()) => {}
            // gone already (a repeat, or a lost response retried)
            Err(e)
                if matches!(
                    e.kind,
                    ErrorKind::NoCorrespondingLicense | ErrorKind::LicenseInheritedFromGroup
                ) => {}
            Err(e) => {
                return StepOutcome::from_error(
                    &format!(
                        "removing {} from the shared mailbox {upn}",
                        names(&direct).join(", ")
                    ),
                    e,
                );
            }
        }
        let after = try_tenant!(
            tenant.get_user(user.id.as_str()).await,
            "re-reading the licenses of {upn}"
        );
        let left: Vec<SkuId> = after
            .direct_skus()
            .into_iter()
            .filter(|s| direct.contains(s))
            .collect();
        if !left.is_empty() {
            return StepOutcome::Retry {
                after: None,
                reason: format!(
                    "{upn} still holds {} directly after their removal",
                    names(&left).join(", ")
                ),
            };
        }
        changed.push(format!(
            "removed {} from the shared mailbox {upn} ({} GB, no archive, no hold: R2 in docs/rules.md)",
            names(&direct).join(", "),
            gb(m)
        ));
        removed.push(
            json!({"userId": user.id, "upn": upn, "licenses": names(&direct),
            "sizeGb": gb(m)}),
        );
    }
    StepOutcome::Done(StepReport {
        observed: json!({"sharedMailboxes": mailboxes.len(), "unlicensed": unlicensed}),
        changed,
        verified: json!({"removed": removed.len()}),
        output: json!({
            "sharedMailboxes": mailboxes.len(),
            "removed": removed,
            "kept": kept,
            "inherited": inherited,
            "unlicensed": unlicensed,
        }),
        ..StepReport::default()
    })
}

fn gb(m: &Mailbox) -> Value {
    json!((m.total_item_size_bytes as f64 / 1e8).round() / 10.0)
}
