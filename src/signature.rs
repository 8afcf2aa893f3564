//! Signed events (README "RabbitMQ ingress"): an HMAC-SHA256 of the exact body under the shared
//! `OFFBOARD_EVENT_KEY`, carried as `x-offboard-signature: sha256=<hex>` in the AMQP header
//! or the HTTP header. Every path an event can take in (AMQP, HTTP, CLI) checks it with
//! [`EventKey::verify`], which compares in constant time.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

/// The header (AMQP and HTTP) carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-offboard-signature";

type HmacSha256 = hmac::Hmac<Sha256>;

/// The shared key. Its bytes never appear in `Debug` output.
#[derive(Clone)]
pub struct EventKey(Vec<u8>);

impl std::fmt::Debug for EventKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventKey(***)")
    }
}

/// Why a signature was refused; the text says what the sender must change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error(
        "the event is not signed: a key is configured, so every event needs the header `x-offboard-signature: sha256=<hex HMAC-SHA256 of the body>`"
    )]
    Missing,
    #[error(
        "the `x-offboard-signature` header is malformed ({0}); expected `sha256=<64 hex digits>`"
    )]
    Malformed(String),
    #[error(
        "the signature does not match the body: the event was changed after signing or signed with another key"
    )]
    Mismatch,
}

impl SignatureError {
    /// Machine-readable code (dead-letter reason header, API error code).
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::Missing => "unsigned",
            SignatureError::Malformed(_) | SignatureError::Mismatch => "bad-signature",
        }
    }
}

impl EventKey {
    /// A key from the configured secret (its UTF-8 bytes). `None` for an empty secret.
    pub fn new(secret: &str) -> Option<Self> {
        (!secret.is_empty()).then(|| EventKey(secret.as_bytes().to_vec()))
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length; this cannot fail.
        match HmacSha256::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC accepts every key length"),
        }
    }

    /// The header value for `body`: `sha256=<hex>`.
    pub fn sign(&self, body: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    /// Checks the header value against `body`.
    pub fn verify(&self, body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
        let header = header.map(str::trim).filter(|h| !h.is_empty());
        let Some(header) = header else {
            return Err(SignatureError::Missing);
        };
        let Some(hex_part) = header.strip_prefix("sha256=") else {
            return Err(SignatureError::Malformed(
                "it does not start with `sha256=`".into(),
            ));
        };
        let given = hex::decode(hex_part)
            .map_err(|e| SignatureError::Malformed(format!("not hexadecimal: {e}")))?;
        if given.len() != 32 {
            return Err(SignatureError::Malformed(format!(
                "{} bytes instead of 32",
                given.len()
            )));
        }
        let mut mac = self.mac();
        mac.update(body);
        mac.verify_slice(&given)
            .map_err(|_| SignatureError::Mismatch)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let key = EventKey::new("Jefe").unwrap();
        assert_eq!(
            key.sign(b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn verify_accepts_the_signature_and_names_every_fault() {
        let key = EventKey::new("s3cret").unwrap();
        let body = br#"{"id":"e1"}"#;
        let sig = key.sign(body);
        assert_eq!(key.verify(body, Some(&sig)), Ok(()));
        assert_eq!(key.verify(body, None), Err(SignatureError::Missing));
        assert_eq!(
            key.verify(b"{\"id\":\"e2\"}", Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        let other = EventKey::new("other").unwrap().sign(body);
        assert_eq!(
            key.verify(body, Some(&other)),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            key.verify(body, Some("md5=00")),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            key.verify(body, Some("sha256=zz")),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            key.verify(body, Some("sha256=00")),
            Err(SignatureError::Malformed(_))
        ));
        assert!(EventKey::new("").is_none());
        assert_eq!(format!("{key:?}"), "EventKey(***)");
    }
}
