//! The shard key check of a sharded instance: the consistent-hash exchange routed the message
//! by its `x-offboard-subject` header, so a header that is not the lowercased subject may have
//! put the person on a second shard; such a message is dead-lettered as `bad-shard-key`.

use super::decode::{Rejection, header_json};
use crate::event::CloudEvent;
use crate::shard::{SUBJECT_HEADER, subject_key};
use lapin::types::FieldTable;

/// Sharded, a message is routed by its `x-offboard-subject` header; one whose header is not
/// its lowercased subject may be on the wrong shard (a person must never be on two), so it is
/// dead-lettered as `bad-shard-key`.
pub fn check_shard_key(headers: Option<&FieldTable>, event: &CloudEvent) -> Result<(), Rejection> {
    let want = subject_key(&event.subject);
    let got = headers.and_then(|h| {
        h.inner()
            .iter()
            .find(|(k, _)| k.as_str() == SUBJECT_HEADER)
            .map(|(_, v)| header_json(v))
    });
    match got {
        Some(serde_json::Value::String(s)) if s == want => Ok(()),
        Some(other) => Err(Rejection::new(
            "bad-shard-key",
            format!(
                "the {SUBJECT_HEADER} header is {other}, not the lowercased subject `{want}`; \
                 the publisher must set it so the person's events reach one shard"
            ),
        )),
        None => Err(Rejection::new(
            "bad-shard-key",
            format!(
                "the {SUBJECT_HEADER} header is missing; with several instances the publisher \
                 must set it to the lowercased subject (`{want}`)"
            ),
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use lapin::types::AMQPValue;
    use lapin::types::LongString;

    #[test]
    fn the_shard_key_must_be_the_lowercased_subject() {
        let body = br#"{"specversion":"1.0","id":"e1","source":"t","type":"hr.leaver",
            "subject":"Ada.L@Example.com","time":"2026-11-01T09:00:00Z"}"#;
        let event = CloudEvent::from_json(body).unwrap();
        let with = |v: &str| {
            let mut h = FieldTable::default();
            h.insert(
                SUBJECT_HEADER.into(),
                AMQPValue::LongString(LongString::from(v)),
            );
            h
        };
        assert!(check_shard_key(Some(&with("ada.l@example.com")), &event).is_ok());
        let wrong = check_shard_key(Some(&with("Ada.L@Example.com")), &event).unwrap_err();
        assert_eq!(wrong.code, "bad-shard-key");
        let missing = check_shard_key(None, &event).unwrap_err();
        assert!(missing.message.contains("missing"), "{}", missing.message);
    }
}
