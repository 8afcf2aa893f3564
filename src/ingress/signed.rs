//! The signature check of an AMQP message (`crate::signature`). Structured mode
//! signs the body. Binary mode carries the attributes (type, subject, ...) in headers, so the
//! body alone would let anyone replay signed data for another person; there the signed bytes
//! are every `cloudEvents:*` header as `name=value\n`, sorted by name, then an empty line,
//! then the body (README, "Signed events").

use super::decode::{BINARY_PREFIX, Rejection, header_json};
use crate::signature::{EventKey, SIGNATURE_HEADER};
use lapin::types::{AMQPValue, FieldTable};
use serde_json::Value;

/// Checks the message's signature when a key is configured.
pub fn check(
    key: Option<&EventKey>,
    headers: Option<&FieldTable>,
    body: &[u8],
) -> Result<(), Rejection> {
    let Some(key) = key else {
        return Ok(());
    };
    let signature = headers.and_then(|h| {
        h.inner()
            .iter()
            .find(|(k, _)| k.as_str().eq_ignore_ascii_case(SIGNATURE_HEADER))
            .map(|(_, v)| match v {
                AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
                AMQPValue::ShortString(s) => s.as_str().to_string(),
                // A wrongly typed header is a malformed signature, not a missing one.
                other => format!("{other:?}"),
            })
    });
    key.verify(&signed_bytes(headers, body), signature.as_deref())
        .map_err(|e| Rejection::new(e.code(), e.to_string()))
}

/// What the sender signed: the body (structured mode), or the binary-mode attributes and body.
pub fn signed_bytes(headers: Option<&FieldTable>, body: &[u8]) -> Vec<u8> {
    let mut attrs: Vec<(String, String)> = headers
        .map(|h| {
            h.inner()
                .iter()
                .filter(|(k, _)| k.as_str().starts_with(BINARY_PREFIX))
                .map(|(k, v)| {
                    let text = match header_json(v) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k.as_str().to_string(), text)
                })
                .collect()
        })
        .unwrap_or_default();
    if attrs.is_empty() {
        return body.to_vec();
    }
    attrs.sort();
    let mut out = Vec::with_capacity(body.len() + 256);
    for (name, value) in attrs {
        out.extend_from_slice(name.as_bytes());
        out.push(b'=');
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use lapin::types::LongString;

    fn text(v: &str) -> AMQPValue {
        AMQPValue::LongString(LongString::from(v))
    }

    #[test]
    fn structured_mode_signs_the_body_and_binary_mode_the_attributes_too() {
        let key = EventKey::new("k").unwrap();
        let body = br#"{"id":"e1"}"#;
        let mut h = FieldTable::default();
        h.insert(SIGNATURE_HEADER.into(), text(&key.sign(body)));
        assert_eq!(check(Some(&key), Some(&h), body), Ok(()));
        assert_eq!(check(None, None, body), Ok(()));
        assert_eq!(check(Some(&key), None, body).unwrap_err().code, "unsigned");

        let mut b = FieldTable::default();
        b.insert("cloudEvents:subject".into(), text("ada@example.com"));
        b.insert("cloudEvents:id".into(), text("e2"));
        let signed = signed_bytes(Some(&b), b"{}");
        assert_eq!(
            signed,
            b"cloudEvents:id=e2\ncloudEvents:subject=ada@example.com\n\n{}".to_vec()
        );
        b.insert(SIGNATURE_HEADER.into(), text(&key.sign(&signed)));
        assert_eq!(check(Some(&key), Some(&b), b"{}"), Ok(()));
        // The same signature and body for another person is refused.
        b.insert("cloudEvents:subject".into(), text("grace@example.com"));
        assert_eq!(
            check(Some(&key), Some(&b), b"{}").unwrap_err().code,
            "bad-signature"
        );
    }
}
