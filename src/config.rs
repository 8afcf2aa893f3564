//! Configuration: `offboard.toml`, then environment variables, then defaults (README
//! "Configuration"). Every key of the file can be overridden by its `OFFBOARD_*` variable.

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Config {
    pub data_dir: Option<PathBuf>,
    pub workflows_dir: Option<PathBuf>,
    pub http_addr: Option<String>,
    /// Connections the admin API keeps open at once (default 512; README "Admin HTTP API").
    pub http_max_connections: Option<usize>,
    /// At least [`MIN_ADMIN_TOKEN_CHARS`] printable ASCII characters; checked at load.
    pub admin_token: Option<String>,
    pub amqp_url: Option<String>,
    /// Put in front of every exchange and queue name of the AMQP topology (several
    /// deployments on one broker; tests).
    pub amqp_prefix: Option<String>,
    /// `sim` (default) or `graph`.
    pub tenant: Option<String>,
    pub sim_scenario: Option<PathBuf>,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_cert: Option<PathBuf>,
    pub login_url: Option<String>,
    pub graph_url: Option<String>,
    pub exchange_url: Option<String>,
    pub partner_center_url: Option<String>,
    /// The partner's tenant, whose token endpoint issues Partner Center tokens (default:
    /// `tenant_id`).
    pub partner_tenant_id: Option<String>,
    pub csp_customer_id: Option<String>,
    pub backup_url: Option<String>,
    pub event_key: Option<String>,
    /// Runs executing at once (default 256).
    pub concurrency: Option<usize>,
    /// How long a stopping service waits for running step attempts to finish (humantime,
    /// default `30s`); attempts still running then are abandoned and repeated on restart.
    pub shutdown_grace: Option<String>,
    /// Accounts never offboarded automatically (README "Guardrails"): UPNs, group ids or
    /// names, and (default true) anyone holding an Entra directory role.
    pub protected_upns: Option<Vec<String>>,
    pub protected_groups: Option<Vec<String>>,
    pub protect_admin_roles: Option<bool>,
    /// The mass-offboarding quarantine: more people with a leaver event within
    /// `quarantine_window` (default `24h`) than `quarantine_threshold` (default 500) or than
    /// `quarantine_percent` of the tenant's users (default 10, never below 10 people) hold new
    /// leaver runs before their first destructive step. 0 turns a limit off.
    pub quarantine_threshold: Option<u64>,
    pub quarantine_percent: Option<f64>,
    pub quarantine_window: Option<String>,
    /// Sharding (README "Several instances"): the deployment's number of shards and this
    /// instance's shards ("2", "0,2" or a pod name ending in `-<n>`).
    pub shards: Option<u32>,
    pub shard: Option<String>,
    /// A leaver's `seats.reduce` gives the seats back (default false: a billing decision).
    pub seats_on_leave: Option<bool>,
    /// Spare seats per SKU `seats.reduce` keeps when its step sets no `buffer` (default 0).
    pub seats_buffer: Option<u32>,
    /// How long ended runs and dedup records are kept (humantime, default `400d`, at least
    /// `30d`): README "Retention".
    pub retention: Option<String>,
}

/// Every key of [`Config`] as written in `offboard.toml`, in declaration order (each has the
/// environment variable `OFFBOARD_<KEY>`); a unit test keeps it equal to the struct's fields.
pub const KEYS: &[&str] = &[
    "data_dir",
    "workflows_dir",
    "http_addr",
    "http_max_connections",
    "admin_token",
    "amqp_url",
    "amqp_prefix",
    "tenant",
    "sim_scenario",
    "tenant_id",
    "client_id",
    "client_secret",
    "client_cert",
    "login_url",
    "graph_url",
    "exchange_url",
    "partner_center_url",
    "partner_tenant_id",
    "csp_customer_id",
    "backup_url",
    "event_key",
    "concurrency",
    "shutdown_grace",
    "protected_upns",
    "protected_groups",
    "protect_admin_roles",
    "quarantine_threshold",
    "quarantine_percent",
    "quarantine_window",
    "shards",
    "shard",
    "seats_on_leave",
    "seats_buffer",
    "retention",
];

