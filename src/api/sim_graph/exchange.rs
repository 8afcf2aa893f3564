//! Exchange Online admin API, `POST /adminapi/beta/{tenant}/InvokeCommand`
//! (docs/microsoft-365-api.md §5.4–5.5): Get-Mailbox (one, or a `-RecipientTypeDetails` listing
//! paged with `@odata.nextLink` — POST the same body to it — sized by `Prefer: odata.maxpagesize`),
//! Get-MailboxStatistics, Set-Mailbox (`-Type`, `-HiddenFromAddressListsEnabled`,
//! `-ForwardingSmtpAddress`, `-DeliverToMailboxAndForward`), Get-/Add-/Remove-
//! MailboxPermission (FullAccess). Errors carry `details[0].message` =
//! `ErrorId|ExceptionType|text`; a missing object is 404.

use super::call::{Call, json};
use super::errors::{ApiError, Service, exchange_body};
use super::odata;
use crate::ids::UserId;
use crate::tenant::{Mailbox, MailboxType, Tenant, TenantError};
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

struct Cmd<'a> {
    c: &'a Call,
    name: String,
    params: Map<String, Value>,
}

impl Cmd<'_> {
    fn param(&self, name: &str) -> Option<&Value> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    fn text(&self, name: &str) -> Option<String> {
        match self.param(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    fn identity(&self) -> Result<UserId, ApiError> {
        self.text("Identity")
            .map(|i| UserId::new(i.trim().to_string()))
            .ok_or_else(|| self.binding("Identity"))
    }

    fn err(&self, e: TenantError) -> ApiError {
        ApiError::tenant(Service::Exchange, e, &self.c.rid)
    }

    fn binding(&self, p: &str) -> ApiError {
        exchange_body(
            StatusCode::BAD_REQUEST,
            &format!(
                "Ex1BB5A1|System.Management.Automation.ParameterBindingException|Cannot process command because of one or more missing mandatory parameters: {p}."
            ),
        )
    }

    fn unknown_params(&self, allowed: &[&str]) -> Result<(), ApiError> {
        for k in self.params.keys() {
            if !allowed.iter().any(|a| a.eq_ignore_ascii_case(k)) && !k.contains("@odata") {
                return Err(exchange_body(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "Ex2B3A4C|System.Management.Automation.ParameterBindingException|A parameter cannot be found that matches parameter name '{k}' (the simulated {} supports: {}).",
                        self.name,
                        allowed.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn guid_for(seed: &str) -> String {
    let d = Sha256::digest(seed.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(b).to_string()
}

fn alias(upn: &str) -> String {
    upn.split('@').next().unwrap_or(upn).to_string()
}

fn kind_name(k: MailboxType) -> &'static str {
    match k {
        MailboxType::UserMailbox => "UserMailbox",
        MailboxType::SharedMailbox => "SharedMailbox",
        MailboxType::RoomMailbox => "RoomMailbox",
        MailboxType::EquipmentMailbox => "EquipmentMailbox",
    }
}

fn mailbox_json(c: &Call, m: &Mailbox) -> Value {
    let upn =
        c.st.tenant
            .user(m.user_id.as_str())
            .map_or_else(|| m.primary_smtp_address.clone(), |u| u.user_principal_name);
    json!({
        "Identity": alias(&upn),
        "Alias": alias(&upn),
        "Name": alias(&upn),
        "Guid": guid_for(&format!("mailbox|{}", m.user_id)),
        "ExternalDirectoryObjectId": m.user_id,
        "UserPrincipalName": upn,
        "PrimarySmtpAddress": m.primary_smtp_address,
        "RecipientTypeDetails": kind_name(m.recipient_type_details),
        "ForwardingSmtpAddress": m.forwarding_smtp_address,
        "ForwardingAddress": m.forwarding_address,
        "DeliverToMailboxAndForward": m.deliver_to_mailbox_and_forward,
        "HiddenFromAddressListsEnabled": m.hidden_from_address_lists_enabled,
        "LitigationHoldEnabled": m.litigation_hold_enabled,
        "ArchiveStatus": if m.archive_active { "Active" } else { "None" },
    })
}

/// `TotalItemSize` as Exchange prints a ByteQuantifiedSize: `3.5 GB (3,758,096,384 bytes)`.
pub fn byte_quantified(bytes: u64) -> String {
    let digits = bytes.to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let units = [
        ("TB", 1u64 << 40),
        ("GB", 1 << 30),
        ("MB", 1 << 20),
        ("KB", 1 << 10),
    ];
    let short = units.iter().find(|(_, size)| bytes >= *size).map_or_else(
        || format!("{bytes} B"),
        |(u, size)| {
            let v = bytes as f64 / *size as f64;
            format!(
                "{} {u}",
                format!("{v:.3}")
                    .trim_end_matches('0')
                    .trim_end_matches('.')
            )
        },
    );
    format!("{short} ({grouped} bytes)")
}

fn parse_kind(v: &str) -> Option<MailboxType> {
    match v.trim().to_ascii_lowercase().as_str() {
        "usermailbox" | "regular" => Some(MailboxType::UserMailbox),
        "sharedmailbox" | "shared" => Some(MailboxType::SharedMailbox),
        "roommailbox" | "room" => Some(MailboxType::RoomMailbox),
        "equipmentmailbox" | "equipment" => Some(MailboxType::EquipmentMailbox),
        _ => None,
    }
}

fn bool_param(cmd: &Cmd<'_>, name: &str) -> Result<Option<bool>, ApiError> {
    match cmd.param(name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(other) => Err(exchange_body(
            StatusCode::BAD_REQUEST,
            &format!(
                "Ex7C1A02|System.Management.Automation.ParameterBindingException|Cannot convert value '{other}' of parameter '{name}' to System.Boolean."
            ),
        )),
    }
}

pub async fn invoke(
    c: Call,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !c.st.opts.is_tenant(&tenant) {
        return Err(exchange_body(
            StatusCode::NOT_FOUND,
            &format!(
                "Ex0F0404|Microsoft.Exchange.Configuration.Tasks.TenantNotFoundException|The tenant '{tenant}' was not found."
            ),
        ));
    }
    let envelope: Value = serde_json::from_slice(&body).map_err(|e| {
        exchange_body(
            StatusCode::BAD_REQUEST,
            &format!("Ex0BAD00|System.ArgumentException|The request body is not valid JSON: {e}"),
        )
    })?;
    let input = &envelope["CmdletInput"];
    let Some(name) = input["CmdletName"].as_str() else {
        return Err(exchange_body(
            StatusCode::BAD_REQUEST,
            "Ex0BAD01|System.ArgumentException|The request body needs CmdletInput.CmdletName.",
        ));
    };
    let params = input["Parameters"].as_object().cloned().unwrap_or_default();
    let cmd = Cmd {
        c: &c,
        name: name.to_string(),
        params,
    };
    let (value, warnings) = match name.to_ascii_lowercase().as_str() {
        "get-mailbox" => return get_mailbox(&cmd).await,
        "get-mailboxstatistics" => (get_statistics(&cmd).await?, Vec::new()),
        "set-mailbox" => (Vec::new(), set_mailbox(&cmd).await?),
        "get-mailboxpermission" => (get_permissions(&cmd).await?, Vec::new()),
        "add-mailboxpermission" => (add_permission(&cmd).await?, Vec::new()),
        "remove-mailboxpermission" => (Vec::new(), remove_permission(&cmd).await?),
        _ => {
            return Err(exchange_body(
                StatusCode::BAD_REQUEST,
                &format!(
                    "Ex4C2D1E|System.Management.Automation.CommandNotFoundException|The term '{name}' is not recognized as a name of a cmdlet (the simulated Exchange runs Get-Mailbox, Get-MailboxStatistics, Set-Mailbox, Get-MailboxPermission, Add-MailboxPermission, Remove-MailboxPermission)."
                ),
            ));
        }
    };
    Ok(result(&c, &tenant, value, None, warnings))
}

fn result(
    c: &Call,
    tenant: &str,
    value: Vec<Value>,
    next: Option<String>,
    warnings: Vec<String>,
) -> Response {
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!(
            "{}/exchange/adminapi/beta/{tenant}/$metadata#Collection(Exchange.GenericHashTable)",
            c.base
        )),
    );
    body.insert("value".into(), Value::Array(value));
    if let Some(n) = next {
        body.insert("@odata.nextLink".into(), json!(n));
    }
    if !warnings.is_empty() {
        body.insert("@adminapi.warnings".into(), json!(warnings));
    }
    json(StatusCode::OK, Value::Object(body))
}

/// `Prefer: odata.maxpagesize=N` (default 1000, the module's).
fn page_size(c: &Call) -> usize {
    let asked = c.header("prefer").and_then(|p| {
        p.split(',')
            .find_map(|x| x.trim().strip_prefix("odata.maxpagesize="))
            .and_then(|n| n.trim().parse().ok())
    });
    c.st.opts.page_size(asked, 1000, 1000)
}

async fn get_mailbox(cmd: &Cmd<'_>) -> Result<Response, ApiError> {
    let c = cmd.c;
    cmd.unknown_params(&["Identity", "RecipientTypeDetails", "ResultSize"])?;
    let tenant = c.path.split('/').nth(4).unwrap_or_default().to_string();
    if cmd.param("Identity").is_some() {
        let m =
            c.st.tenant
                .get_mailbox(&cmd.identity()?)
                .await
                .map_err(|e| cmd.err(e))?;
        return Ok(result(
            c,
            &tenant,
            vec![mailbox_json(c, &m)],
            None,
            Vec::new(),
        ));
    }
    let kinds: Vec<MailboxType> = match cmd.param("RecipientTypeDetails") {
        None => vec![
            MailboxType::UserMailbox,
            MailboxType::SharedMailbox,
            MailboxType::RoomMailbox,
            MailboxType::EquipmentMailbox,
        ],
        Some(Value::Array(v)) => v
            .iter()
            .filter_map(Value::as_str)
            .filter_map(parse_kind)
            .collect(),
        Some(Value::String(s)) => s.split(',').filter_map(parse_kind).collect(),
        Some(_) => Vec::new(),
    };
    if kinds.is_empty() {
        return Err(exchange_body(
            StatusCode::BAD_REQUEST,
            "Ex7C1A03|System.Management.Automation.ParameterBindingException|Cannot bind parameter 'RecipientTypeDetails'.",
        ));
    }
    let mut all = Vec::new();
    for k in kinds {
        let list =
            c.st.tenant
                .list_mailboxes(k)
                .await
                .map_err(|e| cmd.err(e))?;
        all.extend(list.iter().map(|m| mailbox_json(c, m)));
    }
    let limit = match cmd.text("ResultSize") {
        None => 1000,
        Some(s) if s.eq_ignore_ascii_case("unlimited") => usize::MAX,
        Some(s) => s.parse().unwrap_or(1000),
    };
    all.truncate(limit);
    let size = page_size(c);
    let offset = c
        .q("$skiptoken")
        .and_then(|t| hex::decode(t).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("skip:").and_then(|n| n.parse().ok()))
        .unwrap_or(0usize);
    let end = offset.saturating_add(size).min(all.len());
    let next = (end < all.len()).then(|| odata::next_link(c, end));
    let page = all
        .into_iter()
        .skip(offset)
        .take(end.saturating_sub(offset))
        .collect();
    Ok(result(c, &tenant, page, next, Vec::new()))
}

async fn get_statistics(cmd: &Cmd<'_>) -> Result<Vec<Value>, ApiError> {
    cmd.unknown_params(&["Identity"])?;
    let c = cmd.c;
    let m =
        c.st.tenant
            .get_mailbox(&cmd.identity()?)
            .await
            .map_err(|e| cmd.err(e))?;
    let name = c.st.tenant.user(m.user_id.as_str()).map(|u| u.display_name);
    Ok(vec![json!({
        "Identity": m.user_id,
        "DisplayName": name,
        "MailboxGuid": guid_for(&format!("mailbox|{}", m.user_id)),
        "TotalItemSize": byte_quantified(m.total_item_size_bytes),
        "ItemCount": m.total_item_size_bytes / 75_000,
    })])
}

async fn set_mailbox(cmd: &Cmd<'_>) -> Result<Vec<String>, ApiError> {
    cmd.unknown_params(&[
        "Identity",
        "Type",
        "HiddenFromAddressListsEnabled",
        "ForwardingSmtpAddress",
        "DeliverToMailboxAndForward",
        "Confirm",
    ])?;
    let c = cmd.c;
    let user = cmd.identity()?;
    let before = c.st.tenant.mailbox(user.as_str());
    if let Some(t) = cmd.text("Type") {
        let kind = parse_kind(&t).filter(|_| !t.to_ascii_lowercase().ends_with("mailbox")).ok_or_else(|| {
            exchange_body(
                StatusCode::BAD_REQUEST,
                &format!("Ex7C1A04|System.Management.Automation.ParameterBindingException|Cannot bind parameter 'Type'. Cannot convert value \"{t}\"; use Regular, Room, Equipment or Shared."),
            )
        })?;
        c.st.tenant
            .set_mailbox_type(&user, kind)
            .await
            .map_err(|e| cmd.err(e))?;
    }
    if let Some(h) = bool_param(cmd, "HiddenFromAddressListsEnabled")? {
        c.st.tenant
            .set_hidden_from_address_lists(&user, h)
            .await
            .map_err(|e| cmd.err(e))?;
    }
    if cmd.param("ForwardingSmtpAddress").is_some() {
        let smtp = cmd
            .text("ForwardingSmtpAddress")
            .filter(|s| !s.trim().is_empty());
        c.st.tenant
            .set_forwarding(&user, smtp.as_deref())
            .await
            .map_err(|e| cmd.err(e))?;
    }
    bool_param(cmd, "DeliverToMailboxAndForward")?;
    let after = c.st.tenant.mailbox(user.as_str());
    let mut warnings = Vec::new();
    if before.is_some() && before == after {
        let name = after
            .map(|m| alias(&m.primary_smtp_address))
            .unwrap_or_default();
        warnings.push(format!(
            "The command completed successfully but no settings of '{name}' have been modified."
        ));
    }
    Ok(warnings)
}

fn full_access(cmd: &Cmd<'_>) -> Result<(UserId, String), ApiError> {
    let rights: Vec<String> = match cmd.param("AccessRights") {
        Some(Value::Array(v)) => v
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => s.split(',').map(|x| x.trim().to_string()).collect(),
        _ => return Err(cmd.binding("AccessRights")),
    };
    if rights.len() != 1 || !rights[0].eq_ignore_ascii_case("FullAccess") {
        return Err(exchange_body(
            StatusCode::BAD_REQUEST,
            "Ex7C1A05|System.ArgumentException|The simulated Exchange grants and removes only AccessRights FullAccess.",
        ));
    }
    let trustee = cmd.text("User").ok_or_else(|| cmd.binding("User"))?;
    Ok((cmd.identity()?, trustee))
}

fn permission_json(
    identity: &str,
    user: &str,
    rights: &[String],
    inherited: bool,
    deny: bool,
) -> Value {
    json!({
        "Identity": identity,
        "User": user,
        "AccessRights": rights,
        "IsInherited": inherited,
        "Deny": deny,
        "InheritanceType": "All",
    })
}

async fn get_permissions(cmd: &Cmd<'_>) -> Result<Vec<Value>, ApiError> {
    cmd.unknown_params(&["Identity", "User"])?;
    let c = cmd.c;
    let user = cmd.identity()?;
    let perms =
        c.st.tenant
            .get_mailbox_permissions(&user)
            .await
            .map_err(|e| cmd.err(e))?;
    let only = cmd.text("User");
    Ok(perms
        .iter()
        .filter(|p| {
            only.as_ref()
                .is_none_or(|o| o.eq_ignore_ascii_case(&p.user))
        })
        .map(|p| {
            permission_json(
                user.as_str(),
                &p.user,
                &p.access_rights,
                p.is_inherited,
                p.deny,
            )
        })
        .collect())
}

async fn add_permission(cmd: &Cmd<'_>) -> Result<Vec<Value>, ApiError> {
    cmd.unknown_params(&[
        "Identity",
        "User",
        "AccessRights",
        "InheritanceType",
        "AutoMapping",
        "Confirm",
    ])?;
    let (user, trustee) = full_access(cmd)?;
    cmd.c
        .st
        .tenant
        .add_mailbox_full_access(&user, &trustee)
        .await
        .map_err(|e| cmd.err(e))?;
    Ok(vec![permission_json(
        user.as_str(),
        &trustee,
        &["FullAccess".to_string()],
        false,
        false,
    )])
}

async fn remove_permission(cmd: &Cmd<'_>) -> Result<Vec<String>, ApiError> {
    cmd.unknown_params(&[
        "Identity",
        "User",
        "AccessRights",
        "InheritanceType",
        "Confirm",
    ])?;
    let (user, trustee) = full_access(cmd)?;
    cmd.c
        .st
        .tenant
        .remove_mailbox_full_access(&user, &trustee)
        .await
        .map_err(|e| cmd.err(e))?;
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_as_exchange_does() {
        assert_eq!(
            byte_quantified(3_758_096_384),
            "3.5 GB (3,758,096,384 bytes)"
        );
        assert_eq!(byte_quantified(512), "512 B (512 bytes)");
        assert_eq!(byte_quantified(1024), "1 KB (1,024 bytes)");
    }
}
