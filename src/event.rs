//! The CloudEvent envelope (structured JSON mode) and the lifecycle payload (README "Events").
//! Decoding never panics: every problem becomes an [`EventError`] that names the field.

use crate::ids::EventId;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Event types offboard understands.
pub const EVENT_TYPES: &[&str] = &[
    "hr.leaver",
    "hr.joiner",
    "hr.mover",
    "hr.restore",
    "ops.retention-sweep",
    "ops.run.restart",
    "ops.run.cancel",
];

/// A CloudEvents 1.0 event as offboard stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudEvent {
    pub specversion: String,
    pub id: EventId,
    pub source: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub subject: String,
    pub time: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datacontenttype: Option<String>,
    #[serde(default)]
    pub data: Value,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EventError {
    #[error("the event is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("the event is missing the required attribute `{0}`")]
    Missing(&'static str),
    #[error("the attribute `{field}` is invalid: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("unknown event type `{0}`; known types: {types}", types = EVENT_TYPES.join(", "))]
    UnknownType(String),
}

impl EventError {
    /// Machine-readable code, the same for every way in (AMQP `x-offboard-reason`, HTTP API
    /// `error`): `invalid-json`, `missing-attribute`, `invalid-attribute`, `unknown-type`.
    pub fn code(&self) -> &'static str {
        match self {
            EventError::InvalidJson(_) => "invalid-json",
            EventError::Missing(_) => "missing-attribute",
            EventError::Invalid { .. } => "invalid-attribute",
            EventError::UnknownType(_) => "unknown-type",
        }
    }
}

impl CloudEvent {
    /// Decodes and validates a structured-mode CloudEvent body.
    pub fn from_json(body: &[u8]) -> Result<Self, EventError> {
        let v: Value =
            serde_json::from_slice(body).map_err(|e| EventError::InvalidJson(e.to_string()))?;
        Self::from_value(v)
    }

    pub fn from_value(v: Value) -> Result<Self, EventError> {
        let obj = v.as_object().ok_or(EventError::Invalid {
            field: "event",
            reason: "must be a JSON object".into(),
        })?;
        let text = |name: &'static str| -> Result<String, EventError> {
            match obj.get(name) {
                None | Some(Value::Null) => Err(EventError::Missing(name)),
                Some(Value::String(s)) if s.trim().is_empty() => Err(EventError::Invalid {
                    field: name,
                    reason: "must not be empty".into(),
                }),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(EventError::Invalid {
                    field: name,
                    reason: "must be a string".into(),
                }),
            }
        };
        let specversion = text("specversion")?;
        if specversion != "1.0" {
            return Err(EventError::Invalid {
                field: "specversion",
                reason: format!("`{specversion}` is not supported; use \"1.0\""),
            });
        }
        let id = text("id")?;
        let source = text("source")?;
        let event_type = text("type")?;
        if !EVENT_TYPES.contains(&event_type.as_str()) {
            return Err(EventError::UnknownType(event_type));
        }
        let subject = text("subject")?;
        let time_text = text("time")?;
        let time = DateTime::parse_from_rfc3339(&time_text)
            .map_err(|e| EventError::Invalid {
                field: "time",
                reason: format!("`{time_text}` is not an RFC 3339 date-time ({e})"),
            })?
            .with_timezone(&Utc);
        let datacontenttype = obj
            .get("datacontenttype")
            .and_then(Value::as_str)
            .map(str::to_string);
        let data = obj.get("data").cloned().unwrap_or(Value::Null);
        if !(data.is_null() || data.is_object()) {
            return Err(EventError::Invalid {
                field: "data",
                reason: "must be a JSON object".into(),
            });
        }
        let event = CloudEvent {
            specversion,
            id: EventId(id),
            source,
            event_type,
            subject,
            time,
            datacontenttype,
            data,
        };
        event.lifecycle()?;
        Ok(event)
    }

    /// The typed lifecycle payload; validates the fields offboard interprets.
    pub fn lifecycle(&self) -> Result<LifecycleData, EventError> {
        if self.data.is_null() {
            return Ok(LifecycleData::default());
        }
        let d: LifecycleData =
            serde_json::from_value(self.data.clone()).map_err(|e| EventError::Invalid {
                field: "data",
                reason: e.to_string(),
            })?;
        if let Some(day) = &d.last_working_day {
            parse_instant(day).ok_or_else(|| EventError::Invalid {
                field: "data.lastWorkingDay",
                reason: format!("`{day}` is neither a date (YYYY-MM-DD) nor an RFC 3339 date-time"),
            })?;
        }
        if let Some(code) = &d.usage_location
            && !is_alpha2_shape(code)
        {
            return Err(EventError::Invalid {
                field: "data.usageLocation",
                reason: format!("`{code}` is not an ISO 3166-1 alpha-2 code"),
            });
        }
        Ok(d)
    }
}

