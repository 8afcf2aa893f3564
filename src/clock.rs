//! Time source shared by the engine and the simulated tenant. Tests and the demo move a
//! [`SimClock`] forward so waits and last working days pass without sleeping.

use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Wall clock plus an offset that only moves forward. Cheap to clone; clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct SimClock {
    offset_ms: Arc<AtomicI64>,
}

impl SimClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// A clock whose offset starts at `offset_ms` (restored from a persisted simulation).
    pub fn with_offset_ms(offset_ms: i64) -> Self {
        SimClock {
            offset_ms: Arc::new(AtomicI64::new(offset_ms)),
        }
    }

    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds().max(0), Ordering::SeqCst);
    }

    /// Moves the clock to `t` if `t` is in its future; never moves it back.
    pub fn advance_to(&self, t: DateTime<Utc>) {
        let now = self.now();
        if t > now {
            self.advance(t - now);
        }
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::SeqCst)
    }
}

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_clock_moves_forward_only_and_clones_share_it() {
        let c = SimClock::new();
        let c2 = c.clone();
        let before = c.now();
        c.advance(Duration::days(3));
        assert!(c2.now() - before >= Duration::days(3));
        let later = c.now();
        c.advance_to(later - Duration::days(10));
        assert!(c.now() >= later);
    }
}
