//! Exchange cmdlets through the admin API's InvokeCommand (docs/microsoft-365-api.md §5.4, §5.5):
//! the `CmdletInput` envelope, app-only `X-AnchorMailbox`, `@odata.nextLink` paging (the same
//! body POSTed to the link), `@adminapi.warnings` logged, and Exchange's PascalCase result
//! objects mapped to the domain types. Errors (`ErrorId|ExceptionType|text`) are typed in
//! errors.rs.

use super::client::{Audience, Client, Request};
use super::errors::Service;
use super::limiter::Family;
use super::paging::check_link;
use crate::ids::UserId;
use crate::tenant::{
    ErrorKind, Mailbox, MailboxPermission, MailboxType, TenantError, TenantResult,
};
use reqwest::Method;
use serde_json::{Value, json};

/// The routing hint of app-only calls (§5.4).
const SYSTEM_MAILBOX: &str = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}";
const MAX_PAGES: usize = 10_000;

/// What a cmdlet returned: its result objects (all pages) and warnings.
#[derive(Debug, Default)]
pub struct CmdletResult {
    pub values: Vec<Value>,
    pub warnings: Vec<String>,
}

impl Client {
    /// Runs `cmdlet` with `parameters` (a JSON object: switches as booleans, multi-valued
    /// parameters as arrays).
    pub async fn invoke(&self, cmdlet: &str, parameters: Value) -> TenantResult<CmdletResult> {
        let url = self.cfg.invoke_command_url();
        let base = url.trim_end_matches("/InvokeCommand").to_string();
        let body = json!({ "CmdletInput": { "CmdletName": cmdlet, "Parameters": parameters } });
        let mut req = Request::new(
            Method::POST,
            url,
            Service::Exchange,
            Some(Audience::Exchange),
        )
        .family(Family::Exchange, 1)
        .header(
            "X-AnchorMailbox",
            format!("APP:{SYSTEM_MAILBOX}@{}", self.cfg.tenant_id),
        )
        .header("Prefer", "odata.maxpagesize=1000")
        .header("X-CmdletName", cmdlet)
        .header("X-ResponseFormat", "json")
        .json(body);
        let mut out = CmdletResult::default();
        for _ in 0..MAX_PAGES {
            let page: Value = self.send(&req).await?.json()?;
            if let Some(values) = page.get("value").and_then(Value::as_array) {
                out.values.extend(values.iter().cloned());
            }
            if let Some(w) = page.get("@adminapi.warnings").and_then(Value::as_array) {
                for w in w.iter().filter_map(Value::as_str) {
                    tracing::debug!(cmdlet, warning = w, "Exchange warning.");
                    out.warnings.push(w.to_string());
                }
            }
            match page.get("@odata.nextLink").and_then(Value::as_str) {
                Some(link) => {
                    check_link(link, &base)?;
                    req.url = link.to_string();
                }
                None => return Ok(out),
            }
        }
        Err(TenantError::new(
            ErrorKind::BadRequest,
            "TooManyPages",
            format!("{cmdlet} returned more than {MAX_PAGES} pages"),
        ))
    }
}

fn flag(v: &Value, key: &str) -> bool {
    match v.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

pub fn mailbox_type(s: &str) -> Option<MailboxType> {
    Some(match s {
        "UserMailbox" => MailboxType::UserMailbox,
        "SharedMailbox" => MailboxType::SharedMailbox,
        "RoomMailbox" => MailboxType::RoomMailbox,
        "EquipmentMailbox" => MailboxType::EquipmentMailbox,
        _ => return None,
    })
}

/// The `RecipientTypeDetails` name of a kind (for `Get-Mailbox -RecipientTypeDetails`).
pub fn recipient_type_details(kind: MailboxType) -> &'static str {
    match kind {
        MailboxType::UserMailbox => "UserMailbox",
        MailboxType::SharedMailbox => "SharedMailbox",
        MailboxType::RoomMailbox => "RoomMailbox",
        MailboxType::EquipmentMailbox => "EquipmentMailbox",
    }
}

