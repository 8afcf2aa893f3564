//! The settings as the rest of the program uses them, with their defaults.

use super::checks::check_retention;
use super::keys::{Config, DEFAULT_HTTP_MAX_CONNECTIONS};
use std::path::PathBuf;

impl Config {
    /// See `retention` (checked when the configuration is loaded).
    pub fn retention(&self) -> std::time::Duration {
        self.retention
            .as_deref()
            .and_then(|r| check_retention(r).ok())
            .unwrap_or(crate::engine::retention::DEFAULT)
    }

    /// See `shutdown_grace` (checked when the configuration is loaded).
    pub fn shutdown_grace(&self) -> std::time::Duration {
        self.shutdown_grace
            .as_deref()
            .and_then(|g| humantime::parse_duration(g).ok())
            .unwrap_or(std::time::Duration::from_secs(30))
    }

    /// The protected accounts (admin-role holders are protected unless turned off).
    pub fn protection(&self) -> crate::steps::Protection {
        crate::steps::Protection {
            upns: self.protected_upns.clone().unwrap_or_default(),
            groups: self.protected_groups.clone().unwrap_or_default(),
            admin_roles: self.protect_admin_roles.unwrap_or(true),
        }
    }

    /// The mass-offboarding quarantine of `offboard serve` (on by default).
    pub fn quarantine(&self) -> crate::engine::QuarantinePolicy {
        crate::engine::QuarantinePolicy {
            threshold: self.quarantine_threshold.unwrap_or(500),
            percent: self.quarantine_percent.unwrap_or(10.0),
            window: self
                .quarantine_window
                .as_deref()
                .and_then(|w| humantime::parse_duration(w).ok())
                .unwrap_or(std::time::Duration::from_secs(24 * 3600)),
        }
    }

    /// What `seats.reduce` does when its step does not say.
    pub fn seats(&self) -> crate::steps::SeatSettings {
        crate::steps::SeatSettings {
            on_leave: self.seats_on_leave.unwrap_or(false),
            buffer: self.seats_buffer.unwrap_or(0),
        }
    }

    /// This instance's shards; `None` when not sharded (checked when the configuration is
    /// loaded).
    pub fn sharding(&self) -> Result<Option<crate::shard::Shards>, String> {
        crate::shard::Shards::parse(self.shards, self.shard.as_deref())
    }

    /// See `http_max_connections` (checked when the configuration is loaded).
    pub fn http_max_connections(&self) -> usize {
        self.http_max_connections
            .unwrap_or(DEFAULT_HTTP_MAX_CONNECTIONS)
    }

    /// The open files `offboard serve` may need at once: one per admin API connection, up to
    /// four per executing run (its connections to the tenant's services, which the HTTP
    /// client keeps pooled per host, and a backup file being written), and 256 for the
    /// store's files, the broker's connections, the listener and the runtime. The service
    /// warns at start when its limit is lower; deploy/ sets `LimitNOFILE` above it.
    pub fn open_files_budget(&self) -> u64 {
        let runs = self
            .concurrency
            .unwrap_or(crate::engine::EngineConfig::DEFAULT_CONCURRENCY);
        (self.http_max_connections() + 4 * runs.max(1) + 256) as u64
    }

    pub fn http_addr(&self) -> String {
        self.http_addr
            .clone()
            .unwrap_or_else(|| "127.0.0.1:8080".into())
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("data"))
    }

    pub fn workflows_dir(&self) -> PathBuf {
        self.workflows_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("workflows"))
    }

    /// The backup directory: `OFFBOARD_BACKUP_URL` as a path or `file://` URL, else
    /// `<data dir>/backups`.
    pub fn backup_dir(&self) -> PathBuf {
        match &self.backup_url {
            Some(u) => PathBuf::from(u.strip_prefix("file://").unwrap_or(u)),
            None => self.data_dir().join("backups"),
        }
    }

    pub fn sim_scenario(&self) -> PathBuf {
        self.sim_scenario
            .clone()
            .unwrap_or_else(|| PathBuf::from("examples/tenant.json"))
    }
}
