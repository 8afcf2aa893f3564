//! `mailbox.convert`: converts the mailbox to shared while it is still licensed (R3), gives
//! the manager FullAccess, sets the auto-reply and hides it from address lists (Exchange, R17).
//! The output records what the run added compared with the snapshot, so a restore undoes only that.

use super::plan::{gigabytes, size_text};
use super::subject::{
    base_output, mailbox_of, manager_upn, resolve_user, same_principal, skus_by_id,
};
use super::{Snapshot, StepContext, StepOutcome, StepPlan, StepReport};
use crate::tenant::{AutoReply, ErrorKind, Mailbox, MailboxPermission, MailboxType, Tenant, User};
use crate::try_tenant;
use serde_json::{Value, json};
use std::time::Duration;

pub const PARAMS: &[&str] = &[
    "manager",
    "auto_reply",
    "hide_from_address_lists",
    "grant_manager_full_access",
];

const REPLICATION_WAIT: Duration = Duration::from_secs(30);

/// Whether `who` holds an allowing FullAccess grant among `perms`.
pub(crate) fn has_full_access(perms: &[MailboxPermission], who: &str) -> bool {
    perms.iter().any(|p| {
        same_principal(&p.user, who) && !p.deny && p.access_rights.iter().any(|r| r == "FullAccess")
    })
}

fn desired_reply(message: &str) -> AutoReply {
    AutoReply {
        status: "alwaysEnabled".into(),
        external_audience: "all".into(),
        internal_reply_message: message.into(),
        external_reply_message: message.into(),
    }
}

/// Whether the mailbox still has to be converted (`false`: shared already). A user mailbox
/// without an Exchange license cannot be converted (R3); other kinds are left to a person.
async fn needs_conversion(
    tenant: &dyn Tenant,
    user: &User,
    mailbox: &Mailbox,
) -> Result<bool, StepOutcome> {
    let upn = &user.user_principal_name;
    match mailbox.recipient_type_details {
        MailboxType::SharedMailbox => Ok(false),
        MailboxType::UserMailbox => {
            let skus = skus_by_id(tenant, upn).await?;
            let licensed = user
                .assigned_licenses
                .iter()
                .any(|l| super::subject::is_exchange(&skus, &l.sku_id));
            if !licensed {
                return Err(StepOutcome::failed(format!(
                    "the mailbox of {upn} is no longer licensed with an Exchange plan, so it cannot be \
                     converted to shared and is being deprovisioned (R3, see docs/rules.md). Assign an Exchange license \
                     again, then restart this step"
                )));
            }
            Ok(true)
        }
        other => Err(StepOutcome::failed(format!(
            "the mailbox of {upn} is a {other:?}, not a user mailbox: convert it by hand if that is intended"
        ))),
    }
}