/// Secrets (admin token, client secret, event key) print as `***`.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "***");
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("workflows_dir", &self.workflows_dir)
            .field("http_addr", &self.http_addr)
            .field("http_max_connections", &self.http_max_connections)
            .field("admin_token", &hidden(&self.admin_token))
            .field("amqp_url", &self.amqp_url.as_deref().map(redact_url))
            .field("amqp_prefix", &self.amqp_prefix)
            .field("tenant", &self.tenant)
            .field("sim_scenario", &self.sim_scenario)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &hidden(&self.client_secret))
            .field("client_cert", &self.client_cert)
            .field("login_url", &self.login_url)
            .field("graph_url", &self.graph_url)
            .field("exchange_url", &self.exchange_url)
            .field("partner_center_url", &self.partner_center_url)
            .field("partner_tenant_id", &self.partner_tenant_id)
            .field("csp_customer_id", &self.csp_customer_id)
            .field("backup_url", &self.backup_url)
            .field("event_key", &hidden(&self.event_key))
            .field("concurrency", &self.concurrency)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("protected_upns", &self.protected_upns)
            .field("protected_groups", &self.protected_groups)
            .field("protect_admin_roles", &self.protect_admin_roles)
            .field("quarantine_threshold", &self.quarantine_threshold)
            .field("quarantine_percent", &self.quarantine_percent)
            .field("quarantine_window", &self.quarantine_window)
            .field("shards", &self.shards)
            .field("shard", &self.shard)
            .field("seats_on_leave", &self.seats_on_leave)
            .field("seats_buffer", &self.seats_buffer)
            .field("retention", &self.retention)
            .finish()
    }
}

/// `amqp://user:password@host/vhost` without the password (logs, Debug).
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// Every environment variable [`Config::apply_env`] reads (a unit test asks `apply_env`
/// which names it reads and compares them with this list, so the two cannot drift apart).
/// Deployment files are checked against it (tests/deploy.rs).
pub const ENV_VARS: &[&str] = &[
    "OFFBOARD_DATA_DIR",
    "OFFBOARD_WORKFLOWS_DIR",
    "OFFBOARD_HTTP_ADDR",
    "OFFBOARD_HTTP_MAX_CONNECTIONS",
    "OFFBOARD_ADMIN_TOKEN",
    "OFFBOARD_AMQP_URL",
    "OFFBOARD_AMQP_PREFIX",
    "OFFBOARD_SHUTDOWN_GRACE",
    "OFFBOARD_TENANT",
    "OFFBOARD_SIM_SCENARIO",
    "OFFBOARD_TENANT_ID",
    "OFFBOARD_CLIENT_ID",
    "OFFBOARD_CLIENT_SECRET",
    "OFFBOARD_CLIENT_CERT",
    "OFFBOARD_LOGIN_URL",
    "OFFBOARD_GRAPH_URL",
    "OFFBOARD_EXCHANGE_URL",
    "OFFBOARD_PARTNER_CENTER_URL",
    "OFFBOARD_PARTNER_TENANT_ID",
    "OFFBOARD_CSP_CUSTOMER_ID",
    "OFFBOARD_BACKUP_URL",
    "OFFBOARD_EVENT_KEY",
    "OFFBOARD_QUARANTINE_WINDOW",
    "OFFBOARD_PROTECTED_UPNS",
    "OFFBOARD_PROTECTED_GROUPS",
    "OFFBOARD_PROTECT_ADMIN_ROLES",
    "OFFBOARD_QUARANTINE_THRESHOLD",
    "OFFBOARD_QUARANTINE_PERCENT",
    "OFFBOARD_CONCURRENCY",
    "OFFBOARD_SHARDS",
    "OFFBOARD_SHARD",
    "OFFBOARD_SEATS_ON_LEAVE",
    "OFFBOARD_SEATS_BUFFER",
    "OFFBOARD_RETENTION",
];

