//! `mailbox.revert`: undoes the leaver's `mailbox.convert` (Exchange, R17): converts the
//! shared mailbox back to a regular one (it needs an Exchange license, so `licenses.restore`
//! runs first, R3), removes the FullAccess the leaver gave, puts the previous automatic reply
//! back and shows the mailbox in the address lists again. Grants, replies and settings the
//! leaver did not make are left alone.

use super::leaver_trace::{self, Leaver, LeaverRun, Stop, Trace, other_account};
use super::mailbox_convert::has_full_access;
use super::subject::{base_output, is_exchange, mailbox_of, skus_by_id};
use super::{StepContext, StepOutcome, StepPlan, StepReport};
use crate::tenant::{AutoReply, ErrorKind, MailboxType, Tenant, User};
use crate::try_tenant;
use serde_json::{Value, json};
use std::time::Duration;

pub const PARAMS: &[&str] = &[];

const REPLICATION_WAIT: Duration = Duration::from_secs(30);

/// What to put back.
#[derive(Default)]
struct Plan {
    to_regular: bool,
    /// The trustee whose FullAccess the leaver added.
    revoke: Option<String>,
    /// The reply to put back, and the reply the leaver set (when known): a reply that is
    /// neither was changed by someone since and stays.
    reply: Option<(AutoReply, Option<AutoReply>)>,
    unhide: bool,
}

impl Plan {
    fn is_empty(&self) -> bool {
        !self.to_regular && self.revoke.is_none() && self.reply.is_none() && !self.unhide
    }
}

fn field<T: serde::de::DeserializeOwned>(out: &Value, k: &str) -> Option<T> {
    out.get(k)
        .filter(|v| !v.is_null())
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}

/// From the leaver step's output, which records what it changed.
fn plan_from_output(out: &Value) -> Plan {
    let flag = |k: &str| out.get(k).and_then(Value::as_bool) == Some(true);
    Plan {
        to_regular: flag("convertedToShared"),
        revoke: field(out, "managerGranted"),
        reply: flag("autoReplySet").then(|| {
            (
                field(out, "previousAutoReply").unwrap_or_else(AutoReply::disabled),
                field(out, "autoReply"),
            )
        }),
        unhide: flag("hidden"),
    }
}

/// From the snapshot, for a leaver step that started but did not succeed: what differs now
/// among the settings that step touches is put back.
fn plan_from_snapshot(l: &LeaverRun, upn: &str) -> Result<Plan, Stop> {
    let snap = l.snapshot_for("mailbox.convert", upn)?;
    let Some(mb) = &snap.mailbox else {
        return Ok(Plan::default());
    };
    Ok(Plan {
        to_regular: mb.mailbox.recipient_type_details == MailboxType::UserMailbox,
        revoke: snap
            .manager
            .as_ref()
            .map(|m| m.upn.clone())
            .filter(|m| !has_full_access(&mb.full_access, m)),
        reply: mb.auto_reply.clone().map(|r| (r, None)),
        unhide: !mb.mailbox.hidden_from_address_lists_enabled,
    })
}

fn done(
    user: &User,
    smtp: Option<&str>,
    plan: &Plan,
    changed: Vec<String>,
    notes: Vec<String>,
) -> StepOutcome {
    let mut o = base_output(user);
    o.insert("mailbox".into(), json!(smtp));
    o.insert("convertedToRegular".into(), json!(plan.to_regular));
    o.insert("fullAccessRemoved".into(), json!(plan.revoke));
    o.insert("autoReplyRestored".into(), json!(plan.reply.is_some()));
    o.insert("unhidden".into(), json!(plan.unhide));
    o.insert("notes".into(), json!(notes));
    StepOutcome::Done(StepReport {
        observed: json!({"mailbox": smtp}),
        changed,
        verified: json!({"mailbox": smtp}),
        output: Value::Object(o),
        ..StepReport::default()
    })
}