pub async fn run(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
    let user = match resolve_user(ctx, tenant).await {
        Ok(u) => u,
        Err(o) => return o,
    };
    let upn = user.user_principal_name.clone();
    let mut output = base_output(&user);
    let mailbox = match mailbox_of(tenant, &user).await {
        Ok(Some(m)) => m,
        Ok(None) => {
            output.insert("mailbox".into(), Value::Null);
            return StepOutcome::Done(StepReport {
                observed: json!({"mailbox": null}),
                changed: Vec::new(),
                verified: json!({"note": format!("{upn} has no mailbox to convert")}),
                output: Value::Object(output),
                ..StepReport::default()
            });
        }
        Err(o) => return o,
    };
    let baseline = Snapshot::from_outputs(ctx).and_then(|s| s.mailbox);
    let mut changed = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    // 1. convert (R3: only while licensed)
    match needs_conversion(tenant, &user, &mailbox).await {
        Err(o) => return o,
        Ok(false) => {}
        Ok(true) => {
            try_tenant!(
                tenant
                    .set_mailbox_type(&user.id, MailboxType::SharedMailbox)
                    .await,
                "converting the mailbox of {upn} to shared"
            );
            changed.push(format!(
                "converted the mailbox of {upn} to a shared mailbox"
            ));
        }
    }

    // 2. FullAccess for the manager
    let mut manager = None;
    if ctx.param_bool("grant_manager_full_access", true) {
        manager = match manager_upn(ctx, tenant, &user).await {
            Ok(m) => m,
            Err(o) => return o,
        };
        match &manager {
            None => notes.push(format!(
                "{upn} has no manager: nobody was given FullAccess to the mailbox"
            )),
            Some(m) => {
                let perms = try_tenant!(
                    tenant.get_mailbox_permissions(&user.id).await,
                    "reading the mailbox permissions of {upn}"
                );
                if !has_full_access(&perms, m) {
                    try_tenant!(
                        tenant.add_mailbox_full_access(&user.id, m).await,
                        "giving {m} FullAccess to the mailbox of {upn}"
                    );
                    changed.push(format!("gave {m} FullAccess to the mailbox of {upn}"));
                }
            }
        }
    }

    // 3. auto-reply
    let desired = ctx.param_str("auto_reply").map(desired_reply);
    let mut previous_reply = None;
    if let Some(want) = &desired {
        let current = try_tenant!(
            tenant.get_auto_reply(&user.id).await,
            "reading the automatic replies of {upn}"
        );
        if &current != want {
            try_tenant!(
                tenant.set_auto_reply(&user.id, want).await,
                "setting the automatic reply of {upn}"
            );
            changed.push(format!("set the automatic reply of {upn}"));
        }
        previous_reply = Some(current);
    }

    // 4. hide from address lists
    let hide = ctx.param_bool("hide_from_address_lists", true);
    let mut hidden_mastered_on_prem = false;
    if hide && !mailbox.hidden_from_address_lists_enabled {
        match tenant.set_hidden_from_address_lists(&user.id, true).await {
            Ok(()) => changed.push(format!("hid {upn} from the address lists")),
            Err(e) if e.kind == ErrorKind::OnPremisesMastered => {
                hidden_mastered_on_prem = true;
                notes.push(format!(
                    "hiding {upn} from the address lists is mastered in on-premises AD \
                     (msExchHideFromAddressLists): set it there"
                ));
            }
            Err(e) => {
                return StepOutcome::from_error(&format!("hiding {upn} from the address lists"), e);
            }
        }
    }

    // verify
    let after = match mailbox_of(tenant, &user).await {
        Ok(Some(m)) => m,
        Ok(None) => {
            return StepOutcome::failed(format!(
                "the mailbox of {upn} disappeared while converting it: check it in the Exchange admin center"
            ));
        }
        Err(o) => return o,
    };
    if after.recipient_type_details != MailboxType::SharedMailbox {
        return StepOutcome::Retry {
            after: Some(REPLICATION_WAIT),
            reason: format!("the mailbox of {upn} does not report SharedMailbox yet (replication)"),
        };
    }
    if let Some(m) = &manager {
        let perms = try_tenant!(
            tenant.get_mailbox_permissions(&user.id).await,
            "re-reading the mailbox permissions of {upn}"
        );
        if !has_full_access(&perms, m) {
            return StepOutcome::Retry {
                after: Some(REPLICATION_WAIT),
                reason: format!("FullAccess of {m} on the mailbox of {upn} is not visible yet"),
            };
        }
    }
    if hide && !hidden_mastered_on_prem && !after.hidden_from_address_lists_enabled {
        return StepOutcome::Retry {
            after: Some(REPLICATION_WAIT),
            reason: format!("{upn} is not reported hidden from the address lists yet"),
        };
    }

    // what the run added, relative to the snapshot when there is one
    let (was_shared, was_hidden, manager_had_access, reply_before) = match &baseline {
        Some(b) => (
            b.mailbox.recipient_type_details == MailboxType::SharedMailbox,
            b.mailbox.hidden_from_address_lists_enabled,
            manager
                .as_deref()
                .is_some_and(|m| has_full_access(&b.full_access, m)),
            b.auto_reply.clone().or(previous_reply),
        ),
        None => (
            mailbox.recipient_type_details == MailboxType::SharedMailbox,
            mailbox.hidden_from_address_lists_enabled,
            manager.is_some() && !changed.iter().any(|c| c.contains("FullAccess")),
            previous_reply,
        ),
    };
    let reply_set = desired.is_some() && reply_before.as_ref() != desired.as_ref();
    output.insert("mailbox".into(), json!(after.primary_smtp_address));
    output.insert("convertedToShared".into(), json!(!was_shared));
    output.insert(
        "managerGranted".into(),
        json!(manager.clone().filter(|_| !manager_had_access)),
    );
    output.insert("autoReplySet".into(), json!(reply_set));
    if reply_set {
        output.insert("previousAutoReply".into(), json!(reply_before));
        // what this run set, so a restore leaves a reply someone changed since alone
        output.insert("autoReply".into(), json!(desired));
    }
    output.insert(
        "hidden".into(),
        json!(after.hidden_from_address_lists_enabled && !was_hidden),
    );
    output.insert("notes".into(), json!(notes));
    StepOutcome::Done(StepReport {
        observed: json!({"mailbox": mailbox, "baselineFromSnapshot": baseline.is_some()}),
        changed,
        verified: json!({"recipientTypeDetails": after.recipient_type_details,
            "managerFullAccess": manager, "hidden": after.hidden_from_address_lists_enabled}),
        output: Value::Object(output),
        ..StepReport::default()
    })
}