/// The shortest admin token accepted (README "Admin HTTP API").
pub const MIN_ADMIN_TOKEN_CHARS: usize = 16;
/// The admin API's connection limit unless `http_max_connections` says otherwise.
pub const DEFAULT_HTTP_MAX_CONNECTIONS: usize = 512;
/// The largest `http_max_connections` accepted.
pub const MAX_HTTP_MAX_CONNECTIONS: usize = 65_536;

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

    /// Every URL setting names a scheme offboard implements; anything else stops the start
    /// with the scheme named, never a silent downgrade (a cloud URL taken as a local path,
    /// `amqps` connected in plain text).
    fn check_urls(&self) -> Result<(), ConfigError> {
        let bad = |var: &str, message: String| ConfigError::Env {
            var: var.into(),
            message,
        };
        if let Some(url) = &self.amqp_url {
            match scheme(url).as_deref() {
                Some("amqp") => {}
                Some("amqps") => {
                    return Err(bad(
                        "OFFBOARD_AMQP_URL",
                        "`amqps://` (AMQP over TLS) is not supported yet, and offboard will not connect in plain text instead; use an `amqp://` URL on a trusted network, or a local TLS tunnel (e.g. stunnel) to the broker".into(),
                    ));
                }
                other => {
                    return Err(bad(
                        "OFFBOARD_AMQP_URL",
                        format!(
                            "{} is not supported; write amqp://user:password@host:5672/vhost",
                            describe_scheme(other)
                        ),
                    ));
                }
            }
        }
        if let Some(url) = &self.backup_url {
            match scheme(url).as_deref() {
                None | Some("file") => {}
                Some(s @ ("s3" | "az" | "azure" | "abfs" | "abfss" | "gs" | "https" | "http")) => {
                    return Err(bad(
                        "OFFBOARD_BACKUP_URL",
                        format!(
                            "`{s}://` backups (object storage) are not supported yet, and offboard will not write them to a local path instead; use a directory (a path or file:///path) on storage you back up"
                        ),
                    ));
                }
                other => {
                    return Err(bad(
                        "OFFBOARD_BACKUP_URL",
                        format!(
                            "{} is not supported; give a directory as a path or file:///path",
                            describe_scheme(other)
                        ),
                    ));
                }
            }
        }
        for (var, value) in [
            ("OFFBOARD_LOGIN_URL", &self.login_url),
            ("OFFBOARD_GRAPH_URL", &self.graph_url),
            ("OFFBOARD_EXCHANGE_URL", &self.exchange_url),
            ("OFFBOARD_PARTNER_CENTER_URL", &self.partner_center_url),
        ] {
            if let Some(url) = value
                && !matches!(scheme(url).as_deref(), Some("https" | "http"))
            {
                return Err(bad(
                    var,
                    format!(
                        "{} is not supported; give the service's https:// address",
                        describe_scheme(scheme(url).as_deref())
                    ),
                ));
            }
        }
        Ok(())
    }

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

/// The scheme of a URL (`s3` of `s3://bucket`), lower-cased; `None` for a plain path. A
/// Windows drive letter is not taken for a scheme.
fn scheme(value: &str) -> Option<String> {
    let (head, _) = value.trim().split_once(':')?;
    let is_scheme = head.len() > 1
        && head.starts_with(|c: char| c.is_ascii_alphabetic())
        && head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme.then(|| head.to_ascii_lowercase())
}

fn describe_scheme(s: Option<&str>) -> String {
    match s {
        Some(s) => format!("the scheme `{s}:`"),
        None => "a value without a scheme".into(),
    }
}

/// Why `token` cannot be the admin token, if it cannot.
fn check_admin_token(token: &str) -> Result<(), String> {
    const MAKE_ONE: &str = "make one with `openssl rand -hex 32`";
    if token.is_empty() {
        return Err(format!(
            "the admin token is empty; remove the setting to serve without a token (loopback only), or set one of at least {MIN_ADMIN_TOKEN_CHARS} characters ({MAKE_ONE})"
        ));
    }
    if !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err(format!(
            "the admin token contains a space, a control character or a character that is not ASCII, which an `Authorization` header cannot carry; use letters, digits and punctuation ({MAKE_ONE})"
        ));
    }
    let n = token.chars().count();
    if n < MIN_ADMIN_TOKEN_CHARS {
        return Err(format!(
            "the admin token has {n} characters; it needs at least {MIN_ADMIN_TOKEN_CHARS} ({MAKE_ONE})"
        ));
    }
    Ok(())
}

