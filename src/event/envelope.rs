//! The CloudEvent envelope (structured JSON mode, README "Events"): required attributes, their
//! limits (`limits.rs`) and the subject's shape (`subject.rs`). Decoding never panics: every
//! problem becomes an [`EventError`] that names the field.

use super::lifecycle::LifecycleData;
use super::limits::{
    MAX_CONTENT_TYPE_BYTES, MAX_EVENT_BYTES, MAX_ID_BYTES, MAX_SOURCE_BYTES, MAX_TIME_BYTES,
    check_data, one_line, shown,
};
use super::subject::subject_kind;
use crate::ids::EventId;
use chrono::{DateTime, Utc};
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
    #[error("unknown event type `{}`; known types: {types}", shown(.0), types = EVENT_TYPES.join(", "))]
    UnknownType(String),
    #[error("the subject `{}` is refused: {reason}", shown(.subject))]
    InvalidSubject { subject: String, reason: String },
    #[error("`{field}` has {size} bytes; the limit is {limit}")]
    TooLarge {
        field: String,
        size: usize,
        limit: usize,
    },
}

impl EventError {
    /// Machine-readable code, the same for every way in (AMQP `x-offboard-reason`, HTTP API
    /// `error`): `invalid-json`, `missing-attribute`, `invalid-attribute`, `unknown-type`,
    /// `invalid-subject`, `oversized`.
    pub fn code(&self) -> &'static str {
        match self {
            EventError::InvalidJson(_) => "invalid-json",
            EventError::Missing(_) => "missing-attribute",
            EventError::Invalid { .. } => "invalid-attribute",
            EventError::UnknownType(_) => "unknown-type",
            EventError::InvalidSubject { .. } => "invalid-subject",
            EventError::TooLarge { .. } => "oversized",
        }
    }

    /// Well-formed, but outside what offboard accepts (a subject that is no person, a value
    /// over its limit): HTTP answers 422 rather than 400.
    pub fn is_unprocessable(&self) -> bool {
        matches!(
            self,
            EventError::InvalidSubject { .. } | EventError::TooLarge { .. }
        )
    }
}

impl CloudEvent {
    /// Decodes and validates a structured-mode CloudEvent body.
    pub fn from_json(body: &[u8]) -> Result<Self, EventError> {
        if body.len() > MAX_EVENT_BYTES {
            return Err(EventError::TooLarge {
                field: "the event".into(),
                size: body.len(),
                limit: MAX_EVENT_BYTES,
            });
        }
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
                reason: format!("`{}` is not supported; use \"1.0\"", shown(&specversion)),
            });
        }
        let id = text("id")?;
        one_line("id", &id, MAX_ID_BYTES)?;
        let source = text("source")?;
        one_line("source", &source, MAX_SOURCE_BYTES)?;
        let event_type = text("type")?;
        if !EVENT_TYPES.contains(&event_type.as_str()) {
            return Err(EventError::UnknownType(event_type));
        }
        let subject = text("subject")?;
        subject_kind(&event_type, &subject).map_err(|reason| EventError::InvalidSubject {
            subject: subject.clone(),
            reason,
        })?;
        let time_text = text("time")?;
        one_line("time", &time_text, MAX_TIME_BYTES)?;
        let time = DateTime::parse_from_rfc3339(&time_text)
            .map_err(|e| EventError::Invalid {
                field: "time",
                reason: format!("`{}` is not an RFC 3339 date-time ({e})", shown(&time_text)),
            })?
            .with_timezone(&Utc);
        let datacontenttype = match obj.get("datacontenttype") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                one_line("datacontenttype", s, MAX_CONTENT_TYPE_BYTES)?;
                Some(s.clone())
            }
            Some(_) => {
                return Err(EventError::Invalid {
                    field: "datacontenttype",
                    reason: "must be a string".into(),
                });
            }
        };
        let data = obj.get("data").cloned().unwrap_or(Value::Null);
        match &data {
            Value::Null => {}
            Value::Object(map) => check_data(map)?,
            _ => {
                return Err(EventError::Invalid {
                    field: "data",
                    reason: "must be a JSON object".into(),
                });
            }
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
        d.check()?;
        Ok(d)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::event::{MailboxChoice, OneDriveChoice, parse_instant};
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

    #[test]
    fn subjects_that_are_not_a_person_are_refused() {
        for bad in [
            "bo.nilsen@contoso.com\u{0}x",
            "bo.nilsen@contoso.com\nINFO forged",
            "dana",
            "tenant",
            &format!("{}@contoso.com", "a".repeat(200)),
        ] {
            let mut v = leaver();
            v["subject"] = json!(bad);
            let e = CloudEvent::from_value(v).unwrap_err();
            assert_eq!(e.code(), "invalid-subject", "{bad:?}: {e}");
            assert!(e.is_unprocessable());
            assert!(
                e.to_string().len() < 400,
                "the message repeats a bounded value"
            );
        }
        let mut v = leaver();
        v["subject"] = json!("0b5e1c2a-8f0e-4c7b-9a51-6d2f3e4a5b6c");
        assert!(CloudEvent::from_value(v).is_ok());
        let mut v = leaver();
        v["type"] = json!("ops.retention-sweep");
        v["subject"] = json!("tenant");
        v["data"] = json!({});
        assert!(CloudEvent::from_value(v).is_ok());
    }

    #[test]
    fn attributes_over_their_limits_are_refused_with_a_bounded_message() {
        let huge = "9".repeat(131_000);
        let mut v = leaver();
        v["time"] = json!(huge);
        let e = CloudEvent::from_value(v).unwrap_err();
        assert_eq!(e.code(), "oversized");
        assert!(e.to_string().len() < 200, "{e}");
        let mut v = leaver();
        v["id"] = json!("e1\n2026-11-01T00:00:00Z INFO Run succeeded.");
        assert_eq!(
            CloudEvent::from_value(v).unwrap_err().code(),
            "invalid-attribute"
        );
        let mut v = leaver();
        v["source"] = json!("s".repeat(300));
        assert_eq!(CloudEvent::from_value(v).unwrap_err().code(), "oversized");
        let mut v = leaver();
        v["data"]["manager"] = json!("the boss");
        assert!(
            CloudEvent::from_value(v)
                .unwrap_err()
                .to_string()
                .contains("data.manager")
        );
        let body = format!(
            r#"{{"specversion":"1.0","id":"e","source":"s","type":"hr.leaver","subject":"a@b.c","time":"2026-11-01T10:00:00Z","data":{{"x":"{}"}}}}"#,
            "y".repeat(70_000)
        );
        assert_eq!(
            CloudEvent::from_json(body.as_bytes()).unwrap_err().code(),
            "oversized"
        );
    }
}