pub async fn run(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
    let (leaver, user) = match leaver_trace::leaver_and_user(ctx, tenant).await {
        Ok(found) => found,
        Err(o) => return o,
    };
    let upn = user.user_principal_name.clone();
    let l = match &leaver {
        Leaver::Found(l) => l,
        other => {
            let notes = other.nothing_to_undo().into_iter().collect();
            return done(&user, None, &Plan::default(), Vec::new(), notes);
        }
    };
    if !l.is_of(&user.id) {
        return other_account(l, &upn, &user.id);
    }
    let plan = match l.trace("mailbox.convert") {
        Trace::NotStarted => {
            let notes = vec![format!("{} did not change the mailbox", l.describe())];
            return done(&user, None, &Plan::default(), Vec::new(), notes);
        }
        Trace::Done(out) => plan_from_output(out),
        Trace::Partial { .. } => match plan_from_snapshot(l, &upn) {
            Ok(p) => p,
            Err(o) => return *o,
        },
    };
    let mailbox = match mailbox_of(tenant, &user).await {
        Ok(Some(m)) => m,
        Ok(None) if plan.is_empty() => {
            return done(&user, None, &plan, Vec::new(), Vec::new());
        }
        Ok(None) => {
            return StepOutcome::blocked(format!(
                "Exchange shows no mailbox for {upn}, so the leaver's mailbox changes cannot be undone: \
                 it has no license with an Exchange Online plan, or the mailbox was lost. Assign such a \
                 license (or recover the mailbox), then restart this step"
            ));
        }
        Err(o) => return o,
    };
    let mut changed = Vec::new();
    let mut notes: Vec<String> = l.partial_note("mailbox.convert").into_iter().collect();

    // 1. back to a regular mailbox: only with an Exchange license (R3)
    if plan.to_regular && mailbox.recipient_type_details == MailboxType::SharedMailbox {
        let skus = match skus_by_id(tenant, &upn).await {
            Ok(s) => s,
            Err(o) => return o,
        };
        if !user
            .assigned_licenses
            .iter()
            .any(|l| is_exchange(&skus, &l.sku_id))
        {
            return StepOutcome::blocked(format!(
                "the mailbox of {upn} is shared and the account holds no license with an Exchange Online \
                 plan; a regular mailbox needs one (R3, see docs/rules.md). Run licenses.restore before mailbox.revert or \
                 assign such a license, then restart this step"
            ));
        }
        try_tenant!(
            tenant
                .set_mailbox_type(&user.id, MailboxType::UserMailbox)
                .await,
            "converting the mailbox of {upn} back to a regular mailbox"
        );
        changed.push(format!(
            "converted the mailbox of {upn} back to a regular mailbox"
        ));
    }

    // 2. the FullAccess the leaver gave
    if let Some(t) = &plan.revoke {
        let perms = try_tenant!(
            tenant.get_mailbox_permissions(&user.id).await,
            "reading the mailbox permissions of {upn}"
        );
        if has_full_access(&perms, t) {
            try_tenant!(
                tenant.remove_mailbox_full_access(&user.id, t).await,
                "removing the FullAccess of {t} to the mailbox of {upn}"
            );
            changed.push(format!(
                "removed the FullAccess of {t} to the mailbox of {upn}"
            ));
        }
    }

    // 3. the automatic reply
    if let Some((want, set_by_leaver)) = &plan.reply {
        let current = try_tenant!(
            tenant.get_auto_reply(&user.id).await,
            "reading the automatic replies of {upn}"
        );
        let ours = set_by_leaver.as_ref().is_none_or(|s| s == &current);
        if &current != want && ours {
            try_tenant!(
                tenant.set_auto_reply(&user.id, want).await,
                "putting the previous automatic reply of {upn} back"
            );
            changed.push(format!(
                "put the automatic reply of {upn} back as it was ({})",
                want.status
            ));
        } else if &current != want {
            notes.push(format!(
                "the automatic reply of {upn} was changed since the leaver set it: left as it is"
            ));
        }
    }

    // 4. the address lists
    let mut unhide_on_prem = false;
    if plan.unhide && mailbox.hidden_from_address_lists_enabled {
        match tenant.set_hidden_from_address_lists(&user.id, false).await {
            Ok(()) => changed.push(format!("showed {upn} in the address lists again")),
            Err(e) if e.kind == ErrorKind::OnPremisesMastered => {
                unhide_on_prem = true;
                notes.push(format!(
                    "showing {upn} in the address lists is mastered in on-premises AD \
                     (msExchHideFromAddressLists): clear it there"
                ));
            }
            Err(e) => {
                return StepOutcome::from_error(
                    &format!("showing {upn} in the address lists again"),
                    e,
                );
            }
        }
    }

    // verify
    let after = match mailbox_of(tenant, &user).await {
        Ok(Some(m)) => m,
        Ok(None) => {
            return StepOutcome::failed(format!(
                "the mailbox of {upn} disappeared while converting it back: check it in the Exchange admin center"
            ));
        }
        Err(o) => return o,
    };
    let mut pending = Vec::new();
    if plan.to_regular && after.recipient_type_details == MailboxType::SharedMailbox {
        pending.push("does not report UserMailbox yet");
    }
    if plan.unhide && !unhide_on_prem && after.hidden_from_address_lists_enabled {
        pending.push("is still reported hidden from the address lists");
    }
    if let Some(t) = &plan.revoke {
        let perms = try_tenant!(
            tenant.get_mailbox_permissions(&user.id).await,
            "re-reading the mailbox permissions of {upn}"
        );
        if has_full_access(&perms, t) {
            pending.push("still lists the FullAccess the leaver gave");
        }
    }
    if !pending.is_empty() {
        return StepOutcome::Retry {
            after: Some(REPLICATION_WAIT),
            reason: format!(
                "the mailbox of {upn} {} (replication)",
                pending.join(" and ")
            ),
        };
    }
    done(
        &user,
        Some(&after.primary_smtp_address),
        &plan,
        changed,
        notes,
    )
}

