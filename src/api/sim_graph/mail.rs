//! Graph mailbox settings (docs/microsoft-365-api.md §5.1–5.2): read the settings or their
//! `automaticRepliesSetting`, PATCH the automatic replies (200 with what was set). The
//! simulated mailbox keeps status, audience and messages; the schedule and the other
//! settings are shown with fixed values and PATCHes of them are ignored.

use super::call::{Call, json, parse_body};
use super::errors::ApiError;
use super::server::{AppState, g};
use crate::tenant::{AutoReply, MailboxType, Tenant};
use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            &g("/users/{id}/mailboxSettings"),
            get(get_settings).patch(patch_settings),
        )
        .route(
            &g("/users/{id}/mailboxSettings/automaticRepliesSetting"),
            get(get_auto_reply),
        )
}

fn schedule(day: &str) -> Value {
    json!({ "dateTime": format!("{day}T00:00:00.0000000"), "timeZone": "UTC" })
}

fn auto_reply_json(a: &AutoReply) -> Map<String, Value> {
    let v = json!({
        "status": a.status,
        "externalAudience": a.external_audience,
        "internalReplyMessage": a.internal_reply_message,
        "externalReplyMessage": a.external_reply_message,
        "scheduledStartDateTime": schedule("2026-01-01"),
        "scheduledEndDateTime": schedule("2026-01-02"),
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn purpose(kind: Option<MailboxType>) -> &'static str {
    match kind {
        Some(MailboxType::SharedMailbox) => "shared",
        Some(MailboxType::RoomMailbox) => "room",
        Some(MailboxType::EquipmentMailbox) => "equipment",
        _ => "user",
    }
}

fn context(c: &Call, user: &str, tail: &str) -> String {
    c.context(&format!("users('{user}')/mailboxSettings{tail}"))
}

async fn get_settings(c: Call, Path(id): Path<String>) -> Result<Response, ApiError> {
    let user = c.user_id(&id);
    let reply =
        c.st.tenant
            .get_auto_reply(&user)
            .await
            .map_err(|e| c.err(e))?;
    let kind =
        c.st.tenant
            .mailbox(user.as_str())
            .map(|m| m.recipient_type_details);
    Ok(json(
        StatusCode::OK,
        json!({
            "@odata.context": context(&c, user.as_str(), ""),
            "archiveFolder": "AAMkAGI2AAEuAAAAAA==",
            "timeZone": "UTC",
            "dateFormat": "yyyy-MM-dd",
            "timeFormat": "HH:mm",
            "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
            "userPurpose": purpose(kind),
            "language": { "locale": "en-US", "displayName": "English (United States)" },
            "workingHours": {
                "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                "startTime": "08:00:00.0000000",
                "endTime": "17:00:00.0000000",
                "timeZone": { "name": "UTC" },
            },
            "automaticRepliesSetting": auto_reply_json(&reply),
        }),
    ))
}

async fn get_auto_reply(c: Call, Path(id): Path<String>) -> Result<Response, ApiError> {
    let user = c.user_id(&id);
    let reply =
        c.st.tenant
            .get_auto_reply(&user)
            .await
            .map_err(|e| c.err(e))?;
    let mut m = auto_reply_json(&reply);
    m.insert(
        "@odata.context".into(),
        Value::String(context(&c, user.as_str(), "/automaticRepliesSetting")),
    );
    Ok(json(StatusCode::OK, Value::Object(m)))
}

/// Enum values are compared case-insensitively (docs mix "Scheduled" and "scheduled") and
/// stored in their canonical camelCase.
fn canonical(v: &str, allowed: &[&'static str]) -> String {
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(v.trim()))
        .map_or_else(|| v.to_string(), |a| a.to_string())
}

/// §5.2: 200 with the updated `automaticRepliesSetting` (fields not sent are kept).
async fn patch_settings(
    c: Call,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: Map<String, Value> = parse_body(&c, &body)?;
    let user = c.user_id(&id);
    if body.contains_key("userPurpose") {
        return Err(c.bad_request("The property 'userPurpose' is read-only."));
    }
    let Some(patch) = body.get("automaticRepliesSetting") else {
        // Nothing the simulated mailbox stores; still 404 when there is no mailbox.
        let reply =
            c.st.tenant
                .get_auto_reply(&user)
                .await
                .map_err(|e| c.err(e))?;
        let _ = reply;
        return Ok(json(
            StatusCode::OK,
            json!({ "@odata.context": context(&c, user.as_str(), "") }),
        ));
    };
    let patch = patch
        .as_object()
        .ok_or_else(|| c.bad_request("automaticRepliesSetting must be an object."))?;
    let mut reply =
        c.st.tenant
            .get_auto_reply(&user)
            .await
            .map_err(|e| c.err(e))?;
    let text = |k: &str| patch.get(k).and_then(Value::as_str);
    if let Some(s) = text("status") {
        reply.status = canonical(s, &["disabled", "alwaysEnabled", "scheduled"]);
    }
    if let Some(s) = text("externalAudience") {
        reply.external_audience = canonical(s, &["none", "contactsOnly", "all"]);
    }
    if let Some(s) = text("internalReplyMessage") {
        reply.internal_reply_message = s.to_string();
    }
    if let Some(s) = text("externalReplyMessage") {
        reply.external_reply_message = s.to_string();
    }
    c.st.tenant
        .set_auto_reply(&user, &reply)
        .await
        .map_err(|e| c.err(e))?;
    let mut setting = auto_reply_json(&reply);
    for k in ["scheduledStartDateTime", "scheduledEndDateTime"] {
        if let Some(v) = patch.get(k) {
            setting.insert(k.into(), v.clone());
        }
    }
    Ok(json(
        StatusCode::OK,
        json!({
            "@odata.context": context(&c, user.as_str(), ""),
            "automaticRepliesSetting": setting,
        }),
    ))
}
