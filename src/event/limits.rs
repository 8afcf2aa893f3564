//! The size and character limits of an event, the same at every entrance (HTTP, AMQP, CLI).
//! They fit real HR events with room to spare (a UPN is at most 113 characters, an HR system's
//! event id is a UUID or a short path) and keep what one sender can make offboard store, log
//! and echo small: a run record carries its event and is rewritten at every step.

use super::envelope::EventError;
use serde_json::{Map, Value};

/// The whole encoded event (HTTP body, AMQP body).
pub const MAX_EVENT_BYTES: usize = 64 * 1024;
/// `id`: the dedup key (a UUID, or `<batch-id>/<subject>` from `offboard submit --from-file`).
pub const MAX_ID_BYTES: usize = 256;
/// `source`: a URI reference naming the sender.
pub const MAX_SOURCE_BYTES: usize = 256;
/// `time`, before it is parsed (an RFC 3339 date-time is about 35 characters).
pub const MAX_TIME_BYTES: usize = 64;
/// `datacontenttype`.
pub const MAX_CONTENT_TYPE_BYTES: usize = 128;
/// `data`, encoded as JSON.
pub const MAX_DATA_BYTES: usize = 32 * 1024;
/// Fields of `data`.
pub const MAX_DATA_FIELDS: usize = 64;
/// One field of `data` (its value encoded as JSON), except `autoReply`.
pub const MAX_FIELD_BYTES: usize = 4 * 1024;
/// `data.autoReply`: the automatic-reply text, which may be HTML.
pub const MAX_AUTO_REPLY_BYTES: usize = 16 * 1024;
/// The name of a field of `data`.
pub const MAX_FIELD_NAME_BYTES: usize = 64;

/// How many characters of a refused value an error message repeats.
const SHOWN_CHARS: usize = 64;

/// A value from outside as an error message may repeat it: control characters escaped, cut
/// after 64 characters with the full size given, so a message (and the log, and a dead
/// letter's detail) stays small whatever was sent.
pub fn shown(value: &str) -> String {
    let mut out = String::new();
    for (i, c) in value.chars().enumerate() {
        if i == SHOWN_CHARS {
            out.push_str(&format!("… ({} bytes in all)", value.len()));
            return out;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A one-line attribute (`id`, `source`, `time`, `subject`, a field name): at most `max`
/// bytes and no control character (a newline in an id could forge a log line; a NUL could
/// make two subjects look alike to a byte-oriented reader).
pub(super) fn one_line(field: &'static str, value: &str, max: usize) -> Result<(), EventError> {
    if value.len() > max {
        return Err(EventError::TooLarge {
            field: field.to_string(),
            size: value.len(),
            limit: max,
        });
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(EventError::Invalid {
            field,
            reason: format!(
                "`{}` contains the control character {}; {field} must be one line of printable text",
                shown(value),
                c.escape_unicode()
            ),
        });
    }
    Ok(())
}

/// The limits of `data`: the number of fields, each field's size, the whole size, field
/// names, and no control characters in text other than tab and line breaks.
pub(super) fn check_data(data: &Map<String, Value>) -> Result<(), EventError> {
    if data.len() > MAX_DATA_FIELDS {
        return Err(EventError::Invalid {
            field: "data",
            reason: format!(
                "it has {} fields; an event carries at most {MAX_DATA_FIELDS}",
                data.len()
            ),
        });
    }
    let mut total = 2; // the braces
    for (name, value) in data {
        if name.len() > MAX_FIELD_NAME_BYTES || name.chars().any(char::is_control) {
            return Err(EventError::Invalid {
                field: "data",
                reason: format!(
                    "the field name `{}` is not one line of at most {MAX_FIELD_NAME_BYTES} bytes",
                    shown(name)
                ),
            });
        }
        let size = encoded_len(value);
        let limit = if name == "autoReply" {
            MAX_AUTO_REPLY_BYTES
        } else {
            MAX_FIELD_BYTES
        };
        if size > limit {
            return Err(EventError::TooLarge {
                field: format!("data.{name}"),
                size,
                limit,
            });
        }
        if let Some(c) = forbidden_in_text(value) {
            return Err(EventError::Invalid {
                field: "data",
                reason: format!(
                    "the field `{name}` contains the control character {}; only tab and line breaks are allowed in text",
                    c.escape_unicode()
                ),
            });
        }
        total += name.len() + 4 + size; // "name": value,
    }
    if total > MAX_DATA_BYTES {
        return Err(EventError::TooLarge {
            field: "data".into(),
            size: total,
            limit: MAX_DATA_BYTES,
        });
    }
    Ok(())
}

/// The length of `value` encoded as compact JSON.
fn encoded_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut n = Count(0);
    // Writing a `Value` into a counter cannot fail.
    let _ = serde_json::to_writer(&mut n, value);
    n.0
}

/// The first control character other than tab, line feed and carriage return in any string
/// (or object key) within `value`.
fn forbidden_in_text(value: &Value) -> Option<char> {
    let bad = |s: &str| {
        s.chars()
            .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    };
    match value {
        Value::String(s) => bad(s),
        Value::Array(items) => items.iter().find_map(forbidden_in_text),
        Value::Object(map) => map
            .iter()
            .find_map(|(k, v)| bad(k).or_else(|| forbidden_in_text(v))),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shown_values_are_escaped_and_cut() {
        assert_eq!(shown("a\nb"), "a\\nb");
        let long = "x".repeat(1000);
        let s = shown(&long);
        assert!(
            s.starts_with(&"x".repeat(64)) && s.ends_with("(1000 bytes in all)"),
            "{s}"
        );
    }

    #[test]
    fn one_line_refuses_control_characters_and_length() {
        assert!(one_line("id", "e-1/ada@contoso.com", MAX_ID_BYTES).is_ok());
        assert!(one_line("id", "e\n1", MAX_ID_BYTES).is_err());
        assert!(one_line("id", "e\u{0}1", MAX_ID_BYTES).is_err());
        assert!(one_line("id", "e\u{85}1", MAX_ID_BYTES).is_err());
        let e = one_line("id", &"x".repeat(257), MAX_ID_BYTES).unwrap_err();
        assert_eq!(e.code(), "oversized");
    }

    #[test]
    fn data_limits_per_field_in_all_and_in_text() {
        let map = |v: Value| v.as_object().unwrap().clone();
        assert!(check_data(&map(json!({"autoReply": "Away.\nBack never.\t"}))).is_ok());
        assert!(check_data(&map(json!({"autoReply": "x".repeat(16_000)}))).is_ok());
        let e = check_data(&map(json!({"manager": "x".repeat(5000)}))).unwrap_err();
        assert_eq!(e.code(), "oversized");
        assert!(e.to_string().contains("data.manager"), "{e}");
        let many: Map<String, Value> = (0..65).map(|i| (format!("f{i}"), json!(1))).collect();
        assert!(check_data(&many).is_err());
        let big: Map<String, Value> = (0..10)
            .map(|i| (format!("f{i}"), json!("y".repeat(4000))))
            .collect();
        assert_eq!(check_data(&big).unwrap_err().code(), "oversized");
        assert!(check_data(&map(json!({"groups": ["a\u{0}b"]}))).is_err());
        assert!(check_data(&map(json!({"x": {"k\u{1b}": 1}}))).is_err());
    }
}
