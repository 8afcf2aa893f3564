//! The query of `GET /api/v1/runs`: `status`, `subject`, `workflow`, `since` / `until`
//! (RFC 3339, on `createdAt`), `limit`, `after`. An
//! empty value means "not given"; an unknown parameter is refused so a typo never silently
//! widens the listing.

use super::error::AdminError;
use crate::engine::{RunFilter, RunStatus};
use crate::ids::RunId;
use chrono::{DateTime, Utc};

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

const STATUSES: &str = "pending, running, waiting, succeeded, failed, blocked, cancelled";
const PARAMS: &str = "status, subject, workflow, since, until, limit, after";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub status: Option<RunStatus>,
    pub subject: Option<String>,
    pub workflow: Option<String>,
    /// Only runs created at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only runs created before this instant.
    pub until: Option<DateTime<Utc>>,
    pub limit: usize,
    /// Only runs with an id greater than this (the `next` of the previous page).
    pub after: Option<RunId>,
}

fn bad(message: String) -> AdminError {
    AdminError::bad_request("bad-query", message)
}

impl ListQuery {
    /// From the decoded `(name, value)` pairs of the query string.
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, AdminError> {
        let mut q = ListQuery {
            status: None,
            subject: None,
            workflow: None,
            since: None,
            until: None,
            limit: DEFAULT_LIMIT,
            after: None,
        };
        for (name, value) in pairs {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match name.as_str() {
                "status" => {
                    let s = RunStatus::parse(value).ok_or_else(|| {
                        bad(format!("unknown status `{value}`; use one of: {STATUSES}"))
                    })?;
                    q.status = Some(s);
                }
                "subject" => q.subject = Some(value.to_string()),
                "workflow" => q.workflow = Some(value.to_string()),
                "since" => q.since = Some(instant(name, value)?),
                "until" => q.until = Some(instant(name, value)?),
                "limit" => {
                    q.limit = value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| {
                            bad(format!(
                                "limit `{value}` is not a whole number from 1 to {MAX_LIMIT}; page with `after` for more"
                            ))
                        })?;
                }
                "after" => {
                    let id = RunId::parse(value).ok_or_else(|| {
                        bad(format!(
                            "after `{value}` is not a run id; pass the `next` value of the previous page"
                        ))
                    })?;
                    q.after = Some(id);
                }
                other => {
                    return Err(bad(format!(
                        "unknown query parameter `{other}`; the parameters are: {PARAMS}"
                    )));
                }
            }
        }
        Ok(q)
    }

    /// The filters, for the engine's listing.
    pub fn filter(&self) -> RunFilter {
        RunFilter {
            status: self.status,
            subject: self.subject.clone(),
            workflow: self.workflow.clone(),
            since: self.since,
            until: self.until,
        }
    }
}

fn instant(name: &str, value: &str) -> Result<DateTime<Utc>, AdminError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            bad(format!(
                "{name} `{value}` is not an RFC 3339 date-time ({e}); use e.g. 2026-11-01T00:00:00Z"
            ))
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<ListQuery, AdminError> {
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ListQuery::parse(&owned)
    }

    #[test]
    fn defaults_and_empty_values() {
        let q = parse(&[("status", ""), ("subject", " ")]).unwrap();
        assert_eq!(q.limit, DEFAULT_LIMIT);
        assert_eq!((q.status, q.subject), (None, None));
    }

    #[test]
    fn every_bad_value_is_named() {
        let msg = |p: &[(&str, &str)]| parse(p).unwrap_err().message;
        assert!(msg(&[("status", "done")]).contains("succeeded"));
        assert!(msg(&[("limit", "1001")]).contains("1000"));
        assert!(msg(&[("limit", "0")]).contains("limit"));
        assert!(msg(&[("after", "x")]).contains("run id"));
        assert!(msg(&[("state", "waiting")]).contains("status, subject"));
        assert!(msg(&[("since", "yesterday")]).contains("RFC 3339"));
        let q = parse(&[
            ("since", "2026-11-01T00:00:00Z"),
            ("until", "2026-11-02T01:00:00+01:00"),
        ])
        .unwrap();
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert!(q.filter().in_window(t("2026-11-01T00:00:00Z")));
        assert!(!q.filter().in_window(t("2026-10-31T23:59:59Z")));
        assert!(!q.filter().in_window(t("2026-11-02T00:00:00Z")));
        let q = parse(&[("status", "waiting"), ("limit", "1000")]).unwrap();
        assert_eq!((q.status, q.limit), (Some(RunStatus::Waiting), 1000));
    }
}
