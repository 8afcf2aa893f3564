//! Shared helpers of the leaver steps: resolve the subject user, the manager, the
//! Exchange-carrying SKUs, and the common `{"userId","upn"}` output. No tenant writes here.

use super::{StepContext, StepOutcome};
use crate::ids::SkuId;
use crate::tenant::{Drive, ErrorKind, Mailbox, Sku, Tenant, TenantError, User};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// How to find the user: the `userId` an earlier step recorded, else the event subject.
pub(crate) fn lookup_key<'a>(ctx: &'a StepContext<'_>) -> &'a str {
    ctx.find_output("userId")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(ctx.subject)
}

/// Reads the subject user; a missing user is a permanent failure naming the subject.
pub(crate) async fn resolve_user(
    ctx: &StepContext<'_>,
    tenant: &dyn Tenant,
) -> Result<User, StepOutcome> {
    let key = lookup_key(ctx);
    match tenant.get_user(key).await {
        Ok(u) => Ok(u),
        Err(e) if e.kind == ErrorKind::NotFound => Err(StepOutcome::failed(format!(
            "user {} (looked up as {key}) does not exist in the tenant: check the event subject, \
             or whether someone deleted the account already",
            ctx.subject
        ))),
        Err(e) => Err(StepOutcome::from_error(
            &format!("reading user {}", ctx.subject),
            e,
        )),
    }
}

/// The user's mailbox, `None` when the user has none.
pub(crate) async fn mailbox_of(
    tenant: &dyn Tenant,
    user: &User,
) -> Result<Option<Mailbox>, StepOutcome> {
    match tenant.get_mailbox(&user.id).await {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind == ErrorKind::MailboxNotEnabled => Ok(None),
        Err(e) => Err(StepOutcome::from_error(
            &format!("reading the mailbox of {}", user.user_principal_name),
            e,
        )),
    }
}

/// The user's OneDrive, `None` when it was never provisioned.
pub(crate) async fn drive_of(
    tenant: &dyn Tenant,
    user: &User,
) -> Result<Option<Drive>, StepOutcome> {
    match tenant.get_drive(&user.id).await {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.kind == ErrorKind::DriveNotFound => Ok(None),
        Err(e) => Err(StepOutcome::from_error(
            &format!("reading the OneDrive of {}", user.user_principal_name),
            e,
        )),
    }
}

/// The manager's UPN: the `manager` parameter when given, else the tenant's manager.
pub(crate) async fn manager_upn(
    ctx: &StepContext<'_>,
    tenant: &dyn Tenant,
    user: &User,
) -> Result<Option<String>, StepOutcome> {
    if let Some(m) = ctx.param_str("manager") {
        return Ok(Some(m.to_string()));
    }
    match tenant.get_manager(&user.id).await {
        Ok(m) => Ok(m.map(|m| m.user_principal_name)),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StepOutcome::from_error(
            &format!("reading the manager of {}", user.user_principal_name),
            e,
        )),
    }
}

/// The tenant's SKUs by id.
pub(crate) async fn skus_by_id(
    tenant: &dyn Tenant,
    upn: &str,
) -> Result<BTreeMap<SkuId, Sku>, StepOutcome> {
    match tenant.list_skus().await {
        Ok(list) => Ok(list.into_iter().map(|s| (s.sku_id.clone(), s)).collect()),
        Err(e) => Err(StepOutcome::from_error(
            &format!("listing the tenant's licenses (for {upn})"),
            e,
        )),
    }
}

/// Whether the SKU carries an Exchange Online mailbox plan (unknown SKUs do not).
pub(crate) fn is_exchange(skus: &BTreeMap<SkuId, Sku>, sku: &SkuId) -> bool {
    skus.get(sku).is_some_and(Sku::has_exchange)
}

/// A SKU's part number for reports, or its id when the tenant does not list it.
pub(crate) fn part_number(skus: &BTreeMap<SkuId, Sku>, sku: &SkuId) -> String {
    skus.get(sku)
        .map(|s| s.sku_part_number.clone())
        .unwrap_or_else(|| sku.to_string())
}

/// `{"userId", "upn"}`, the start of every step's output.
pub(crate) fn base_output(user: &User) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("userId".into(), json!(user.id));
    m.insert("upn".into(), json!(user.user_principal_name));
    m
}

/// Whether a tenant error means "that object is not there".
pub(crate) fn is_not_found(e: &TenantError) -> bool {
    e.kind == ErrorKind::NotFound
}

/// Case-insensitive UPN / e-mail comparison.
pub(crate) fn same_principal(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}
