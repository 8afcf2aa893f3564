//! The CloudEvent a command sends: structured JSON with `specversion`, `id` (default a fresh
//! UUIDv7), `source` (default `urn:offboard:cli`), `type`, `subject`, `time` (now),
//! `datacontenttype` and `data` from `--data key=value` pairs.

use anyhow::{anyhow, bail};
use chrono::{SecondsFormat, Utc};
use serde_json::{Map, Value, json};

pub const DEFAULT_SOURCE: &str = "urn:offboard:cli";

/// The `data` object from `key=value` pairs. A value that parses as a JSON number, boolean,
/// array, object or quoted string is taken as that JSON; anything else is a string. Keys
/// must be unique and non-empty.
pub fn parse_data(pairs: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut data = Map::new();
    for pair in pairs {
        let (key, raw) = pair.split_once('=').ok_or_else(|| {
            anyhow!("--data `{pair}` is not key=value; write e.g. --data lastWorkingDay=2026-12-31")
        })?;
        let key = key.trim();
        if key.is_empty() {
            bail!("--data `{pair}` has no key; write e.g. --data manager=ann@contoso.com");
        }
        let value = match serde_json::from_str::<Value>(raw) {
            Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Array(_) | Value::Object(_))) => v,
            Ok(v @ Value::String(_)) => v,
            _ => Value::String(raw.to_string()),
        };
        if data.insert(key.to_string(), value).is_some() {
            bail!("--data `{key}` is given twice; give each key once");
        }
    }
    Ok(data)
}

/// The event as JSON (serialised, it is exactly the body that is signed and sent).
pub fn cloud_event(
    id: &str,
    source: &str,
    event_type: &str,
    subject: &str,
    data: &Map<String, Value>,
) -> Value {
    json!({
        "specversion": "1.0",
        "id": id,
        "source": source,
        "type": event_type,
        "subject": subject,
        "time": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "datacontenttype": "application/json",
        "data": data,
    })
}

/// A fresh event id (UUIDv7: sorts by creation time).
pub fn fresh_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn data(pairs: &[&str]) -> anyhow::Result<Map<String, Value>> {
        parse_data(&pairs.iter().map(|p| p.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn values_are_typed_when_they_are_json() {
        let d = data(&[
            "n=3",
            "b=true",
            "a=[\"x\",1]",
            "o={\"k\":1}",
            "q=\"007\"",
            "s=2026-12-31",
            "z=null",
            "e=",
            "eq=a=b",
        ])
        .unwrap();
        assert_eq!(
            Value::Object(d),
            json!({"n": 3, "b": true, "a": ["x", 1],
            "o": {"k": 1}, "q": "007", "s": "2026-12-31", "z": "null", "e": "", "eq": "a=b"})
        );
    }

    #[test]
    fn duplicate_missing_and_empty_keys_are_refused() {
        assert!(
            data(&["a=1", "a=2"])
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        assert!(
            data(&["novalue"])
                .unwrap_err()
                .to_string()
                .contains("key=value")
        );
        assert!(data(&["=1"]).unwrap_err().to_string().contains("no key"));
    }

    #[test]
    fn the_event_has_every_attribute() {
        let e = cloud_event("i", DEFAULT_SOURCE, "hr.leaver", "u@x", &Map::new());
        let parsed = crate::event::CloudEvent::from_value(e.clone()).unwrap();
        assert_eq!(parsed.subject, "u@x");
        assert_eq!(e["datacontenttype"], "application/json");
        assert!(fresh_id() < fresh_id());
    }
}
