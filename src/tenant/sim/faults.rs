//! Fault injection: throttling, transient failures and lost responses, drawn per trait call
//! from a seeded deterministic generator so a failing test replays exactly.

use crate::tenant::{ErrorKind, TenantError};
use std::time::Duration;

/// Fault rates (0.0–1.0 each) applied per trait call. `Default` = all off.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimFaults {
    pub throttle_rate: f64,
    pub transient_rate: f64,
    /// The change IS applied, then a transient error is returned.
    pub lost_response_rate: f64,
    /// The `Retry-After` of throttled responses.
    pub retry_after_ms: u64,
    pub seed: u64,
    /// Latency added to every call (the call waits asynchronously first).
    pub latency_ms: u64,
}

/// What happens to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    Throttle,
    Transient,
    LostResponse,
}

/// The configured rates plus a SplitMix64 generator.
#[derive(Debug, Clone, Default)]
pub struct FaultState {
    faults: SimFaults,
    rng: u64,
}

impl FaultState {
    pub fn new(faults: SimFaults) -> Self {
        let rng = faults.seed;
        FaultState { faults, rng }
    }

    fn next_f64(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn latency(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.faults.latency_ms)
    }

    /// Draws the fault of the next call (one draw per call, whatever the rates).
    pub fn draw(&mut self) -> Fault {
        let f = &self.faults;
        if f.throttle_rate <= 0.0 && f.transient_rate <= 0.0 && f.lost_response_rate <= 0.0 {
            return Fault::None;
        }
        let (t, tr, l) = (f.throttle_rate, f.transient_rate, f.lost_response_rate);
        let x = self.next_f64();
        if x < t {
            Fault::Throttle
        } else if x < t + tr {
            Fault::Transient
        } else if x < t + tr + l {
            Fault::LostResponse
        } else {
            Fault::None
        }
    }

    pub fn throttled(&self) -> TenantError {
        TenantError::throttled(Some(Duration::from_millis(self.faults.retry_after_ms)))
    }
}

pub fn transient() -> TenantError {
    TenantError::new(
        ErrorKind::Transient { retry_after: None },
        "ServiceUnavailable",
        "The service is temporarily unavailable. Please retry later. (simulated)",
    )
}

pub fn lost_response() -> TenantError {
    TenantError::new(
        ErrorKind::Transient { retry_after: None },
        "GatewayTimeout",
        "The operation timed out before a response was received; it may have been applied. (simulated lost response)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_faults_and_rates_roughly_hold() {
        let f = SimFaults {
            throttle_rate: 0.2,
            transient_rate: 0.1,
            lost_response_rate: 0.1,
            retry_after_ms: 5,
            seed: 42,
            latency_ms: 0,
        };
        let mut a = FaultState::new(f.clone());
        let mut b = FaultState::new(f);
        let da: Vec<Fault> = (0..1000).map(|_| a.draw()).collect();
        let db: Vec<Fault> = (0..1000).map(|_| b.draw()).collect();
        assert_eq!(da, db);
        let throttles = da.iter().filter(|x| **x == Fault::Throttle).count();
        assert!((120..280).contains(&throttles), "{throttles}");
        assert!(da.contains(&Fault::LostResponse));
        assert!(da.contains(&Fault::None));
    }

    #[test]
    fn default_is_off() {
        let mut s = FaultState::new(SimFaults::default());
        assert!((0..100).all(|_| s.draw() == Fault::None));
    }
}
