//! Unit tests of the configuration: layering, every check, and the lists kept equal to the
//! struct.
#![allow(clippy::unwrap_used)]

use super::*;
use std::collections::HashMap;
use std::path::PathBuf;

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
