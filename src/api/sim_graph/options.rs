//! What a sim-graph server is configured with: the tenant's identity, the registered app and
//! its credential, token lifetime, faults, the write quota and page-size caps.

use crate::tenant::sim::SimFaults;
use sha2::{Digest, Sha256};
use std::fmt;
use std::time::Duration;

/// A credential: its Debug and Display never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The directory write quota (docs/microsoft-365-api.md §8.2: 3,000 writes per 150 s per app and
/// tenant), as a sliding window: a write is refused while `limit` writes of the same app fall in
/// the last `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteQuota {
    pub limit: u32,
    pub window: Duration,
}

impl WriteQuota {
    /// The published quota.
    pub const PUBLISHED: WriteQuota = WriteQuota {
        limit: 3000,
        window: Duration::from_secs(150),
    };

    /// Parses `N/WINDOW`, e.g. `3000/150s` or `300/15s` (WINDOW in humantime form).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (n, w) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not N/WINDOW, e.g. 3000/150s"))?;
        let limit: u32 = n
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("`{n}` is not a positive number of writes"))?;
        let window = humantime::parse_duration(w.trim())
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("`{w}` is not a duration such as 150s"))?;
        Ok(WriteQuota { limit, window })
    }
}

impl std::str::FromStr for WriteQuota {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        WriteQuota::parse(s)
    }
}

#[derive(Debug, Clone)]
pub struct SimGraphOptions {
    /// The tenant's GUID: paths (`/login/{tenant}`, InvokeCommand, Partner Center customer)
    /// accept it or `tenant_domain`.
    pub tenant_id: String,
    /// The tenant's primary domain (the scenario's `tenant`).
    pub tenant_domain: String,
    /// The partner tenant Partner Center tokens are requested from (default: the tenant).
    pub partner_tenant_id: Option<String>,
    /// The one registered application.
    pub client_id: String,
    /// Its client secret; `None` = secrets are refused (certificate only).
    pub client_secret: Option<Secret>,
    /// base64url SHA-256 of the registered certificate's DER (`x5t#S256`); `None` = any
    /// well-formed assertion is accepted (the signature is never verified).
    pub cert_thumbprint_sha256: Option<String>,
    /// `expires_in` of issued tokens (default 3599).
    pub token_lifetime: Duration,
    /// Latency, throttling, transient and lost-response rates, drawn per HTTP request (and
    /// per `$batch` item).
    pub faults: SimFaults,
    /// Enforced directory write quota, if any.
    pub write_quota: Option<WriteQuota>,
    /// A cap on every page size below the documented maxima, to force paging.
    pub max_page_size: Option<usize>,
}

/// The example application id of docs/microsoft-365-api.md.
pub const DEFAULT_CLIENT_ID: &str = "c4a1e9d2-3f5b-4a7c-8e21-9b6d0f2a4c13";

impl SimGraphOptions {
    /// Options for a tenant with this domain: derived tenant id, the example app id with
    /// `secret`, no faults, no quota.
    pub fn new(tenant_domain: &str, secret: &str) -> Self {
        SimGraphOptions {
            tenant_id: tenant_id_for_domain(tenant_domain),
            tenant_domain: tenant_domain.to_string(),
            partner_tenant_id: None,
            client_id: DEFAULT_CLIENT_ID.to_string(),
            client_secret: Some(Secret::new(secret)),
            cert_thumbprint_sha256: None,
            token_lifetime: Duration::from_secs(3599),
            faults: SimFaults::default(),
            write_quota: None,
            max_page_size: None,
        }
    }

    /// Whether `t` (a path segment) names this tenant.
    pub fn is_tenant(&self, t: &str) -> bool {
        t.eq_ignore_ascii_case(&self.tenant_id) || t.eq_ignore_ascii_case(&self.tenant_domain)
    }

    /// Whether a token may be requested from tenant `t` (the tenant, or the partner tenant).
    pub fn is_login_tenant(&self, t: &str) -> bool {
        self.is_tenant(t)
            || self
                .partner_tenant_id
                .as_deref()
                .is_some_and(|p| t.eq_ignore_ascii_case(p))
    }

    /// A page size: what the client asked for, else `default`, never above `max` or the cap.
    pub fn page_size(&self, asked: Option<usize>, default: usize, max: usize) -> usize {
        let n = asked.unwrap_or(default).min(max);
        self.max_page_size.map_or(n, |cap| n.min(cap)).max(1)
    }
}

/// A stable GUID for a tenant domain (the simulated tenant has a domain, not an id).
pub fn tenant_id_for_domain(domain: &str) -> String {
    let d = Sha256::digest(domain.to_ascii_lowercase().as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(b).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_quota_parses_and_refuses_nonsense() {
        assert_eq!(
            WriteQuota::parse("3000/150s").unwrap(),
            WriteQuota::PUBLISHED
        );
        assert_eq!(
            WriteQuota::parse("300/2m 30s").unwrap().window,
            Duration::from_secs(150)
        );
        assert!(WriteQuota::parse("0/150s").is_err());
        assert!(WriteQuota::parse("3000").is_err());
        assert!(WriteQuota::parse("3000/soon").is_err());
    }

    #[test]
    fn secrets_do_not_print_and_tenant_ids_are_stable_guids() {
        let o = SimGraphOptions::new("contoso.com", "hunter2");
        assert!(!format!("{o:?}").contains("hunter2"));
        assert_eq!(o.tenant_id, tenant_id_for_domain("CONTOSO.com"));
        assert!(uuid::Uuid::parse_str(&o.tenant_id).is_ok());
        assert!(o.is_tenant("contoso.com") && o.is_tenant(&o.tenant_id.to_uppercase()));
    }
}
