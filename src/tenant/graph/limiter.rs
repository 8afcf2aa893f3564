//! Client-side rate limits per API family (docs/microsoft-365-api.md §8.2), so a burst of runs
//! spends the published quota instead of provoking 429s: one GCRA bucket per family, whose rate
//! halves on every 429 (and pauses the family for its Retry-After) and climbs back slowly with each
//! success. One [`Limiters`] per `GraphTenant`, i.e. per app and tenant, as Graph counts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The quota a call counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// Identity reads, counted in resource units (§8.2 base costs).
    DirectoryRead,
    /// Identity POST/PATCH/PUT/DELETE: 3,000 writes per 150 s per app and tenant.
    DirectoryWrite,
    /// mailboxSettings (Outlook: 10,000 per 10 min per app and mailbox).
    Outlook,
    /// OneDrive / SharePoint: unpublished.
    Files,
    /// Exchange admin API (InvokeCommand): unpublished.
    Exchange,
    /// Partner Center subscriptions: 500 per minute per tenant.
    PartnerCenter,
}

/// A sustained rate and how much may go at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Tokens per second (a token is a request, or a resource unit for directory reads).
    pub per_second: f64,
    /// Tokens that may be spent at once after a quiet period.
    pub burst: f64,
}

#[derive(Debug, Clone)]
pub struct LimiterConfig {
    pub directory_read: Rate,
    pub directory_write: Rate,
    pub outlook: Rate,
    pub files: Rate,
    pub exchange: Rate,
    pub partner_center: Rate,
    /// The rate is multiplied by this on each 429.
    pub slow_down: f64,
    /// Each success adds this fraction of the configured rate back.
    pub recover: f64,
    /// The rate never drops below this fraction of the configured rate.
    pub floor: f64,
}

impl Default for LimiterConfig {
    /// The published quotas (§8.2) with 1–4 % headroom; the smallest tenant size for reads.
    fn default() -> Self {
        LimiterConfig {
            // 3,500 resource units per 10 s (tenant with < 50 users).
            directory_read: Rate {
                per_second: 340.0,
                burst: 340.0,
            },
            // 3,000 writes per 150 s: 19.8/s with a burst of 10 stays under 3,000 in any window.
            directory_write: Rate {
                per_second: 19.8,
                burst: 10.0,
            },
            outlook: Rate {
                per_second: 50.0,
                burst: 50.0,
            },
            files: Rate {
                per_second: 50.0,
                burst: 50.0,
            },
            exchange: Rate {
                per_second: 10.0,
                burst: 10.0,
            },
            // 500 per minute.
            partner_center: Rate {
                per_second: 8.0,
                burst: 8.0,
            },
            slow_down: 0.5,
            recover: 0.02,
            floor: 0.05,
        }
    }
}

impl LimiterConfig {
    fn rate(&self, family: Family) -> Rate {
        match family {
            Family::DirectoryRead => self.directory_read,
            Family::DirectoryWrite => self.directory_write,
            Family::Outlook => self.outlook,
            Family::Files => self.files,
            Family::Exchange => self.exchange,
            Family::PartnerCenter => self.partner_center,
        }
    }
}

#[derive(Debug)]
struct Bucket {
    configured: Rate,
    rate: f64,
    /// GCRA theoretical arrival time: when the bucket is empty again.
    tat: Instant,
    /// No call of the family starts before this (the last Retry-After).
    paused_until: Instant,
}

#[derive(Debug)]
pub struct Limiters {
    config: LimiterConfig,
    buckets: HashMap<Family, Mutex<Bucket>>,
}

const FAMILIES: [Family; 6] = [
    Family::DirectoryRead,
    Family::DirectoryWrite,
    Family::Outlook,
    Family::Files,
    Family::Exchange,
    Family::PartnerCenter,
];

impl Limiters {
    pub fn new(config: LimiterConfig) -> Self {
        let now = Instant::now();
        let buckets = FAMILIES
            .iter()
            .map(|f| {
                let configured = config.rate(*f);
                let bucket = Bucket {
                    configured,
                    rate: configured.per_second,
                    tat: now,
                    paused_until: now,
                };
                (*f, Mutex::new(bucket))
            })
            .collect();
        Limiters { config, buckets }
    }