/// The mailbox as it is, what would change, and what a person should know (R2: the
/// Exchange license stays; no manager: nobody gets FullAccess).
pub async fn plan(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepPlan {
    let user = match resolve_user(ctx, tenant).await {
        Ok(u) => u,
        Err(o) => return StepPlan::stopped("user-not-found", o),
    };
    let upn = user.user_principal_name.clone();
    let mailbox = match mailbox_of(tenant, &user).await {
        Ok(Some(m)) => m,
        Ok(None) => return StepPlan::doing(format!("nothing: {upn} has no mailbox to convert")),
        Err(o) => return StepPlan::stopped("cannot-read", o),
    };
    let size = gigabytes(mailbox.total_item_size_bytes);
    let mut p = StepPlan::default();
    match needs_conversion(tenant, &user, &mailbox).await {
        Ok(true) => p.does(format!(
            "convert the {} user mailbox of {upn} to a shared mailbox while it is licensed (R3, see docs/rules.md)",
            size_text(mailbox.total_item_size_bytes)
        )),
        Ok(false) => p.does(format!(
            "nothing to convert: the mailbox of {upn} is shared already"
        )),
        Err(o) => return StepPlan::stopped("mailbox-not-convertible", o),
    };
    if let Some(reason) = mailbox.license_required_reason() {
        p.warn(format!(
            "mailbox {size:.0} GB: the Exchange license stays ({reason})"
        ));
    }
    if ctx.param_bool("grant_manager_full_access", true) {
        match manager_upn(ctx, tenant, &user).await {
            Ok(Some(m)) => {
                let perms = match tenant.get_mailbox_permissions(&user.id).await {
                    Ok(perms) => perms,
                    Err(e) => {
                        let doing = format!("reading the mailbox permissions of {upn}");
                        return StepPlan::stopped(
                            "cannot-read",
                            StepOutcome::from_error(&doing, e),
                        );
                    }
                };
                if !has_full_access(&perms, &m) {
                    p.does(format!("give {m} FullAccess to the mailbox of {upn}"));
                }
            }
            Ok(None) => {
                p.warn(format!(
                    "no manager: nobody gets FullAccess to the mailbox of {upn}"
                ));
            }
            Err(o) => return StepPlan::stopped("cannot-read", o),
        }
    }
    if let Some(text) = ctx.param_str("auto_reply") {
        p.does(format!("set the automatic reply of {upn} to \"{text}\""));
    }
    if ctx.param_bool("hide_from_address_lists", true) && !mailbox.hidden_from_address_lists_enabled
    {
        p.does(format!("hide {upn} from the address lists"));
        if user.is_synced() {
            p.warn(format!(
                "{upn} is synced from on-premises AD: hiding it from the address lists may have to be set there (msExchHideFromAddressLists)"
            ));
        }
    }
    p
}
