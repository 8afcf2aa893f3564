//! A broker outage as the log tells it, at a bounded rate: the first failed connect (or lost
//! session) of an outage is logged at once, later ones at most once per [`LOG_EVERY`] with the
//! number of failures since the last line; consuming again is logged once after a logged
//! failure. An outage ends when a session has held for a while, so a broker that accepts and
//! then drops every connection is one outage, not a line per reconnect. Pure: unit-tested with
//! explicit instants.

use std::time::{Duration, Instant};

/// At most one failure line per this interval during an outage.
pub const LOG_EVERY: Duration = Duration::from_secs(60);

/// What to log about a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureLine {
    /// The first line of this outage.
    pub first: bool,
    /// Failures since the previous line, this one included.
    pub failures: u64,
    /// Failures in the outage so far.
    pub total: u64,
    /// Since the outage's first failure.
    pub down_for: Duration,
}

/// What to log about consuming (again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumingLine {
    /// Failures of the outage before it (0 on the first start).
    pub after_failures: u64,
    pub down_for: Duration,
}

#[derive(Debug, Default)]
pub struct Outage {
    total: u64,
    since: Option<Instant>,
    last_line: Option<Instant>,
    unlogged: u64,
    owe_consuming_line: bool,
    consumed_before: bool,
}

impl Outage {
    /// A connect failed or a session was lost at `now`; returns the line to log, if any.
    pub fn failed(&mut self, now: Instant) -> Option<FailureLine> {
        self.total += 1;
        self.unlogged += 1;
        let since = *self.since.get_or_insert(now);
        let due = self
            .last_line
            .is_none_or(|t| now.saturating_duration_since(t) >= LOG_EVERY);
        if !due {
            return None;
        }
        let first = self.last_line.is_none();
        self.last_line = Some(now);
        self.owe_consuming_line = true;
        Some(FailureLine {
            first,
            failures: std::mem::take(&mut self.unlogged),
            total: self.total,
            down_for: now.saturating_duration_since(since),
        })
    }

    /// Consuming started at `now`; returns the line to log, if any.
    pub fn consuming(&mut self, now: Instant) -> Option<ConsumingLine> {
        if self.consumed_before && !self.owe_consuming_line {
            return None;
        }
        self.consumed_before = true;
        self.owe_consuming_line = false;
        Some(ConsumingLine {
            after_failures: self.total,
            down_for: self
                .since
                .map(|s| now.saturating_duration_since(s))
                .unwrap_or_default(),
        })
    }

    /// A session held long enough: the outage, if any, is over.
    pub fn settled(&mut self) {
        self.total = 0;
        self.since = None;
        self.last_line = None;
        self.unlogged = 0;
        self.owe_consuming_line = false;
    }

    /// Failures in the current outage.
    pub fn failures(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failure_is_logged_at_once_then_once_a_minute_with_the_count() {
        let t0 = Instant::now();
        let mut o = Outage::default();
        let first = o.failed(t0).unwrap();
        assert!(first.first);
        assert_eq!((first.failures, first.total), (1, 1));
        // Reconnecting every 5 s for a minute: nothing more until a minute has passed.
        for i in 1..12 {
            assert_eq!(o.failed(t0 + Duration::from_secs(5 * i)), None);
        }
        let again = o.failed(t0 + Duration::from_secs(60)).unwrap();
        assert!(!again.first);
        assert_eq!((again.failures, again.total), (12, 13));
        assert_eq!(again.down_for, Duration::from_secs(60));
        assert_eq!(o.failures(), 13);
    }

    #[test]
    fn consuming_is_logged_first_and_after_a_logged_failure_only() {
        let t0 = Instant::now();
        let mut o = Outage::default();
        assert_eq!(o.consuming(t0).unwrap().after_failures, 0);
        assert_eq!(
            o.consuming(t0),
            None,
            "a second start with no failure says nothing"
        );
        o.failed(t0).unwrap();
        let back = o.consuming(t0 + Duration::from_secs(3)).unwrap();
        assert_eq!(back.after_failures, 1);
        assert_eq!(back.down_for, Duration::from_secs(3));
        // A broker that drops every session at once: still one outage, rate-limited.
        assert_eq!(o.failed(t0 + Duration::from_secs(4)), None);
        assert_eq!(o.consuming(t0 + Duration::from_secs(5)), None);
        o.settled();
        assert!(o.failed(t0 + Duration::from_secs(6)).unwrap().first);
        assert_eq!(o.failures(), 1);
    }
}
