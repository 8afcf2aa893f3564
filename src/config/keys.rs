//! The keys of `offboard.toml`: the [`Config`] struct, the list of keys and of the
//! environment variables that override them, and a `Debug` that hides secrets.

use serde::Deserialize;
use std::path::PathBuf;

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
