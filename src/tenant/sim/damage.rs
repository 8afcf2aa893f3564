//! A record of silent damage the real service would do (R2–R6, R8, R13): the simulated tenant
//! applies the consequence and keeps this record so tests can assert there is none.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Damage {
    pub at: DateTime<Utc>,
    /// The UPN of the user whose data was damaged; for seats (R13), the SKU's part number.
    pub user: String,
    /// The rule of docs/rules.md that was broken: `R2`, `R3`, `R4`, `R5`, `R6`, `R8`,
    /// `R13` (a subscription lowered below the seats in use).
    pub rule: String,
    /// What happened, for a person reading a failed test.
    pub what: String,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}: {}", self.at, self.rule, self.user, self.what)
    }
}