/// What the leaver's `mailbox.convert` recorded it changed, and so what would be put back.
pub async fn plan(ctx: &StepContext<'_>, _tenant: &dyn Tenant) -> StepPlan {
    let l = match leaver_trace::leaver_for_plan(ctx) {
        Ok(l) => l,
        Err(p) => return p,
    };
    let out = match l.trace("mailbox.convert") {
        Trace::Done(out) => out,
        Trace::NotStarted => {
            return StepPlan::doing(format!(
                "nothing: {} did not convert the mailbox",
                l.describe()
            ));
        }
        Trace::Partial { status, .. } => {
            return StepPlan::doing(format!(
                "compare the mailbox with the snapshot and put back what differs ({} stopped in mailbox.convert, {status})",
                l.describe()
            ));
        }
    };
    let flag = |k: &str| out.get(k).and_then(serde_json::Value::as_bool) == Some(true);
    let mailbox = out
        .get("mailbox")
        .and_then(serde_json::Value::as_str)
        .unwrap_or(ctx.subject);
    let mut p = StepPlan::default();
    if flag("convertedToShared") {
        p.does(format!(
            "convert {mailbox} back to a user mailbox (after licenses.restore, R3 in docs/rules.md)"
        ));
    }
    if let Some(m) = out
        .get("managerGranted")
        .and_then(serde_json::Value::as_str)
    {
        p.does(format!("remove the FullAccess of {m} on {mailbox}"));
    }
    if flag("autoReplySet") {
        p.does(format!(
            "put the previous automatic reply of {mailbox} back"
        ));
    }
    if flag("hidden") {
        p.does(format!("show {mailbox} in the address lists again"));
    }
    if p.does.is_empty() {
        p.does(format!(
            "nothing: {} changed nothing on {mailbox}",
            l.describe()
        ));
    }
    p
}
