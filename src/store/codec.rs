//! Values are one schema-version byte followed by JSON, so a future format can be told apart
//! and migrated instead of misread.

use super::error::{StoreError, StoreResult};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub const VERSION: u8 = 1;

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![VERSION];
    // Serializing our own record types to a Vec cannot fail (no non-string map keys).
    if serde_json::to_writer(&mut out, value).is_err() {
        out.truncate(1);
        out.extend_from_slice(b"null");
    }
    out
}

pub fn decode<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> StoreResult<T> {
    match bytes.split_first() {
        Some((&VERSION, body)) => serde_json::from_slice(body).map_err(|e| StoreError::Decode {
            what,
            reason: e.to_string(),
        }),
        Some((v, _)) => Err(StoreError::Decode {
            what,
            reason: format!(
                "schema version {v} is not supported by this build (expects {VERSION})"
            ),
        }),
        None => Err(StoreError::Decode {
            what,
            reason: "empty value".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_unknown_versions_are_refused() {
        let bytes = encode(&vec!["a", "b"]);
        assert_eq!(bytes[0], VERSION);
        let back: Vec<String> = decode("list", &bytes).unwrap();
        assert_eq!(back, vec!["a", "b"]);
        let mut future = bytes.clone();
        future[0] = 9;
        assert!(decode::<Vec<String>>("list", &future).is_err());
        assert!(decode::<Vec<String>>("list", &[]).is_err());
    }
}
