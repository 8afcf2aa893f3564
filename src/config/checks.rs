//! What a value must be to be accepted: URL schemes offboard implements, a strong admin
//! token, a retention no shorter than the floor. Nothing is downgraded silently.

use super::keys::{Config, MIN_ADMIN_TOKEN_CHARS};
use super::load::ConfigError;

impl Config {
    /// Every URL setting names a scheme offboard implements; anything else stops the start
    /// with the scheme named, never a silent downgrade (a cloud URL taken as a local path,
    /// `amqps` connected in plain text).
    pub(super) fn check_urls(&self) -> Result<(), ConfigError> {
        let bad = |var: &str, message: String| ConfigError::Env {
            var: var.into(),
            message,
        };
        if let Some(url) = &self.amqp_url {
            match scheme(url).as_deref() {
                Some("amqp") => {}
                Some("amqps") => {
                    return Err(bad(
                        "OFFBOARD_AMQP_URL",
                        "`amqps://` (AMQP over TLS) is not supported yet, and offboard will not connect in plain text instead; use an `amqp://` URL on a trusted network, or a local TLS tunnel (e.g. stunnel) to the broker".into(),
                    ));
                }
                other => {
                    return Err(bad(
                        "OFFBOARD_AMQP_URL",
                        format!(
                            "{} is not supported; write amqp://user:password@host:5672/vhost",
                            describe_scheme(other)
                        ),
                    ));
                }
            }
        }
        if let Some(url) = &self.backup_url {
            match scheme(url).as_deref() {
                None | Some("file") => {}
                Some(s @ ("s3" | "az" | "azure" | "abfs" | "abfss" | "gs" | "https" | "http")) => {
                    return Err(bad(
                        "OFFBOARD_BACKUP_URL",
                        format!(
                            "`{s}://` backups (object storage) are not supported yet, and offboard will not write them to a local path instead; use a directory (a path or file:///path) on storage you back up"
                        ),
                    ));
                }
                other => {
                    return Err(bad(
                        "OFFBOARD_BACKUP_URL",
                        format!(
                            "{} is not supported; give a directory as a path or file:///path",
                            describe_scheme(other)
                        ),
                    ));
                }
            }
        }
        for (var, value) in [
            ("OFFBOARD_LOGIN_URL", &self.login_url),
            ("OFFBOARD_GRAPH_URL", &self.graph_url),
            ("OFFBOARD_EXCHANGE_URL", &self.exchange_url),
            ("OFFBOARD_PARTNER_CENTER_URL", &self.partner_center_url),
        ] {
            if let Some(url) = value
                && !matches!(scheme(url).as_deref(), Some("https" | "http"))
            {
                return Err(bad(
                    var,
                    format!(
                        "{} is not supported; give the service's https:// address",
                        describe_scheme(scheme(url).as_deref())
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The scheme of a URL (`s3` of `s3://bucket`), lower-cased; `None` for a plain path. A
/// Windows drive letter is not taken for a scheme.
fn scheme(value: &str) -> Option<String> {
    let (head, _) = value.trim().split_once(':')?;
    let is_scheme = head.len() > 1
        && head.starts_with(|c: char| c.is_ascii_alphabetic())
        && head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme.then(|| head.to_ascii_lowercase())
}

fn describe_scheme(s: Option<&str>) -> String {
    match s {
        Some(s) => format!("the scheme `{s}:`"),
        None => "a value without a scheme".into(),
    }
}

/// Why `token` cannot be the admin token, if it cannot.
pub(super) fn check_admin_token(token: &str) -> Result<(), String> {
    const MAKE_ONE: &str = "make one with `openssl rand -hex 32`";
    if token.is_empty() {
        return Err(format!(
            "the admin token is empty; remove the setting to serve without a token (loopback only), or set one of at least {MIN_ADMIN_TOKEN_CHARS} characters ({MAKE_ONE})"
        ));
    }
    if !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err(format!(
            "the admin token contains a space, a control character or a character that is not ASCII, which an `Authorization` header cannot carry; use letters, digits and punctuation ({MAKE_ONE})"
        ));
    }
    let n = token.chars().count();
    if n < MIN_ADMIN_TOKEN_CHARS {
        return Err(format!(
            "the admin token has {n} characters; it needs at least {MIN_ADMIN_TOKEN_CHARS} ({MAKE_ONE})"
        ));
    }
    Ok(())
}

/// A retention: a humantime duration no shorter than the floor.
pub(super) fn check_retention(r: &str) -> Result<std::time::Duration, String> {
    use crate::engine::retention::FLOOR;
    let d = humantime::parse_duration(r)
        .map_err(|e| format!("`{r}` is not a duration such as `400d`: {e}"))?;
    if d < FLOOR {
        return Err(format!(
            "`{r}` is shorter than {}: ended runs must outlive the 30-day restore window and dedup records the broker's redeliveries and HR resends",
            humantime::format_duration(FLOOR)
        ));
    }
    Ok(d)
}
