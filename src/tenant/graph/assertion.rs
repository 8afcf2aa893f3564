//! The certificate credential (docs/microsoft-365-api.md §1.2): a PEM file with the certificate and
//! its RSA private key, and the signed JWT client assertion sent instead of a secret: `PS256`,
//! `x5t#S256` = base64url(SHA-256 of the certificate DER), `aud` = the token endpoint,
//! `iss` = `sub` = client id, a fresh `jti`, and a 10-minute lifetime.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::pss::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use sha2::{Digest, Sha256};
use std::fmt;

/// How long a client assertion is valid (§1.2: 5–10 minutes recommended).
pub const ASSERTION_LIFETIME_SECS: i64 = 600;

pub struct ClientCertificate {
    key: SigningKey<Sha256>,
    /// base64url(SHA-256(DER)): the `x5t#S256` header.
    thumbprint_s256: String,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t#S256", &self.thumbprint_s256)
            .field("key", &"***")
            .finish()
    }
}

/// The `-----BEGIN {label}-----` blocks of a PEM text, as (label, whole block).
fn pem_blocks(pem: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = after[..label_end].to_string();
        let end_marker = format!("-----END {label}-----");
        let Some(end) = after.find(&end_marker) else {
            break;
        };
        let block_end = start + 11 + end + end_marker.len();
        out.push((label, rest[start..block_end].to_string()));
        rest = &rest[block_end..];
    }
    out
}

fn block_body(block: &str) -> String {
    block
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect()
}

impl ClientCertificate {
    /// Reads the first certificate and the (unencrypted PKCS#8 or PKCS#1) RSA private key.
    /// The error says what is missing, never the key.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let blocks = pem_blocks(pem);
        let cert = blocks
            .iter()
            .find(|(l, _)| l == "CERTIFICATE")
            .ok_or("no -----BEGIN CERTIFICATE----- block (the file must hold the certificate and its private key)")?;
        let der = STANDARD
            .decode(block_body(&cert.1))
            .map_err(|e| format!("the certificate is not valid base64: {e}"))?;
        let key = match blocks.iter().find(|(l, _)| l.ends_with("PRIVATE KEY")) {
            Some((l, b)) if l == "PRIVATE KEY" => rsa::PrivateKey::from_pkcs8_pem(b)
                .map_err(|e| format!("the private key is not an RSA PKCS#8 key: {e}"))?,
            Some((l, b)) if l == "RSA PRIVATE KEY" => rsa::PrivateKey::from_pkcs1_pem(b)
                .map_err(|e| format!("the private key is not a PKCS#1 RSA key: {e}"))?,
            Some((l, _)) if l == "ENCRYPTED PRIVATE KEY" => {
                return Err("the private key is encrypted; export it without a passphrase and protect the file instead".into());
            }
            _ => return Err("no -----BEGIN PRIVATE KEY----- block".into()),
        };
        Ok(ClientCertificate {
            key: SigningKey::new(key),
            thumbprint_s256: URL_SAFE_NO_PAD.encode(Sha256::digest(&der)),
        })
    }

    pub fn thumbprint_s256(&self) -> &str {
        &self.thumbprint_s256
    }

    /// A compact JWS for `client_assertion`, valid from `now` (epoch seconds).
    pub fn assertion(&self, client_id: &str, token_url: &str, now: i64) -> Result<String, String> {
        let header = serde_json::json!({
            "alg": "PS256",
            "typ": "JWT",
            "x5t#S256": self.thumbprint_s256,
        });
        let claims = serde_json::json!({
            "aud": token_url,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::now_v7().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .key
            .try_sign(signing_input.as_bytes())
            .map_err(|e| format!("signing the client assertion failed: {e}"))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_blocks_are_found_in_any_order() {
        let pem = "junk\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\nQkJC\n-----END CERTIFICATE-----\n";
        let blocks = pem_blocks(pem);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[1].0, "CERTIFICATE");
        assert_eq!(block_body(&blocks[1].1), "QkJC");
    }

    #[test]
    fn a_file_without_key_or_certificate_is_refused_clearly() {
        let only_cert = "-----BEGIN CERTIFICATE-----\nQkJC\n-----END CERTIFICATE-----\n";
        assert!(
            ClientCertificate::from_pem(only_cert)
                .unwrap_err()
                .contains("PRIVATE KEY")
        );
        assert!(
            ClientCertificate::from_pem("")
                .unwrap_err()
                .contains("CERTIFICATE")
        );
        let encrypted = format!(
            "{only_cert}-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
        );
        assert!(
            ClientCertificate::from_pem(&encrypted)
                .unwrap_err()
                .contains("encrypted")
        );
    }
}
