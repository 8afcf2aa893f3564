//! Retry policy of a step: how many attempts, and the capped exponential backoff between them.

use std::time::Duration;

/// How often a step is attempted and how long to wait between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, including the first (at least 1).
    pub attempts: u32,
    /// Delay after the first failed attempt; doubles after each further failure.
    pub backoff: Duration,
    /// Upper bound of the delay.
    pub max_delay: Duration,
}

/// Built-in defaults when neither the step nor `[defaults]` says otherwise.
pub const DEFAULT_ATTEMPTS: u32 = 5;
pub const DEFAULT_BACKOFF: Duration = Duration::from_secs(2);
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(5 * 60);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2 * 60);

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: DEFAULT_ATTEMPTS,
            backoff: DEFAULT_BACKOFF,
            max_delay: DEFAULT_MAX_DELAY,
        }
    }
}

impl RetryPolicy {
    /// Delay before the next attempt after `failed_attempts` failures:
    /// `backoff * 2^(n-1)`, capped at `max_delay`. `0` is treated as `1`.
    pub fn delay(&self, failed_attempts: u32) -> Duration {
        let exponent = failed_attempts.max(1) - 1;
        let factor = 2u32.checked_pow(exponent).unwrap_or(u32::MAX);
        self.backoff
            .checked_mul(factor)
            .map_or(self.max_delay, |d| d.min(self.max_delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(backoff: u64, max: u64) -> RetryPolicy {
        RetryPolicy {
            attempts: 5,
            backoff: Duration::from_secs(backoff),
            max_delay: Duration::from_secs(max),
        }
    }

    #[test]
    fn delay_doubles_from_the_backoff_and_is_capped() {
        let p = policy(2, 60);
        let got: Vec<u64> = (1..=7).map(|n| p.delay(n).as_secs()).collect();
        assert_eq!(got, vec![2, 4, 8, 16, 32, 60, 60]);
    }

    #[test]
    fn delay_never_overflows() {
        let p = policy(3, 300);
        assert_eq!(p.delay(0), Duration::from_secs(3));
        assert_eq!(p.delay(40), Duration::from_secs(300));
        assert_eq!(p.delay(u32::MAX), Duration::from_secs(300));
        let huge = RetryPolicy {
            attempts: 1,
            backoff: Duration::MAX,
            max_delay: Duration::from_secs(1),
        };
        assert_eq!(huge.delay(3), Duration::from_secs(1));
    }
}
