//! Loading: the file, then the environment, then every check (README "Configuration").

use super::checks::{check_admin_token, check_retention};
use super::keys::{Config, DEFAULT_HTTP_MAX_CONNECTIONS, MAX_HTTP_MAX_CONNECTIONS};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    /// A value from the configuration file (as opposed to the environment) refused by
    /// [`Config::apply_env`]'s checks; [`Config::load`] names the file.
    #[error("`{key}` in the configuration file: {message}")]
    Key { key: &'static str, message: String },
}

impl Config {
    /// Reads `path` when it exists (an explicitly named file must exist), then applies the
    /// environment.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let (path, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from("offboard.toml"), false),
        };
        let mut cfg = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str::<Config>(&text).map_err(|e| ConfigError::File {
                path: path.display().to_string(),
                message: e.to_string().trim().to_string(),
            })?,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Config::default(),
            Err(e) => {
                return Err(ConfigError::File {
                    path: path.display().to_string(),
                    message: e.to_string(),
                });
            }
        };
        cfg.apply_env(|k| std::env::var(k).ok())
            .map_err(|e| match e {
                ConfigError::Key { key, message } => ConfigError::File {
                    path: path.display().to_string(),
                    message: format!("{key}: {message}"),
                },
                other => other,
            })?;
        Ok(cfg)
    }

    /// Overrides keys from `OFFBOARD_<KEY>` variables.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        macro_rules! env {
            ($($field:ident => $var:literal),* $(,)?) => {$(
                if let Some(v) = get($var).filter(|v| !v.is_empty()) {
                    self.$field = Some(v.into());
                }
            )*};
        }
        env!(
            data_dir => "OFFBOARD_DATA_DIR", workflows_dir => "OFFBOARD_WORKFLOWS_DIR",
            http_addr => "OFFBOARD_HTTP_ADDR", admin_token => "OFFBOARD_ADMIN_TOKEN",
            amqp_url => "OFFBOARD_AMQP_URL", amqp_prefix => "OFFBOARD_AMQP_PREFIX",
            shutdown_grace => "OFFBOARD_SHUTDOWN_GRACE", tenant => "OFFBOARD_TENANT",
            sim_scenario => "OFFBOARD_SIM_SCENARIO", tenant_id => "OFFBOARD_TENANT_ID",
            client_id => "OFFBOARD_CLIENT_ID", client_secret => "OFFBOARD_CLIENT_SECRET",
            client_cert => "OFFBOARD_CLIENT_CERT", login_url => "OFFBOARD_LOGIN_URL",
            graph_url => "OFFBOARD_GRAPH_URL", exchange_url => "OFFBOARD_EXCHANGE_URL",
            partner_center_url => "OFFBOARD_PARTNER_CENTER_URL",
            partner_tenant_id => "OFFBOARD_PARTNER_TENANT_ID",
            csp_customer_id => "OFFBOARD_CSP_CUSTOMER_ID", backup_url => "OFFBOARD_BACKUP_URL",
            event_key => "OFFBOARD_EVENT_KEY", quarantine_window => "OFFBOARD_QUARANTINE_WINDOW",
            shard => "OFFBOARD_SHARD", retention => "OFFBOARD_RETENTION",
        );
        if let Some(token) = &self.admin_token {
            check_admin_token(token).map_err(|message| {
                if get("OFFBOARD_ADMIN_TOKEN").is_some_and(|v| !v.is_empty()) {
                    ConfigError::Env {
                        var: "OFFBOARD_ADMIN_TOKEN".into(),
                        message,
                    }
                } else {
                    ConfigError::Key {
                        key: "admin_token",
                        message,
                    }
                }
            })?;
        }
        if let Some(v) = get("OFFBOARD_HTTP_MAX_CONNECTIONS").filter(|v| !v.is_empty()) {
            self.http_max_connections = Some(parse_env(
                "OFFBOARD_HTTP_MAX_CONNECTIONS",
                &v,
                "a whole number of connections",
            )?);
        }
        if let Some(n) = self.http_max_connections
            && !(1..=MAX_HTTP_MAX_CONNECTIONS).contains(&n)
        {
            return Err(ConfigError::Env {
                var: "OFFBOARD_HTTP_MAX_CONNECTIONS".into(),
                message: format!(
                    "{n} is not between 1 and {MAX_HTTP_MAX_CONNECTIONS} (default {DEFAULT_HTTP_MAX_CONNECTIONS})"
                ),
            });
        }
        if let Some(v) = get("OFFBOARD_SHARDS").filter(|v| !v.is_empty()) {
            self.shards = Some(parse_env(
                "OFFBOARD_SHARDS",
                &v,
                "a whole number of shards (1: no sharding)",
            )?);
        }
        self.sharding().map_err(|message| ConfigError::Env {
            var: "OFFBOARD_SHARD".into(),
            message,
        })?;
        let list = |v: String| -> Vec<String> {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        if let Some(v) = get("OFFBOARD_PROTECTED_UPNS") {
            self.protected_upns = Some(list(v));
        }
        if let Some(v) = get("OFFBOARD_PROTECTED_GROUPS") {
            self.protected_groups = Some(list(v));
        }
        if let Some(v) = get("OFFBOARD_PROTECT_ADMIN_ROLES").filter(|v| !v.is_empty()) {
            self.protect_admin_roles = Some(parse_env(
                "OFFBOARD_PROTECT_ADMIN_ROLES",
                &v,
                "`true` or `false`",
            )?);
        }
        if let Some(v) = get("OFFBOARD_QUARANTINE_THRESHOLD").filter(|v| !v.is_empty()) {
            self.quarantine_threshold = Some(parse_env(
                "OFFBOARD_QUARANTINE_THRESHOLD",
                &v,
                "a whole number (0: no count limit)",
            )?);
        }
        if let Some(v) = get("OFFBOARD_QUARANTINE_PERCENT").filter(|v| !v.is_empty()) {
            self.quarantine_percent = Some(parse_env(
                "OFFBOARD_QUARANTINE_PERCENT",
                &v,
                "a percentage such as `10` (0: no share limit)",
            )?);
        }
        if let Some(p) = self.quarantine_percent
            && !(0.0..=100.0).contains(&p)
        {
            return Err(ConfigError::Env {
                var: "OFFBOARD_QUARANTINE_PERCENT".into(),
                message: format!("{p} is not a percentage between 0 and 100"),
            });
        }
        if let Some(w) = &self.quarantine_window {
            humantime::parse_duration(w).map_err(|e| ConfigError::Env {
                var: "OFFBOARD_QUARANTINE_WINDOW".into(),
                message: format!("`{w}` is not a duration such as `24h`: {e}"),
            })?;
        }
        if let Some(v) = get("OFFBOARD_SEATS_ON_LEAVE").filter(|v| !v.is_empty()) {
            self.seats_on_leave = Some(parse_env(
                "OFFBOARD_SEATS_ON_LEAVE",
                &v,
                "`true` or `false`",
            )?);
        }
        if let Some(v) = get("OFFBOARD_SEATS_BUFFER").filter(|v| !v.is_empty()) {
            self.seats_buffer = Some(parse_env(
                "OFFBOARD_SEATS_BUFFER",
                &v,
                "a whole number of spare seats per SKU",
            )?);
        }
        self.check_urls()?;
        if let Some(v) = get("OFFBOARD_CONCURRENCY").filter(|v| !v.is_empty()) {
            self.concurrency = Some(v.parse().map_err(|_| ConfigError::Env {
                var: "OFFBOARD_CONCURRENCY".into(),
                message: format!("`{v}` is not a positive number"),
            })?);
        }
        if let Some(t) = &self.tenant
            && t != "sim"
            && t != "graph"
        {
            return Err(ConfigError::Env {
                var: "OFFBOARD_TENANT".into(),
                message: format!("`{t}` is neither `sim` nor `graph`"),
            });
        }
        if let Some(g) = &self.shutdown_grace {
            humantime::parse_duration(g).map_err(|e| ConfigError::Env {
                var: "OFFBOARD_SHUTDOWN_GRACE".into(),
                message: format!("`{g}` is not a duration such as `30s`: {e}"),
            })?;
        }
        if let Some(r) = &self.retention {
            check_retention(r).map_err(|message| ConfigError::Env {
                var: "OFFBOARD_RETENTION".into(),
                message,
            })?;
        }
        Ok(())
    }
}

fn parse_env<T: std::str::FromStr>(var: &str, v: &str, what: &str) -> Result<T, ConfigError> {
    v.trim().parse().map_err(|_| ConfigError::Env {
        var: var.into(),
        message: format!("`{v}` is not {what}"),
    })
}
