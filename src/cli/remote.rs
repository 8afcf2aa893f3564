//! The flags every command that talks to the service shares (`--config`, `--url`, `--json`)
//! and [`Remote`]: the admin API client plus the event key, from the command line, the
//! environment and the configuration. Secrets come only from the config or the environment.

use crate::api::client::AdminClient;
use crate::config::Config;
use crate::signature::EventKey;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct RemoteArgs {
    /// Configuration file (default: ./offboard.toml when it exists); gives http_addr,
    /// admin_token and event_key.
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Base URL of the admin API (default: http:// + the configured http_addr).
    #[arg(long, value_name = "URL", env = "OFFBOARD_URL", global = true)]
    pub url: Option<String>,
    /// Print JSON for scripts instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

/// A connection to the admin API.
pub struct Remote {
    pub client: AdminClient,
    /// Signs submitted events when set (`OFFBOARD_EVENT_KEY` / `event_key`).
    pub event_key: Option<EventKey>,
    pub json: bool,
}

impl Remote {
    pub fn connect(args: &RemoteArgs) -> anyhow::Result<Remote> {
        let cfg = Config::load(args.config.as_deref()).context("reading the configuration")?;
        let url = match args.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            Some(u) => u.to_string(),
            None => format!("http://{}", cfg.http_addr()),
        };
        let client = AdminClient::new(&url, cfg.admin_token.clone())?;
        Ok(Remote {
            client,
            event_key: cfg.event_key.as_deref().and_then(EventKey::new),
            json: args.json,
        })
    }

    /// The `x-offboard-signature` value for `body`, when a key is configured.
    pub fn sign(&self, body: &[u8]) -> Option<String> {
        self.event_key.as_ref().map(|k| k.sign(body))
    }
}

/// Prints `v` as pretty JSON on stdout.
pub fn print_json(v: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}
