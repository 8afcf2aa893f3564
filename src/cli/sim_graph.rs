//! `offboard sim-graph`: serves a simulated tenant over the Microsoft 365 HTTP API as a
//! sandbox, and prints (on stderr) the `OFFBOARD_*` variables that point offboard at it.

use crate::api::sim_graph::{
    Secret, SimGraphOptions, WriteQuota, serve_with_shutdown, tenant_id_for_domain,
};
use crate::clock::SimClock;
use crate::tenant::sim::{SimFaults, SimTenant};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct SimGraphArgs {
    /// Scenario file that seeds the tenant (JSON).
    #[arg(long, default_value = "examples/tenant.json")]
    pub scenario: PathBuf,
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// State file: loaded when it exists, else seeded from the scenario; every change is
    /// written through.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Latency added to every HTTP request (a `$batch` counts once).
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of requests answered 429 with Retry-After (0.0–1.0).
    #[arg(long, default_value_t = 0.0)]
    pub throttle_rate: f64,
    /// Share of requests answered 503/504 without being applied.
    #[arg(long, default_value_t = 0.0)]
    pub transient_rate: f64,
    /// Share of requests applied and then lost (connection dropped, or 504).
    #[arg(long, default_value_t = 0.0)]
    pub lost_response_rate: f64,
    /// Retry-After of injected 429s and 503s, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub retry_after_ms: u64,
    /// Seed of the fault generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Directory write quota per app, e.g. `3000/150s` (the published one) or `300/15s`.
    #[arg(long)]
    pub write_quota: Option<WriteQuota>,
    /// The tenant id (default: derived from the scenario's domain).
    #[arg(long, env = "OFFBOARD_TENANT_ID")]
    pub tenant_id: Option<String>,
    /// The partner tenant Partner Center tokens come from (default: the tenant).
    #[arg(long, env = "OFFBOARD_PARTNER_TENANT_ID")]
    pub partner_tenant_id: Option<String>,
    /// The registered application id.
    #[arg(
        long,
        env = "OFFBOARD_CLIENT_ID",
        default_value = "c4a1e9d2-3f5b-4a7c-8e21-9b6d0f2a4c13"
    )]
    pub client_id: String,
    /// Its client secret.
    #[arg(
        long,
        env = "OFFBOARD_CLIENT_SECRET",
        default_value = "sim-graph-secret",
        hide_env_values = true
    )]
    pub client_secret: String,
    /// PEM with the registered certificate: assertions must carry its `x5t#S256`.
    #[arg(long, env = "OFFBOARD_CLIENT_CERT")]
    pub client_cert: Option<PathBuf>,
    /// `expires_in` of issued tokens, in seconds.
    #[arg(long, default_value_t = 3599)]
    pub token_lifetime_secs: u64,
    /// Cap every page below the documented maximum (forces paging).
    #[arg(long)]
    pub max_page_size: Option<usize>,
}

/// base64url SHA-256 of the first certificate's DER in a PEM file.
fn cert_thumbprint(path: &std::path::Path) -> anyhow::Result<String> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use sha2::{Digest, Sha256};
    let pem =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let body: String = pem
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)
        .and_then(|rest| rest.split("-----END CERTIFICATE-----").next())
        .with_context(|| format!("{} holds no CERTIFICATE block", path.display()))?
        .split_whitespace()
        .collect();
    let der = STANDARD
        .decode(body)
        .with_context(|| format!("{}: the certificate is not valid base64", path.display()))?;
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(der)))
}

pub async fn run(a: SimGraphArgs) -> anyhow::Result<()> {
    let scenario = SimTenant::load_scenario(&a.scenario)?;
    let domain = scenario.tenant.clone();
    let tenant = match &a.state {
        Some(path) => SimTenant::persistent(path, scenario)?,
        None => SimTenant::from_scenario(scenario, SimClock::new())?,
    };
    for (name, rate) in [
        ("--throttle-rate", a.throttle_rate),
        ("--transient-rate", a.transient_rate),
        ("--lost-response-rate", a.lost_response_rate),
    ] {
        anyhow::ensure!(
            (0.0..=1.0).contains(&rate),
            "{name} must be between 0 and 1, not {rate}"
        );
    }
    let opts = SimGraphOptions {
        tenant_id: a
            .tenant_id
            .clone()
            .unwrap_or_else(|| tenant_id_for_domain(&domain)),
        tenant_domain: domain.clone(),
        partner_tenant_id: a.partner_tenant_id.clone(),
        client_id: a.client_id.clone(),
        client_secret: Some(Secret::new(a.client_secret.clone())),
        cert_thumbprint_sha256: a.client_cert.as_deref().map(cert_thumbprint).transpose()?,
        token_lifetime: Duration::from_secs(a.token_lifetime_secs),
        faults: SimFaults {
            throttle_rate: a.throttle_rate,
            transient_rate: a.transient_rate,
            lost_response_rate: a.lost_response_rate,
            retry_after_ms: a.retry_after_ms,
            seed: a.seed,
            latency_ms: a.latency_ms,
        },
        write_quota: a.write_quota,
        max_page_size: a.max_page_size,
    };
    let listener = tokio::net::TcpListener::bind((a.bind.as_str(), a.port))
        .await
        .with_context(|| format!("binding {}:{}", a.bind, a.port))?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    eprintln!(
        "offboard sim-graph: serving {domain} (tenant {}) on {base}",
        opts.tenant_id
    );
    eprintln!("OFFBOARD_TENANT=graph");
    eprintln!("OFFBOARD_LOGIN_URL={base}/login");
    eprintln!("OFFBOARD_GRAPH_URL={base}/graph");
    eprintln!("OFFBOARD_EXCHANGE_URL={base}/exchange");
    eprintln!("OFFBOARD_PARTNER_CENTER_URL={base}/partner");
    eprintln!("OFFBOARD_TENANT_ID={}", opts.tenant_id);
    eprintln!("OFFBOARD_CLIENT_ID={}", opts.client_id);
    eprintln!("(client secret: the --client-secret / OFFBOARD_CLIENT_SECRET value; Ctrl-C stops)");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    serve_with_shutdown(listener, tenant, opts, shutdown).await?;
    eprintln!("offboard sim-graph: stopped");
    Ok(())
}
