//! Turning an AMQP message into a [`CloudEvent`]: structured mode (the body is the event
//! JSON) or binary mode (`cloudEvents:`-prefixed headers plus the data body). Pure, so the
//! rules are unit-tested without a broker.

use crate::event::{CloudEvent, EventError};
use lapin::types::{AMQPValue, FieldTable};
use serde_json::{Map, Value};

/// Header prefix of binary-mode CloudEvents attributes (CloudEvents AMQP binding).
pub const BINARY_PREFIX: &str = "cloudEvents:";

/// Why a message can never become a run; the code goes into the `x-offboard-reason` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Stable, machine-readable: `invalid-json`, `missing-attribute`, `invalid-attribute`,
    /// `unknown-type`, `invalid-subject`, `oversized`, `rejected-by-engine`, `too-many-attempts`, `unsigned`,
    /// `bad-signature`, `bad-shard-key`.
    pub code: &'static str,
    /// What a person needs to fix the sender.
    pub message: String,
}

impl Rejection {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Rejection {
            code,
            message: message.into(),
        }
    }
}

impl From<EventError> for Rejection {
    fn from(e: EventError) -> Self {
        Rejection::new(e.code(), e.to_string())
    }
}

/// Decodes one message. `max_body` bounds the body size in bytes.
pub fn decode(
    headers: Option<&FieldTable>,
    body: &[u8],
    max_body: usize,
) -> Result<CloudEvent, Rejection> {
    if body.len() > max_body {
        return Err(Rejection::new(
            "oversized",
            format!(
                "the message body has {} bytes; the limit is {max_body}",
                body.len()
            ),
        ));
    }
    match headers.map(binary_attributes).filter(|m| !m.is_empty()) {
        Some(attrs) => decode_binary(attrs, body),
        None => Ok(CloudEvent::from_json(body)?),
    }
}

/// The `cloudEvents:*` headers as JSON attributes (prefix stripped).
fn binary_attributes(headers: &FieldTable) -> Map<String, Value> {
    headers
        .inner()
        .iter()
        .filter_map(|(k, v)| {
            let name = k.as_str().strip_prefix(BINARY_PREFIX)?;
            Some((name.to_string(), header_json(v)))
        })
        .collect()
}

fn decode_binary(mut attrs: Map<String, Value>, body: &[u8]) -> Result<CloudEvent, Rejection> {
    let data = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(body).map_err(|e| {
            Rejection::new(
                "invalid-json",
                format!("the binary-mode data body is not valid JSON: {e}"),
            )
        })?
    };
    attrs.insert("data".into(), data);
    Ok(CloudEvent::from_value(Value::Object(attrs))?)
}

/// A header value as JSON: strings stay strings (so the event's own validation names a
/// wrongly typed attribute), numbers and booleans keep their type.
pub fn header_json(v: &AMQPValue) -> Value {
    match v {
        AMQPValue::LongString(s) => Value::String(String::from_utf8_lossy(s.as_bytes()).into()),
        AMQPValue::ShortString(s) => Value::String(s.as_str().into()),
        AMQPValue::Boolean(b) => Value::Bool(*b),
        AMQPValue::LongInt(n) => Value::from(*n),
        AMQPValue::LongLongInt(n) => Value::from(*n),
        AMQPValue::LongUInt(n) => Value::from(*n),
        AMQPValue::ShortInt(n) => Value::from(*n),
        AMQPValue::ShortUInt(n) => Value::from(*n),
        AMQPValue::ShortShortInt(n) => Value::from(*n),
        AMQPValue::ShortShortUInt(n) => Value::from(*n),
        AMQPValue::Timestamp(t) => Value::from(*t),
        AMQPValue::Void => Value::Null,
        other => Value::String(format!("{other:?}")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use lapin::types::LongString;

    fn binary_headers(id: &str, kind: &str) -> FieldTable {
        let mut h = FieldTable::default();
        for (k, v) in [
            ("specversion", "1.0"),
            ("id", id),
            ("type", kind),
            ("source", "tests"),
            ("subject", "ada@example.com"),
            ("time", "2026-11-01T09:00:00Z"),
        ] {
            h.insert(
                format!("{BINARY_PREFIX}{k}").into(),
                AMQPValue::LongString(LongString::from(v)),
            );
        }
        h
    }

    #[test]
    fn binary_mode_reads_attributes_from_headers_and_data_from_body() {
        let h = binary_headers("e1", "hr.leaver");
        let ev = decode(Some(&h), br#"{"manager":"grace@example.com"}"#, 1024).unwrap();
        assert_eq!(ev.id.as_str(), "e1");
        assert_eq!(ev.event_type, "hr.leaver");
        assert_eq!(ev.data["manager"], "grace@example.com");
    }

    #[test]
    fn structured_mode_without_cloudevents_headers() {
        let body = br#"{"specversion":"1.0","id":"e2","source":"t","type":"hr.leaver",
            "subject":"a@b.c","time":"2026-11-01T09:00:00Z"}"#;
        assert_eq!(decode(None, body, 1024).unwrap().id.as_str(), "e2");
    }

    #[test]
    fn each_bad_input_has_its_reason_code() {
        let code = |h: Option<&FieldTable>, b: &[u8], max| decode(h, b, max).unwrap_err().code;
        assert_eq!(code(None, b"{not json", 1024), "invalid-json");
        assert_eq!(code(None, b"{}", 1), "oversized");
        assert_eq!(
            code(None, br#"{"specversion":"1.0","id":"x"}"#, 1024),
            "missing-attribute"
        );
        let h = binary_headers("e3", "hr.fired");
        assert_eq!(code(Some(&h), b"", 1024), "unknown-type");
        let h = binary_headers("e4", "hr.leaver");
        assert_eq!(code(Some(&h), b"[1", 1024), "invalid-json");
    }
}