    fn with<T>(&self, family: Family, f: impl FnOnce(&mut Bucket) -> T) -> Option<T> {
        let bucket = self.buckets.get(&family)?;
        // A poisoned lock only means another task panicked mid-update of plain numbers.
        let mut b = bucket.lock().unwrap_or_else(|e| e.into_inner());
        Some(f(&mut b))
    }

    /// Waits until `cost` tokens of `family` may be spent, reserving them.
    pub async fn acquire(&self, family: Family, cost: u32) {
        let now = Instant::now();
        let start = self.with(family, |b| {
            let rate = b.rate.max(f64::MIN_POSITIVE);
            let tolerance = Duration::from_secs_f64((b.configured.burst.max(1.0) - 1.0) / rate);
            let earliest = b.tat.checked_sub(tolerance).unwrap_or(now);
            let start = now.max(earliest).max(b.paused_until);
            b.tat = b.tat.max(start) + Duration::from_secs_f64(f64::from(cost.max(1)) / rate);
            start
        });
        if let Some(start) = start.filter(|s| *s > now) {
            tokio::time::sleep_until(start).await;
        }
    }

    /// A 429: slow the family down and pause it for the Retry-After.
    pub fn throttled(&self, family: Family, retry_after: Option<Duration>) {
        let (slow_down, floor) = (self.config.slow_down, self.config.floor);
        let rate = self.with(family, |b| {
            b.rate = (b.rate * slow_down).max(b.configured.per_second * floor);
            if let Some(wait) = retry_after {
                b.paused_until = b.paused_until.max(Instant::now() + wait);
            }
            b.rate
        });
        tracing::warn!(
            ?family,
            rate = rate.unwrap_or_default(),
            "Throttled by the service; slowing down."
        );
    }

    /// A success: recover a little of the configured rate.
    pub fn succeeded(&self, family: Family) {
        let recover = self.config.recover;
        self.with(family, |b| {
            let max = b.configured.per_second;
            b.rate = (b.rate + max * recover).min(max);
        });
    }

    /// The current rate of a family, in tokens per second.
    pub fn rate(&self, family: Family) -> f64 {
        self.with(family, |b| b.rate).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiters() -> Limiters {
        Limiters::new(LimiterConfig {
            directory_write: Rate {
                per_second: 10.0,
                burst: 1.0,
            },
            ..LimiterConfig::default()
        })
    }

    async fn time_for(l: &Limiters, n: u32) -> Duration {
        let t0 = Instant::now();
        for _ in 0..n {
            l.acquire(Family::DirectoryWrite, 1).await;
        }
        t0.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn the_configured_rate_is_kept_and_halved_after_a_429() {
        let l = limiters();
        let before = time_for(&l, 21).await;
        assert!(
            before >= Duration::from_millis(1990) && before <= Duration::from_millis(2010),
            "{before:?}"
        );
        l.throttled(Family::DirectoryWrite, None);
        assert_eq!(l.rate(Family::DirectoryWrite), 5.0);
        let after = time_for(&l, 20).await;
        assert!(
            after >= Duration::from_millis(3900),
            "slower after a 429: {after:?}"
        );
        for _ in 0..100 {
            l.succeeded(Family::DirectoryWrite);
        }
        assert_eq!(
            l.rate(Family::DirectoryWrite),
            10.0,
            "recovers to the configured rate, not above"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_pauses_the_whole_family_only() {
        let l = limiters();
        l.acquire(Family::DirectoryWrite, 1).await;
        l.throttled(Family::DirectoryWrite, Some(Duration::from_secs(7)));
        let t0 = Instant::now();
        l.acquire(Family::DirectoryRead, 1).await;
        assert!(
            t0.elapsed() < Duration::from_millis(10),
            "other families go on"
        );
        l.acquire(Family::DirectoryWrite, 1).await;
        assert!(t0.elapsed() >= Duration::from_secs(7));
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_never_drops_below_the_floor() {
        let l = limiters();
        for _ in 0..50 {
            l.throttled(Family::DirectoryWrite, None);
        }
        assert!((l.rate(Family::DirectoryWrite) - 0.5).abs() < 1e-9);
    }
}