/// Two ASCII letters, either case (the joiner's `usage.set` checks the code against the
/// officially assigned ones and upper-cases it).
fn is_alpha2_shape(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic())
}

/// What to do with the leaver's mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailboxChoice {
    /// Keep it as a shared mailbox; the account stays, disabled.
    Shared,
    /// Let it go with the account.
    Delete,
}

/// What to do with the leaver's OneDrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OneDriveChoice {
    Backup,
    Manager,
    Both,
    None,
}

/// Lifecycle data fields (camelCase on the wire).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_working_day: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<MailboxChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onedrive: Option<OneDriveChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_reply: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_location: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Mover with group-based licensing: the group that assigns `from` (object id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_group: Option<String>,
    /// Mover with group-based licensing: the group that assigns `to` (object id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_group: Option<String>,
}

/// Parses a date or a date-time. A bare date means the end of that day (UTC): the person
/// still works on their last working day, so the run waits until the day is over.
pub fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    let next = day.succ_opt()?;
    Some(next.and_hms_opt(0, 0, 0)?.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn leaver() -> Value {
        json!({"specversion":"1.0","id":"e1","source":"hr","type":"hr.leaver",
               "subject":"dana.lee@contoso.com","time":"2026-11-01T10:00:00Z",
               "data":{"lastWorkingDay":"2026-11-30","mailbox":"shared","onedrive":"both"}})
    }

    #[test]
    fn a_valid_leaver_decodes_with_its_payload() {
        let e = CloudEvent::from_value(leaver()).unwrap();
        let d = e.lifecycle().unwrap();
        assert_eq!(d.mailbox, Some(MailboxChoice::Shared));
        assert_eq!(d.onedrive, Some(OneDriveChoice::Both));
    }

    #[test]
    fn missing_and_bad_attributes_are_named() {
        let mut v = leaver();
        v.as_object_mut().unwrap().remove("subject");
        assert_eq!(
            CloudEvent::from_value(v).unwrap_err(),
            EventError::Missing("subject")
        );
        let mut v = leaver();
        v["type"] = json!("hr.fired");
        assert!(matches!(
            CloudEvent::from_value(v),
            Err(EventError::UnknownType(_))
        ));
        let mut v = leaver();
        v["data"]["mailbox"] = json!("archive");
        assert!(CloudEvent::from_value(v).is_err());
        let mut v = leaver();
        v["data"]["lastWorkingDay"] = json!("30/11/2026");
        assert!(CloudEvent::from_value(v).is_err());
        assert!(matches!(
            CloudEvent::from_json(b"{not json"),
            Err(EventError::InvalidJson(_))
        ));
    }

    #[test]
    fn each_event_error_has_its_code() {
        let code = |v: Value| CloudEvent::from_value(v).unwrap_err().code();
        let mut v = leaver();
        v.as_object_mut().unwrap().remove("time");
        assert_eq!(code(v), "missing-attribute");
        let mut v = leaver();
        v["type"] = json!("hr.fired");
        assert_eq!(code(v), "unknown-type");
        let mut v = leaver();
        v["time"] = json!("yesterday");
        assert_eq!(code(v), "invalid-attribute");
        assert_eq!(
            CloudEvent::from_json(b"[1").unwrap_err().code(),
            "invalid-json"
        );
    }

    #[test]
    fn a_bare_date_means_the_end_of_that_day() {
        let t = parse_instant("2026-11-30").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-01T00:00:00+00:00");
    }
}
