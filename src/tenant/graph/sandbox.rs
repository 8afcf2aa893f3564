//! A client for the control surface of an `offboard sim-graph` sandbox (`/_sim/...`): its
//! simulated clock and its final state. Only a sandbox has these; the demo and the crash tests
//! use them to run offboard against a sim-graph in its own process.

use super::client::install_crypto_provider;
use crate::tenant::sim::Damage;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[error("the sim-graph sandbox at {base}: {message}")]
pub struct SandboxError {
    base: String,
    message: String,
}

/// The state a sandbox reports.
#[derive(Debug, Clone, Deserialize)]
pub struct SandboxState {
    pub fingerprint: Value,
    pub damage: Vec<Damage>,
}

#[derive(Debug, Clone)]
pub struct Sandbox {
    base: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Now {
    now: DateTime<Utc>,
}

impl Sandbox {
    /// `base` is the sandbox's root URL, e.g. `http://127.0.0.1:8765`.
    pub fn new(base: &str) -> Result<Self, SandboxError> {
        install_crypto_provider();
        let base = base.trim_end_matches('/').to_string();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| SandboxError {
                base: base.clone(),
                message: format!("building an HTTP client: {e}"),
            })?;
        Ok(Sandbox { base, http })
    }

    fn err(&self, message: impl Into<String>) -> SandboxError {
        SandboxError {
            base: self.base.clone(),
            message: message.into(),
        }
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<T, SandboxError> {
        let resp = req
            .send()
            .await
            .map_err(|e| self.err(format!("{what}: {e} (is `offboard sim-graph` running?)")))?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.text().await.unwrap_or_default();
            return Err(self.err(format!("{what}: HTTP {status}: {body}")));
        }
        resp.json()
            .await
            .map_err(|e| self.err(format!("{what}: unexpected answer: {e}")))
    }

    /// The sandbox's simulated time.
    pub async fn now(&self) -> Result<DateTime<Utc>, SandboxError> {
        let n: Now = self
            .json(
                self.http.get(format!("{}/_sim/clock", self.base)),
                "reading the clock",
            )
            .await?;
        Ok(n.now)
    }

    /// Moves the sandbox's clock forward to `t` (persisted before it answers).
    pub async fn advance_to(&self, t: DateTime<Utc>) -> Result<DateTime<Utc>, SandboxError> {
        let n: Now = self
            .json(
                self.http
                    .post(format!("{}/_sim/clock", self.base))
                    .json(&json!({ "advanceTo": t })),
                "moving the clock",
            )
            .await?;
        Ok(n.now)
    }

    /// Its tenant's fingerprint and damage records.
    pub async fn state(&self) -> Result<SandboxState, SandboxError> {
        self.json(
            self.http.get(format!("{}/_sim/state", self.base)),
            "reading the state",
        )
        .await
    }
}