/// `TotalItemSize` of `Get-MailboxStatistics`: a number of bytes, or Exchange's text
/// `1.234 GB (1,324,567,890 bytes)`.
pub fn item_size_bytes(v: &Value) -> u64 {
    match v.get("TotalItemSize") {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(Value::String(s)) => s
            .rsplit_once('(')
            .map(|(_, bytes)| {
                bytes
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
            })
            .or_else(|| Some(s.chars().filter(char::is_ascii_digit).collect()))
            .and_then(|d| d.parse().ok())
            .unwrap_or(0),
        Some(Value::Object(o)) => o
            .get("Value")
            .map_or(0, |inner| item_size_bytes(&json!({"TotalItemSize": inner}))),
        _ => 0,
    }
}

/// A `Get-Mailbox` result object (§5.5) with its size from `Get-MailboxStatistics`.
pub fn mailbox(v: &Value, size: u64) -> TenantResult<Mailbox> {
    let kind = string(v, "RecipientTypeDetails").unwrap_or_default();
    let recipient_type_details = mailbox_type(&kind).ok_or_else(|| {
        TenantError::new(
            ErrorKind::BadRequest,
            "UnsupportedMailboxType",
            format!("the mailbox is a {kind}, which offboard does not handle"),
        )
    })?;
    let user_id = string(v, "ExternalDirectoryObjectId").ok_or_else(|| {
        TenantError::new(
            ErrorKind::BadRequest,
            "InvalidResponse",
            "Get-Mailbox returned a mailbox without ExternalDirectoryObjectId",
        )
    })?;
    Ok(Mailbox {
        user_id: UserId::new(user_id),
        primary_smtp_address: string(v, "PrimarySmtpAddress").unwrap_or_default(),
        recipient_type_details,
        forwarding_smtp_address: string(v, "ForwardingSmtpAddress"),
        forwarding_address: string(v, "ForwardingAddress"),
        deliver_to_mailbox_and_forward: flag(v, "DeliverToMailboxAndForward"),
        hidden_from_address_lists_enabled: flag(v, "HiddenFromAddressListsEnabled"),
        litigation_hold_enabled: flag(v, "LitigationHoldEnabled"),
        archive_active: string(v, "ArchiveStatus")
            .is_some_and(|s| s.eq_ignore_ascii_case("Active")),
        total_item_size_bytes: size,
    })
}

/// A `Get-MailboxPermission` result object; `AccessRights` as an array or a comma list.
pub fn mailbox_permission(v: &Value) -> MailboxPermission {
    let access_rights = match v.get("AccessRights") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect(),
        _ => Vec::new(),
    };
    MailboxPermission {
        user: string(v, "User").unwrap_or_default(),
        access_rights,
        is_inherited: flag(v, "IsInherited"),
        deny: flag(v, "Deny"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_get_mailbox_result_maps() {
        let v = json!({
            "Identity": "dana.lee", "ExternalDirectoryObjectId": "3b9f6c1e-8a24-4d57-b0e3-6f2c91d4a8b5",
            "UserPrincipalName": "dana.lee@contoso.com", "PrimarySmtpAddress": "dana.lee@contoso.com",
            "RecipientTypeDetails": "UserMailbox", "ForwardingSmtpAddress": null, "ForwardingAddress": null,
            "DeliverToMailboxAndForward": false, "HiddenFromAddressListsEnabled": false,
            "LitigationHoldEnabled": false, "ArchiveStatus": "None"
        });
        let m = mailbox(&v, 42).unwrap();
        assert_eq!(m.recipient_type_details, MailboxType::UserMailbox);
        assert!(!m.forwards() && !m.archive_active);
        assert_eq!(m.total_item_size_bytes, 42);
        assert!(mailbox(&json!({"RecipientTypeDetails": "DiscoveryMailbox"}), 0).is_err());
    }

    #[test]
    fn sizes_come_as_numbers_or_exchange_text() {
        assert_eq!(item_size_bytes(&json!({"TotalItemSize": 1234})), 1234);
        assert_eq!(
            item_size_bytes(&json!({"TotalItemSize": "1.234 GB (1,324,567,890 bytes)"})),
            1_324_567_890
        );
        assert_eq!(item_size_bytes(&json!({})), 0);
    }

    #[test]
    fn access_rights_as_array_or_text() {
        let p = mailbox_permission(
            &json!({"User": "sam@contoso.com", "AccessRights": "FullAccess, ReadPermission", "IsInherited": "False"}),
        );
        assert_eq!(p.access_rights, vec!["FullAccess", "ReadPermission"]);
        assert!(!p.is_inherited);
    }
}
