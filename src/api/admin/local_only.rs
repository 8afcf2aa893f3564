//! Without an admin token the API serves this machine's own tools only: a request must be
//! addressed to a loopback name (`Host`: `localhost`, `127.0.0.0/8` or `[::1]`, any port) and,
//! when it comes from a web page (`Origin`, `Sec-Fetch-Site`), from the API's own origin. This
//! refuses DNS rebinding (a foreign name that resolves to 127.0.0.1) and cross-site requests
//! (CSRF) from pages open in a browser on the same machine. A client that sends no `Host`
//! (HTTP/1.0) is not a browser and is let through.

use super::error::AdminError;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use std::net::{Ipv4Addr, Ipv6Addr};

/// What to do instead, in every refusal.
const REMEDY: &str = "or set OFFBOARD_ADMIN_TOKEN (16 characters or more, e.g. from `openssl rand -hex 32`) and send it as `Authorization: Bearer <token>`";

/// Ok when `req` may be served without a token.
pub(super) fn check(req: &Request) -> Result<(), AdminError> {
    let headers = req.headers();
    let host = match headers.get(header::HOST) {
        Some(v) => Some(v.to_str().map_err(|_| not_local("(not ASCII)"))?),
        None => None,
    };
    let host = match (host, req.uri().authority()) {
        (Some(h), _) => Some(h),
        (None, Some(a)) => Some(a.as_str()),
        (None, None) => None,
    };
    let target = match host {
        Some(h) => Some(Authority::loopback(h).ok_or_else(|| not_local(h))?),
        None => None,
    };
    if let Some(a) = req.uri().authority()
        && Authority::loopback(a.as_str()).is_none()
    {
        return Err(not_local(a.as_str()));
    }
    check_origin(headers, target.as_ref())
}

/// `Origin` (when sent) must be the API's own origin; `Sec-Fetch-Site` must not say the
/// request comes from another site.
fn check_origin(headers: &HeaderMap, target: Option<&Authority>) -> Result<(), AdminError> {
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("");
        if site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site") {
            return Err(cross_origin(&format!("Sec-Fetch-Site `{site}`")));
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("(not ASCII)");
    let Some((scheme, rest)) = origin.split_once("://") else {
        return Err(cross_origin(&format!("Origin `{}`", shown(origin))));
    };
    // The API speaks plain HTTP: a page of its own origin is an `http://` one.
    let same = scheme.eq_ignore_ascii_case("http")
        && match (Authority::loopback(rest), target) {
            (Some(from), Some(to)) => {
                from.host == to.host && from.port.or(Some(80)) == to.port.or(Some(80))
            }
            (Some(_), None) => true,
            (None, _) => false,
        };
    if same {
        Ok(())
    } else {
        Err(cross_origin(&format!("Origin `{}`", shown(origin))))
    }
}

/// A loopback `host[:port]`, the host lowercased.
#[derive(Debug, PartialEq, Eq)]
struct Authority {
    host: String,
    port: Option<u16>,
}

impl Authority {
    /// `localhost`, an IPv4 address in 127.0.0.0/8 or a bracketed IPv6 loopback address, with
    /// or without `:port`; `None` for anything else.
    fn loopback(s: &str) -> Option<Authority> {
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (inside, after) = rest.split_once(']')?;
            let ip: Ipv6Addr = inside.parse().ok()?;
            let loopback =
                ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback());
            if !loopback {
                return None;
            }
            (format!("[{ip}]"), port_of(after)?)
        } else {
            let (name, port) = match s.split_once(':') {
                Some((name, port)) => (name, Some(port)),
                None => (s, None),
            };
            let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
            let loopback =
                name == "localhost" || name.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback());
            if !loopback {
                return None;
            }
            let port = match port {
                Some(p) => Some(p.parse::<u16>().ok()?),
                None => None,
            };
            (name, port)
        };
        Some(Authority { host, port })
    }
}

/// The port after a bracketed IPv6 address: nothing, or `:digits`.
fn port_of(after: &str) -> Option<Option<u16>> {
    if after.is_empty() {
        return Some(None);
    }
    Some(Some(after.strip_prefix(':')?.parse().ok()?))
}

