//! Errors a tenant returns, typed by what the caller can do about them. The graph connector
//! maps documented HTTP responses onto these kinds; the simulated tenant returns the same.

use std::fmt;
use std::time::Duration;

pub type TenantResult<T, E = TenantError> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// 404 `Request_ResourceNotFound` and friends: the object does not exist.
    NotFound,
    /// 429: try again after `retry_after` (or back off when absent).
    Throttled { retry_after: Option<Duration> },
    /// 500/503/504, timeouts, connection resets: try again.
    Transient { retry_after: Option<Duration> },
    /// 401: credentials or token rejected.
    Unauthorized,
    /// 403 `Authorization_RequestDenied`: the app lacks a permission or role.
    Forbidden,
    /// assignLicense remove of a SKU the user does not hold directly: already done.
    NoCorrespondingLicense,
    /// assignLicense remove of a SKU held only through a group: change the membership instead.
    LicenseInheritedFromGroup,
    /// assignLicense add when the SKU has no free seat.
    NoFreeSeats,
    /// assignLicense when the user has no (valid) usage location.
    InvalidUsageLocation,
    /// assignLicense with a SKU the tenant does not own.
    InvalidLicense,
    /// Add member that already is a member: already done.
    AlreadyMember,
    /// Remove member that is not a member: already done.
    NotMember,
    /// The object (or property) is mastered in on-premises AD (R9).
    OnPremisesMastered,
    /// The group cannot be edited directly (dynamic membership, mail-enabled security group,
    /// distribution list).
    GroupNotEditable,
    /// The user has no Exchange Online mailbox (404 `MailboxNotEnabledForRESTAPI`).
    MailboxNotEnabled,
    /// The user has no OneDrive (404 "User's mysite not found.").
    DriveNotFound,
    /// Partner Center PATCH that lowers a CSP subscription's quantity after its cancellation
    /// window (R15): schedule the decrease for the renewal instead.
    ReductionWindowClosed,
    /// Any other 4xx the service returns: permanent.
    BadRequest,
    /// The service is not configured for this deployment (Partner Center without a partner
    /// tenant): nothing was sent.
    NotConfigured,
}

/// One failed tenant call: the kind, the service's message, and its `request-id` when there
/// is one (a person quotes it to Microsoft support).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantError {
    pub kind: ErrorKind,
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
}

impl TenantError {
    pub fn new(kind: ErrorKind, code: impl Into<String>, message: impl Into<String>) -> Self {
        TenantError {
            kind,
            code: code.into(),
            message: message.into(),
            request_id: None,
        }
    }

    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            ErrorKind::NotFound,
            "Request_ResourceNotFound",
            format!(
                "Resource '{what}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }

    pub fn throttled(retry_after: Option<Duration>) -> Self {
        Self::new(
            ErrorKind::Throttled { retry_after },
            "TooManyRequests",
            "Please retry again later.",
        )
    }

    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(
            ErrorKind::Transient { retry_after: None },
            "ServiceUnavailable",
            message,
        )
    }

    /// Whether trying the same call again later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Throttled { .. } | ErrorKind::Transient { .. }
        )
    }

    /// The service pushed back: a 429, or a 503 (transient) with a Retry-After. What
    /// `offboard_tenant_throttled_total` counts.
    pub fn is_throttling(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Throttled { .. }
                | ErrorKind::Transient {
                    retry_after: Some(_)
                }
        )
    }

    /// The delay the service asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.kind {
            ErrorKind::Throttled { retry_after } | ErrorKind::Transient { retry_after } => {
                retry_after
            }
            _ => None,
        }
    }
}

impl fmt::Display for TenantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " (request-id {id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for TenantError {}
