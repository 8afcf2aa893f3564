//! `[schedule]`: a workflow that runs on a cron schedule (e.g. the retention sweep). The
//! engine fires one event per occurrence, with an id derived from the occurrence, so an
//! occurrence fired twice (two ticks, a restart) makes one run.

use chrono::{DateTime, Timelike, Utc};
use croner::Cron;
use std::str::FromStr;

/// Cron used when `[schedule]` gives none: every day at midnight UTC.
pub const DEFAULT_CRON: &str = "@daily";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// 5-field cron (6 with seconds) or a nickname (`@daily`, `@hourly`, ...), in UTC.
    pub cron: String,
    /// The `subject` of the events it fires.
    pub subject: String,
    /// The `type` of the events it fires (the workflow's trigger).
    pub event_type: String,
    /// 1-based line of `[schedule]`.
    pub line: usize,
}

impl Schedule {
    /// Checks a cron expression; the error says what is wrong with it.
    pub fn check(cron: &str) -> Result<(), String> {
        Cron::from_str(cron).map(|_| ()).map_err(|e| e.to_string())
    }

    /// The latest occurrence at or before `now`, if any within the cron's range.
    pub fn latest(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let cron = Cron::from_str(&self.cron).ok()?;
        // Occurrences are whole seconds; croner keeps the sub-second part of its start.
        let now = now.with_nanosecond(0)?;
        cron.find_previous_occurrence(&now, true)
            .ok()?
            .with_nanosecond(0)
    }

    /// The first occurrence after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let cron = Cron::from_str(&self.cron).ok()?;
        cron.find_next_occurrence(&t.with_nanosecond(0)?, false)
            .ok()?
            .with_nanosecond(0)
    }

    /// The event id of one occurrence: the same occurrence always gets the same id.
    pub fn event_id(&self, workflow: &str, occurrence: DateTime<Utc>) -> String {
        format!(
            "schedule:{workflow}:{}",
            occurrence.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    }
}