/// At most 100 characters of a value from the request, for a message.
fn shown(v: &str) -> String {
    match v.char_indices().nth(100) {
        Some((cut, _)) => format!("{}…", &v[..cut]),
        None => v.to_string(),
    }
}

fn not_local(host: &str) -> AdminError {
    AdminError::new(
        StatusCode::FORBIDDEN,
        "not-local",
        format!(
            "without an admin token the API answers only requests addressed to this machine by a loopback name (localhost, 127.0.0.1, [::1]); this one was addressed to `{}`, which is what a DNS-rebinding web page does. Use http://127.0.0.1:<port>, {REMEDY}",
            shown(host)
        ),
    )
}

fn cross_origin(what: &str) -> AdminError {
    AdminError::new(
        StatusCode::FORBIDDEN,
        "cross-origin",
        format!(
            "without an admin token the API refuses requests sent by web pages of another origin ({what}): a page open in a browser on this machine must not drive it. Call it from a command line (curl, `offboard`), {REMEDY}"
        ),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut b = Request::post("/api/v1/events");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).unwrap()
    }

    fn code(headers: &[(&str, &str)]) -> &'static str {
        match check(&request(headers)) {
            Ok(()) => "ok",
            Err(e) => {
                assert_eq!(e.status, StatusCode::FORBIDDEN);
                assert!(e.message.contains("OFFBOARD_ADMIN_TOKEN"), "{}", e.message);
                e.code
            }
        }
    }

    #[test]
    fn loopback_hosts_pass_with_or_without_a_port() {
        for host in [
            "localhost",
            "LOCALHOST:8080",
            "localhost.:8080",
            "127.0.0.1",
            "127.0.0.1:8080",
            "127.1.2.3:1",
            "[::1]",
            "[::1]:8080",
            "[0:0:0:0:0:0:0:1]:8080",
            "[::ffff:127.0.0.1]:8080",
        ] {
            assert_eq!(code(&[("host", host)]), "ok", "{host}");
        }
        assert_eq!(code(&[]), "ok", "no Host at all (HTTP/1.0)");
    }

    #[test]
    fn other_hosts_are_refused() {
        for host in [
            "rebind.evil.example",
            "rebind.evil.example:8080",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "10.0.0.1:8080",
            "0.0.0.0:8080",
            "[::]:8080",
            "[::2]",
            "localhost:http",
            "localhost:99999",
            "[::1]x",
            "2130706433",
            "",
        ] {
            assert_eq!(code(&[("host", host)]), "not-local", "{host}");
        }
    }

    #[test]
    fn only_the_same_loopback_origin_passes() {
        let host = ("host", "127.0.0.1:8080");
        assert_eq!(code(&[host, ("origin", "http://127.0.0.1:8080")]), "ok");
        assert_eq!(code(&[host, ("sec-fetch-site", "same-origin")]), "ok");
        assert_eq!(code(&[host, ("sec-fetch-site", "none")]), "ok");
        assert_eq!(
            code(&[("host", "localhost"), ("origin", "http://localhost")]),
            "ok"
        );
        assert_eq!(
            code(&[("host", "localhost:80"), ("origin", "http://localhost")]),
            "ok"
        );
        for origin in [
            "http://evil.example",
            "http://localhost:8080",
            "http://127.0.0.1:3000",
            "https://127.0.0.1:8080",
            "null",
            "file://",
            "ftp://127.0.0.1:8080",
        ] {
            assert_eq!(
                code(&[host, ("origin", origin)]),
                "cross-origin",
                "{origin}"
            );
        }
        for site in ["cross-site", "same-site", "Cross-Site"] {
            assert_eq!(
                code(&[host, ("sec-fetch-site", site)]),
                "cross-origin",
                "{site}"
            );
        }
    }

    #[test]
    fn an_absolute_target_must_be_loopback_too() {
        let req = Request::post("http://rebind.evil.example/api/v1/events")
            .header("host", "127.0.0.1")
            .body(Body::empty())
            .unwrap();
        assert_eq!(check(&req).unwrap_err().code, "not-local");
    }

    #[test]
    fn messages_show_at_most_100_characters_of_a_value() {
        let long = format!("{}.example", "a".repeat(5000));
        let e = check(&request(&[("host", &long)])).unwrap_err();
        assert!(e.message.len() < 1000, "{}", e.message);
    }
}
