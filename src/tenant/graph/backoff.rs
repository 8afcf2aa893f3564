//! Retry timing (docs/microsoft-365-api.md §8.1): `Retry-After` in seconds (decimals too,
//! e.g. `2.128`) or as an HTTP-date, and exponential backoff with full jitter without one.

use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::time::Duration;

/// The `Retry-After` of a response, if it has a usable one.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    parse_retry_after(headers.get(RETRY_AFTER)?.to_str().ok()?, chrono::Utc::now())
}

/// Seconds (integer or decimal) or an HTTP-date (`Wed, 21 Oct 2026 07:28:00 GMT`), relative
/// to `now`; a date in the past is zero.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(86_400.0)));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&chrono::Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// Full jitter: a random wait in `[0, min(max, base * 2^(attempt-1))]` for the `attempt`-th
/// retry (1-based).
pub fn full_jitter(base: Duration, max: Duration, attempt: u32) -> Duration {
    let ceiling = exponential(base, max, attempt);
    ceiling.mul_f64(rand::random_range(0.0..=1.0))
}

fn exponential(base: Duration, max: Duration, attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
    base.saturating_mul(factor).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn retry_after_accepts_seconds_decimals_and_dates() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 9, 1, 10, 0, 0).unwrap();
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(" 2.128 ", now),
            Some(Duration::from_millis(2128))
        );
        assert_eq!(
            parse_retry_after("Tue, 01 Sep 2026 10:00:07 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Tue, 01 Sep 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitters_below_it() {
        let (base, max) = (Duration::from_millis(500), Duration::from_secs(30));
        assert_eq!(exponential(base, max, 1), base);
        assert_eq!(exponential(base, max, 3), Duration::from_secs(2));
        assert_eq!(exponential(base, max, 30), max);
        for attempt in 1..10 {
            assert!(full_jitter(base, max, attempt) <= exponential(base, max, attempt));
        }
    }
}
