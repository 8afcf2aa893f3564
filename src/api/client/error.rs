//! [`ClientError`]: why a call to the admin API failed, as one line a person can act on.

/// What went wrong talking to the admin API.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "`{url}` is not a usable admin API address ({reason}); set OFFBOARD_URL or --url to e.g. http://127.0.0.1:8080"
    )]
    BadUrl { url: String, reason: String },
    #[error(
        "cannot reach the admin API at {url} ({reason}): is `offboard serve` running? set OFFBOARD_URL"
    )]
    Unreachable { url: String, reason: String },
    #[error("the admin API refused the token (HTTP 401): set OFFBOARD_ADMIN_TOKEN")]
    Unauthorized,
    /// A refusal in the API's `{"error", "message"}` shape.
    #[error("{message} (HTTP {status} {code})")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error(
        "the admin API at {url} answered HTTP {status} with {what}; is OFFBOARD_URL the admin API of `offboard serve`?"
    )]
    Invalid {
        url: String,
        status: u16,
        what: String,
    },
}

impl ClientError {
    /// The API's error code, for refusals in the API's shape.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            ClientError::Unauthorized => Some("unauthorized"),
            _ => None,
        }
    }
}

/// The innermost cause of a transport error, shortened for a person ("connection refused").
pub(super) fn transport_reason(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        if let Some(io) = next.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
                std::io::ErrorKind::TimedOut => "timed out".into(),
                _ => io.to_string(),
            };
        }
        cause = next;
    }
    if e.is_timeout() {
        return "timed out".into();
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_to_do() {
        let e = ClientError::Unreachable {
            url: "http://127.0.0.1:8080".into(),
            reason: "connection refused".into(),
        };
        assert_eq!(
            e.to_string(),
            "cannot reach the admin API at http://127.0.0.1:8080 (connection refused): is `offboard serve` running? set OFFBOARD_URL"
        );
        let e = ClientError::Api {
            status: 404,
            code: "not-found".into(),
            message: "run x does not exist".into(),
        };
        assert_eq!(e.to_string(), "run x does not exist (HTTP 404 not-found)");
        assert_eq!(e.code(), Some("not-found"));
    }
}
