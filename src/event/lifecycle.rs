//! The lifecycle payload of `hr.*` events (camelCase on the wire) and the checks on the fields
//! offboard interprets; other fields are carried as they are, within the event limits.

use super::envelope::EventError;
use super::limits::shown;
use super::subject::{is_object_id, is_upn};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

impl LifecycleData {
    /// The fields offboard interprets, checked: dates parse, codes have their shape, people
    /// are named by UPN or object id.
    pub(super) fn check(&self) -> Result<(), EventError> {
        if let Some(day) = &self.last_working_day {
            parse_instant(day).ok_or_else(|| EventError::Invalid {
                field: "data.lastWorkingDay",
                reason: format!(
                    "`{}` is neither a date (YYYY-MM-DD) nor an RFC 3339 date-time",
                    shown(day)
                ),
            })?;
        }
        if let Some(code) = &self.usage_location
            && !is_alpha2_shape(code)
        {
            return Err(EventError::Invalid {
                field: "data.usageLocation",
                reason: format!("`{}` is not an ISO 3166-1 alpha-2 code", shown(code)),
            });
        }
        if let Some(m) = &self.manager
            && !m.trim().is_empty()
            && !(is_upn(m.trim()) || is_object_id(m.trim()))
        {
            return Err(EventError::Invalid {
                field: "data.manager",
                reason: format!(
                    "`{}` is neither a user principal name (name@domain) nor an object id (GUID)",
                    shown(m)
                ),
            });
        }
        Ok(())
    }
}

/// Two ASCII letters, either case (the joiner's `usage.set` checks the code against the
/// officially assigned ones and upper-cases it).
fn is_alpha2_shape(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic())
}

/// What to do with the leaver's mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailboxChoice {
    /// Keep it as a shared mailbox; the account stays, disabled.
    Shared,
    /// Let it go with the account.
    Delete,
}

/// What to do with the leaver's OneDrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OneDriveChoice {
    Backup,
    Manager,
    Both,
    None,
}

/// Lifecycle data fields (camelCase on the wire).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_working_day: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<MailboxChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onedrive: Option<OneDriveChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_reply: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_location: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Mover with group-based licensing: the group that assigns `from` (object id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_group: Option<String>,
    /// Mover with group-based licensing: the group that assigns `to` (object id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_group: Option<String>,
}

/// Parses a date or a date-time. A bare date means the end of that day (UTC): the person
/// still works on their last working day, so the run waits until the day is over.
pub fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    let next = day.succ_opt()?;
    Some(next.and_hms_opt(0, 0, 0)?.and_utc())
}
