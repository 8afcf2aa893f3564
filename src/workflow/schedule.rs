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
        cron.find_previous_occurrence(&whole_seconds(now), true)
            .ok()
            .map(whole_seconds)
    }

    /// The first occurrence after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let cron = Cron::from_str(&self.cron).ok()?;
        cron.find_next_occurrence(&whole_seconds(t), false)
            .ok()
            .map(whole_seconds)
    }

    /// The event id of one occurrence: the same occurrence always gets the same id.
    pub fn event_id(&self, workflow: &str, occurrence: DateTime<Utc>) -> String {
        format!(
            "schedule:{workflow}:{}",
            occurrence.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    }
}

/// Occurrences are whole seconds; croner carries the sub-second part of the instant it is
/// given into the occurrence it finds, which made the same occurrence compare differently
/// from one tick to the next (and miscounted missed occurrences).
fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(0).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occurrences_are_whole_seconds_whatever_the_instant() {
        let s = Schedule {
            cron: DEFAULT_CRON.into(),
            subject: "tenant".into(),
            event_type: "ops.retention-sweep".into(),
            line: 1,
        };
        let now: DateTime<Utc> = "2026-12-05T00:01:00.999Z".parse().unwrap();
        let midnight: DateTime<Utc> = "2026-12-05T00:00:00Z".parse().unwrap();
        assert_eq!(s.latest(now), Some(midnight));
        let before: DateTime<Utc> = "2026-12-01T00:00:00.5Z".parse().unwrap();
        assert_eq!(
            s.next_after(before),
            Some("2026-12-02T00:00:00Z".parse().unwrap())
        );
    }
}