/// A retention: a humantime duration no shorter than the floor.
fn check_retention(r: &str) -> Result<std::time::Duration, String> {
    use crate::engine::retention::FLOOR;
    let d = humantime::parse_duration(r)
        .map_err(|e| format!("`{r}` is not a duration such as `400d`: {e}"))?;
    if d < FLOOR {
        return Err(format!(
            "`{r}` is shorter than {}: ended runs must outlive the 30-day restore window and dedup records the broker's redeliveries and HR resends",
            humantime::format_duration(FLOOR)
        ));
    }
    Ok(d)
}

fn parse_env<T: std::str::FromStr>(var: &str, v: &str, what: &str) -> Result<T, ConfigError> {
    v.trim().parse().map_err(|_| ConfigError::Env {
        var: var.into(),
        message: format!("`{v}` is not {what}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn environment_overrides_the_file_and_bad_values_are_named() {
        let mut cfg: Config = toml::from_str("data_dir = \"/var/lib/a\"\nconcurrency = 4").unwrap();
        let env: HashMap<&str, &str> = [
            ("OFFBOARD_DATA_DIR", "/tmp/b"),
            ("OFFBOARD_BACKUP_URL", "file:///srv/backups"),
            ("OFFBOARD_PARTNER_TENANT_ID", "partner.onmicrosoft.com"),
        ]
        .into();
        cfg.apply_env(|k| env.get(k).map(|v| v.to_string()))
            .unwrap();
        assert_eq!(cfg.data_dir(), PathBuf::from("/tmp/b"));
        assert_eq!(cfg.backup_dir(), PathBuf::from("/srv/backups"));
        assert_eq!(cfg.concurrency, Some(4));
        assert_eq!(
            cfg.partner_tenant_id.as_deref(),
            Some("partner.onmicrosoft.com")
        );
        let err = cfg
            .apply_env(|k| (k == "OFFBOARD_TENANT").then(|| "azure".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("OFFBOARD_TENANT"));
        assert!(toml::from_str::<Config>("data_dri = \"x\"").is_err());
        let err = Config::default()
            .apply_env(|k| (k == "OFFBOARD_SHUTDOWN_GRACE").then(|| "soon".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("OFFBOARD_SHUTDOWN_GRACE"));
        assert_eq!(
            redact_url("amqp://svc:hunter2@mq:5672/%2f"),
            "amqp://svc:***@mq:5672/%2f"
        );
        assert_eq!(redact_url("amqp://mq:5672"), "amqp://mq:5672");
    }

    #[test]
    fn retention_defaults_to_400_days_and_refuses_less_than_30() {
        let day = std::time::Duration::from_secs(86_400);
        assert_eq!(Config::default().retention(), 400 * day);
        let env = |v: &'static str| {
            let mut cfg = Config::default();
            cfg.apply_env(|k| (k == "OFFBOARD_RETENTION").then(|| v.to_string()))
                .map(|()| cfg)
        };
        assert_eq!(env("60d").unwrap().retention(), 60 * day);
        assert_eq!(env("30d").unwrap().retention(), 30 * day);
        for bad in ["29d", "1h", "forever"] {
            let err = env(bad).unwrap_err().to_string();
            assert!(
                err.contains("OFFBOARD_RETENTION") && err.contains(bad),
                "{err}"
            );
        }
        let mut file: Config = toml::from_str("retention = \"7d\"").unwrap();
        assert!(file.apply_env(|_| None).is_err());
    }

    #[test]
    fn env_vars_lists_exactly_the_variables_apply_env_reads() {
        let asked = std::cell::RefCell::new(Vec::new());
        Config::default()
            .apply_env(|k| {
                asked.borrow_mut().push(k.to_string());
                None
            })
            .unwrap();
        let mut asked = asked.into_inner();
        asked.sort();
        asked.dedup();
        let mut listed: Vec<String> = ENV_VARS.iter().map(|v| v.to_string()).collect();
        listed.sort();
        assert_eq!(asked, listed);
    }

    #[test]
    fn keys_name_every_field_of_config() {
        // An exhaustive pattern: adding a field to Config without listing it here fails to
        // compile, and the list must then equal KEYS.
        macro_rules! fields {
            ($($f:ident),* $(,)?) => {{
                let Config { $($f: _),* } = Config::default();
                vec![$(stringify!($f)),*]
            }};
        }
        let fields = fields!(
            data_dir,
            workflows_dir,
            http_addr,
            http_max_connections,
            admin_token,
            amqp_url,
            amqp_prefix,
            tenant,
            sim_scenario,
            tenant_id,
            client_id,
            client_secret,
            client_cert,
            login_url,
            graph_url,
            exchange_url,
            partner_center_url,
            partner_tenant_id,
            csp_customer_id,
            backup_url,
            event_key,
            concurrency,
            shutdown_grace,
            protected_upns,
            protected_groups,
            protect_admin_roles,
            quarantine_threshold,
            quarantine_percent,
            quarantine_window,
            shards,
            shard,
            seats_on_leave,
            seats_buffer,
            retention,
        );
        assert_eq!(fields, KEYS);
    }

    #[test]
    fn weak_admin_tokens_are_refused_wherever_they_come_from() {
        let from_env = |token: &str| {
            let mut cfg = Config::default();
            cfg.apply_env(|k| (k == "OFFBOARD_ADMIN_TOKEN").then(|| token.to_string()))
                .map(|()| cfg)
        };
        assert!(from_env("0123456789abcdef").is_ok());
        let err = from_env("t0ken").unwrap_err().to_string();
        assert!(err.contains("OFFBOARD_ADMIN_TOKEN"), "{err}");
        assert!(err.contains("at least 16"), "{err}");
        assert!(err.contains("openssl rand -hex 32"), "{err}");
        let err = from_env("fifteen-chars!!").unwrap_err().to_string();
        assert!(err.contains("15 characters"), "{err}");
        let err = from_env("sixteen chars ok").unwrap_err().to_string();
        assert!(err.contains("space"), "{err}");
        // An empty variable means "not set", as for every variable.
        assert_eq!(from_env("").unwrap().admin_token, None);

        for (file, expected) in [
            ("admin_token = \"\"", "is empty"),
            ("admin_token = \"x\"", "1 characters"),
            ("admin_token = \"l\u{e4}nger-als-16-zeichen\"", "not ASCII"),
        ] {
            let mut cfg: Config = toml::from_str(file).unwrap();
            let err = cfg.apply_env(|_| None).unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::Key {
                        key: "admin_token",
                        ..
                    }
                ),
                "{err}"
            );
            assert!(err.to_string().contains(expected), "{file}: {err}");
        }
        // A good token from the environment replaces a bad one in the file.
        let mut cfg: Config = toml::from_str("admin_token = \"x\"").unwrap();
        cfg.apply_env(|k| (k == "OFFBOARD_ADMIN_TOKEN").then(|| "0123456789abcdef".into()))
            .unwrap();

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offboard.toml");
        std::fs::write(&path, "admin_token = \"\"\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(
            err.starts_with(&path.display().to_string()) && err.contains("admin_token: "),
            "{err}"
        );
    }

    #[test]
    fn the_connection_limit_is_read_and_bounded() {
        let env = |v: &str| {
            let mut cfg = Config::default();
            cfg.apply_env(|k| (k == "OFFBOARD_HTTP_MAX_CONNECTIONS").then(|| v.to_string()))
                .map(|()| cfg)
        };
        assert_eq!(Config::default().http_max_connections(), 512);
        assert_eq!(env("64").unwrap().http_max_connections(), 64);
        for bad in ["0", "many", "-1", "100000"] {
            let err = env(bad).unwrap_err().to_string();
            assert!(
                err.contains("OFFBOARD_HTTP_MAX_CONNECTIONS"),
                "{bad}: {err}"
            );
        }
        assert_eq!(Config::default().open_files_budget(), 512 + 4 * 256 + 256);
    }

    #[test]
    fn shards_are_read_and_checked_at_load() {
        let env = |pairs: &[(&'static str, &'static str)]| {
            let m: HashMap<&str, &str> = pairs.iter().copied().collect();
            let mut cfg = Config::default();
            cfg.apply_env(|k| m.get(k).map(|v| v.to_string()))
                .map(|()| cfg)
        };
        let cfg = env(&[("OFFBOARD_SHARDS", "4"), ("OFFBOARD_SHARD", "offboard-3")]).unwrap();
        let shards = cfg.sharding().unwrap().unwrap();
        assert_eq!((shards.total, shards.mine), (4, vec![3]));
        assert_eq!(env(&[]).unwrap().sharding().unwrap(), None);
        let err = env(&[("OFFBOARD_SHARDS", "2"), ("OFFBOARD_SHARD", "2")]).unwrap_err();
        assert!(err.to_string().contains("OFFBOARD_SHARD"), "{err}");
        let err = env(&[("OFFBOARD_SHARDS", "two")]).unwrap_err();
        assert!(err.to_string().contains("OFFBOARD_SHARDS"), "{err}");
        assert!(env(&[("OFFBOARD_SHARDS", "3")]).is_err());
    }

    #[test]
    fn url_settings_accept_only_what_is_implemented() {
        let with = |var: &'static str, value: &'static str| {
            let mut cfg = Config::default();
            cfg.apply_env(|k| (k == var).then(|| value.to_string()))
                .map(|()| cfg)
        };
        for (var, value, named) in [
            ("OFFBOARD_BACKUP_URL", "s3://bucket/leavers", "s3://"),
            (
                "OFFBOARD_BACKUP_URL",
                "https://acct.blob.core.windows.net/backups",
                "https://",
            ),
            ("OFFBOARD_BACKUP_URL", "az://backups/leavers", "az://"),
            ("OFFBOARD_BACKUP_URL", "gs://bucket", "gs://"),
            ("OFFBOARD_BACKUP_URL", "ftp://host/x", "`ftp:`"),
            (
                "OFFBOARD_AMQP_URL",
                "amqps://mq.example:5671/%2f",
                "amqps://",
            ),
            ("OFFBOARD_AMQP_URL", "mq.example:5672", "`mq.example:`"),
            (
                "OFFBOARD_GRAPH_URL",
                "graph.microsoft.com",
                "without a scheme",
            ),
        ] {
            let err = with(var, value).unwrap_err().to_string();
            assert!(err.contains(var) && err.contains(named), "{value}: {err}");
        }
        assert_eq!(
            with("OFFBOARD_BACKUP_URL", "file:///srv/backups")
                .unwrap()
                .backup_dir(),
            PathBuf::from("/srv/backups")
        );
        assert!(with("OFFBOARD_BACKUP_URL", "/srv/backups").is_ok());
        assert!(with("OFFBOARD_BACKUP_URL", "backups").is_ok());
        assert!(with("OFFBOARD_AMQP_URL", "AMQP://guest:guest@127.0.0.1:5672/%2f").is_ok());
        assert!(with("OFFBOARD_GRAPH_URL", "http://127.0.0.1:9/graph").is_ok());
        // a file's value is checked as well
        let mut cfg: Config = toml::from_str("backup_url = \"s3://b/p\"").unwrap();
        assert!(cfg.apply_env(|_| None).is_err());
    }

    #[test]
    fn seat_settings_default_to_no_reduction_on_leave() {
        assert_eq!(
            Config::default().seats(),
            crate::steps::SeatSettings {
                on_leave: false,
                buffer: 0
            }
        );
        let mut cfg = Config::default();
        cfg.apply_env(|k| match k {
            "OFFBOARD_SEATS_ON_LEAVE" => Some("true".into()),
            "OFFBOARD_SEATS_BUFFER" => Some("2".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!((cfg.seats().on_leave, cfg.seats().buffer), (true, 2));
        assert!(
            Config::default()
                .apply_env(|k| (k == "OFFBOARD_SEATS_BUFFER").then(|| "-1".into()))
                .is_err()
        );
    }
}
