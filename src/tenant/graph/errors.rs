//! Documented error responses to typed [`TenantError`]s (docs/microsoft-365-api.md §1.4, §2.2,
//! §4.2, §4.7, §4.8, §5.1, §5.4, §6.1, §8.1, §9.2). The service's own code and message are kept;
//! the `request-id` (or Partner Center's `MS-RequestId`, or the token endpoint's `trace_id`) goes
//! in `request_id`. Unknown bodies fall back to the HTTP status.

use super::backoff;
use crate::tenant::{ErrorKind, TenantError};
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::time::Duration;

/// Which service answered: the error bodies differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Login,
    Graph,
    Exchange,
    PartnerCenter,
    /// A pre-authenticated download URL (SharePoint).
    Download,
}

impl Service {
    /// The `api` label of `offboard_tenant_throttled_total`.
    pub fn label(self) -> &'static str {
        match self {
            Service::Login => "login",
            Service::Graph => "graph",
            Service::Exchange => "exchange",
            Service::PartnerCenter => "partner_center",
            Service::Download => "download",
        }
    }
}

/// The kind a status alone implies.
pub fn kind_by_status(status: u16, retry_after: Option<Duration>) -> ErrorKind {
    match status {
        429 => ErrorKind::Throttled { retry_after },
        500 | 502 | 503 | 504 => ErrorKind::Transient { retry_after },
        401 => ErrorKind::Unauthorized,
        403 => ErrorKind::Forbidden,
        404 => ErrorKind::NotFound,
        _ => ErrorKind::BadRequest,
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn contains(haystack: &str, needle: &str) -> bool {
    haystack.to_ascii_lowercase().contains(needle)
}

/// Graph (directory, Outlook, files) by code and message, for a 4xx that is not 429.
fn graph_kind(code: &str, message: &str) -> Option<ErrorKind> {
    let m = message;
    Some(if contains(m, "inherited from a group") {
        ErrorKind::LicenseInheritedFromGroup
    } else if contains(m, "does not have a corresponding license") {
        ErrorKind::NoCorrespondingLicense
    } else if contains(m, "invalid usage location") {
        ErrorKind::InvalidUsageLocation
    } else if contains(m, "does not have any available licenses") {
        ErrorKind::NoFreeSeats
    } else if contains(m, "does not correspond to a valid company license") {
        ErrorKind::InvalidLicense
    } else if contains(m, "added object references already exist") {
        ErrorKind::AlreadyMember
    } else if contains(m, "removed object references do not exist") {
        ErrorKind::NotMember
    } else if contains(m, "on-premises mastered") {
        ErrorKind::OnPremisesMastered
    } else if contains(m, "mail-enabled security group")
        || contains(m, "distribution list")
        || contains(m, "dynamic membership")
    {
        ErrorKind::GroupNotEditable
    } else if code.eq_ignore_ascii_case("MailboxNotEnabledForRESTAPI") {
        ErrorKind::MailboxNotEnabled
    } else if contains(m, "mysite not found") || contains(m, "unable to retrieve user's mysite") {
        ErrorKind::DriveNotFound
    } else if code == "ErrorInvalidUser" {
        ErrorKind::NotFound
    } else {
        return None;
    })
}

/// Exchange cmdlet errors: `details[0].message` is `ErrorId|ExceptionType|text` (§5.4).
fn exchange_kind(exception: &str, text: &str) -> Option<ErrorKind> {
    Some(match exception {
        "ManagementObjectNotFoundException" if text.starts_with("The user '") => {
            ErrorKind::NotFound
        }
        "ManagementObjectNotFoundException" => ErrorKind::MailboxNotEnabled,
        e if contains(e, "transient") || contains(e, "timeout") => {
            ErrorKind::Transient { retry_after: None }
        }
        e if contains(e, "throttl") => ErrorKind::Throttled { retry_after: None },
        _ if contains(text, "synchronized from your on-premises") => ErrorKind::OnPremisesMastered,
        "" => return None,
        _ => ErrorKind::BadRequest,
    })
}

/// The typed error of a failed response.
pub fn from_response(
    service: Service,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> TenantError {
    let retry_after = backoff::retry_after(headers);
    let by_status = kind_by_status(status, retry_after);
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let mut request_id =
        header(headers, "request-id").or_else(|| header(headers, "client-request-id"));
    let (kind, code, message) = match service {
        Service::Login => {
            request_id = text(&json, "trace_id").or(request_id);
            let code = text(&json, "error").unwrap_or_else(|| format!("HTTP {status}"));
            let message = text(&json, "error_description").unwrap_or_default();
            let kind = match status {
                400 | 401 => ErrorKind::Unauthorized,
                _ => by_status,
            };
            (kind, code, message)
        }
        Service::PartnerCenter => {
            request_id = header(headers, "MS-RequestId").or(request_id);
            let code = text(&json, "code").unwrap_or_else(|| format!("HTTP {status}"));
            let mut message = text(&json, "description").unwrap_or_default();
            if let Some(corr) = header(headers, "MS-CorrelationId") {
                message.push_str(&format!(" (MS-CorrelationId {corr})"));
            }
            let window = code == "800051" || contains(&message, "can only be decreased");
            let kind = match by_status {
                ErrorKind::BadRequest | ErrorKind::Forbidden if window => {
                    ErrorKind::ReductionWindowClosed
                }
                k => k,
            };
            (kind, code, message)
        }
        Service::Graph | Service::Exchange | Service::Download => {
            let err = json.get("error").cloned().unwrap_or(Value::Null);
            let inner = err.get("innerError").or_else(|| err.get("innererror"));
            if request_id.is_none() {
                request_id = inner.and_then(|i| text(i, "request-id"));
            }
            let mut code = text(&err, "code").unwrap_or_else(|| format!("HTTP {status}"));
            let mut message = text(&err, "message").unwrap_or_default();
            let detail = err
                .get("details")
                .and_then(|d| d.get(0))
                .and_then(|d| text(d, "message"));
            let mut kind = None;
            if let (Service::Exchange, Some(detail)) = (service, detail) {
                let mut parts = detail.splitn(3, '|');
                let (_, exception, text) = (parts.next(), parts.next(), parts.next());
                let (exception, text) = match (exception, text) {
                    (Some(exception), Some(text)) => (exception.to_string(), text.to_string()),
                    // No `ErrorId|Type|text` form: the code may name the exception itself.
                    _ if code.ends_with("Exception") => (code.clone(), detail.clone()),
                    _ => (String::new(), detail.clone()),
                };
                let short = exception.rsplit('.').next().unwrap_or_default().to_string();
                kind = exchange_kind(&short, &text);
                if !short.is_empty() {
                    code = short;
                }
                message = detail;
            }
            if matches!(by_status, ErrorKind::Throttled { .. }) {
                kind = Some(by_status.clone());
            }
            if kind.is_none() && (400..500).contains(&status) && status != 429 {
                kind = graph_kind(&code, &message);
            }
            (kind.unwrap_or(by_status), code, message)
        }
    };
    let message = if message.is_empty() {
        String::from_utf8_lossy(&body[..body.len().min(300)])
            .trim()
            .to_string()
    } else {
        message
    };
    let mut e = TenantError::new(kind, code, message);
    e.request_id = request_id;
    e
}

/// A transport failure (timeout, connection reset): transient. The error text names the URL,
/// except for downloads, whose pre-authenticated URL carries a token in its query.
pub fn transport(err: &reqwest::Error, service: Service) -> TenantError {
    let what = if err.is_timeout() {
        "the call timed out"
    } else if err.is_connect() {
        "cannot connect"
    } else {
        "the connection failed"
    };
    TenantError::new(
        ErrorKind::Transient { retry_after: None },
        "TransportError",
        if service == Service::Download {
            what.to_string()
        } else {
            format!("{what}: {err}")
        },
    )
}
