//! The deployment files in deploy/ against the code: every file parses, every `OFFBOARD_*`
//! name is one offboard reads, ports, binary path, probes and stop timeouts agree with the
//! service, the sandbox's pieces point at each other, and the broker definitions declare the
//! topology `offboard serve` declares (checked on the real broker). Nothing here builds an
//! image or runs compose or kubectl.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod deploy_common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use deploy_common::*;
use offboard::api::admin::{AdminState, router, serve};
use offboard::config::{Config, ENV_VARS};
use offboard::health::Health;
use serde_json::Value;
use std::collections::BTreeMap;
use tower::ServiceExt;

const COMPOSE: &str = "deploy/docker-compose.yml";
const STATEFULSET: &str = "deploy/k8s/statefulset.yaml";
const BINARY: &str = "/usr/local/bin/offboard";
const TOKEN: &str = "deploy-test-token";

fn known_vars() -> Vec<&'static str> {
    let logging = [
        offboard::cli::logging::LEVEL_VAR,
        offboard::cli::logging::FORMAT_VAR,
    ];
    ENV_VARS.iter().chain(logging.iter()).copied().collect()
}

fn deploy_files() -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                let rel = p.strip_prefix(ROOT).unwrap();
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(&path("deploy"), &mut out);
    out.sort();
    out
}

fn statefulset() -> Value {
    yaml(STATEFULSET).remove(0)
}

fn container() -> Value {
    at(
        &statefulset(),
        &["spec", "template", "spec", "containers", "0"],
    )
    .clone()
}

fn configmap() -> BTreeMap<String, String> {
    let doc = yaml("deploy/k8s/configmap.yaml").remove(0);
    doc["data"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), text(v)))
        .collect()
}

fn compose_service(name: &str) -> Value {
    yaml(COMPOSE).remove(0)["services"][name].clone()
}

fn compose_env(name: &str) -> BTreeMap<String, String> {
    let env = compose_service(name)["environment"].clone();
    env.as_object()
        .unwrap_or_else(|| panic!("compose service {name} has no environment map"))
        .iter()
        .map(|(k, v)| (k.clone(), text(v)))
        .collect()
}

/// The `bash -c` script of the StatefulSet's readiness probe.
fn readiness_script() -> String {
    let cmd = container()["readinessProbe"]["exec"]["command"].clone();
    assert_eq!(text(&cmd[0]), "bash");
    assert_eq!(text(&cmd[1]), "-c");
    text(&cmd[2])
}

/// The compose healthcheck's script with compose's `$$` escape undone.
fn compose_health_script() -> String {
    let test = compose_service("offboard")["healthcheck"]["test"].clone();
    let parts: Vec<String> = test.as_array().unwrap().iter().map(text).collect();
    assert_eq!(parts[..3], ["CMD", "bash", "-c"]);
    parts[3].replace("$$", "$")
}

/// The path a probe script requests (`GET <path> HTTP/1.0`).
fn requested_path(script: &str) -> String {
    let after = script.split("GET ").nth(1).expect("the probe sends no GET");
    after.split_whitespace().next().unwrap().to_string()
}

#[test]
fn every_deploy_file_parses() {
    let files = deploy_files();
    for f in &files {
        match f.rsplit('.').next() {
            Some("yml" | "yaml") => assert!(!yaml(f).is_empty(), "{f} is empty"),
            Some("json") => {
                json(f);
            }
            Some("toml") => {
                toml::from_str::<Config>(&read(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
            }
            Some("service") => assert!(systemd_unit(f).contains_key("Service")),
            Some("env") => assert!(!env_file(f).is_empty()),
            Some("conf") => {
                for line in read(f).lines().filter(|l| !l.trim().is_empty()) {
                    let l = line.trim();
                    assert!(l.starts_with('#') || l.contains(" = "), "{f}: `{l}`");
                }
            }
            _ if f.ends_with("Dockerfile") => {
                let known = ["FROM", "WORKDIR", "COPY", "RUN", "ENV", "USER", "VOLUME"];
                let more = ["EXPOSE", "ENTRYPOINT", "CMD"];
                for (kw, _) in dockerfile(f) {
                    assert!(known.contains(&kw.as_str()) || more.contains(&kw.as_str()));
                }
            }
            _ if f.ends_with("enabled_plugins") => {
                let t = read(f);
                let list = t
                    .trim()
                    .strip_prefix('[')
                    .and_then(|t| t.strip_suffix("]."));
                let list = list.unwrap_or_else(|| panic!("{f} is not an Erlang list term"));
                assert!(list.split(',').all(|p| p.trim().starts_with("rabbitmq_")));
            }
            _ => panic!("{f}: no check knows this kind of file; add one"),
        }
    }
    let kustomization = yaml("deploy/k8s/kustomization.yaml").remove(0);
    for r in kustomization["resources"].as_array().unwrap() {
        assert!(path(&format!("deploy/k8s/{}", text(r))).is_file(), "{r}");
    }
    for (kw, args) in dockerfile("deploy/Dockerfile") {
        if kw == "COPY" && !args.starts_with("--from") {
            let src = args.split_whitespace().next().unwrap();
            assert!(
                path(src).exists(),
                "the Dockerfile copies {src}, which does not exist"
            );
        }
    }
    let ignore = read(".dockerignore");
    assert!(ignore.lines().any(|l| l.trim() == "target/") && ignore.contains(".git"));
}

#[test]
fn every_offboard_variable_in_deploy_is_one_offboard_reads() {
    let known = known_vars();
    let mut seen = 0;
    for f in deploy_files() {
        for name in offboard_names(&read(&f)) {
            assert!(
                known.contains(&name.as_str()),
                "{f} uses {name}, which offboard does not read"
            );
            seen += 1;
        }
    }
    assert!(seen > 20, "only {seen} OFFBOARD_* names found in deploy/");
    // The values must also be accepted by the configuration (a typo in a duration or in
    // OFFBOARD_TENANT would stop the service at start).
    for env in [
        configmap(),
        compose_env("offboard"),
        env_file("deploy/systemd/offboard.env"),
    ] {
        Config::default()
            .apply_env(|k| env.get(k).cloned())
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn the_binary_path_and_the_admin_port_agree_everywhere() {
    let docker = dockerfile("deploy/Dockerfile");
    let entry: Vec<String> = serde_json::from_str(&last(&docker, "ENTRYPOINT")).unwrap();
    let cmd: Vec<String> = serde_json::from_str(&last(&docker, "CMD")).unwrap();
    assert_eq!(
        (entry, cmd),
        (vec![BINARY.to_string()], vec!["serve".to_string()])
    );
    let unit = systemd_unit("deploy/systemd/offboard.service");
    let exec = unit_value(&unit, "Service", "ExecStart");
    assert_eq!(
        exec.split_whitespace().take(2).collect::<Vec<_>>(),
        [BINARY, "serve"]
    );
    let c = container();
    assert_eq!(text(&c["command"][0]), BINARY);
    assert_eq!(text(&c["args"][0]), "serve");

    let env = dockerfile_env(&docker);
    let port = port_of(&env["OFFBOARD_HTTP_ADDR"]);
    assert_eq!(last(&docker, "EXPOSE"), port.to_string());
    assert_eq!(port_of(&configmap()["OFFBOARD_HTTP_ADDR"]), port);
    let named = c["ports"].as_array().unwrap();
    assert_eq!(named.len(), 1);
    assert_eq!(text(&named[0]["containerPort"]), port.to_string());
    let annotations = at(
        &statefulset(),
        &["spec", "template", "metadata", "annotations"],
    )
    .clone();
    assert_eq!(text(&annotations["prometheus.io/scrape"]), "true");
    assert_eq!(text(&annotations["prometheus.io/port"]), port.to_string());
    assert_eq!(
        text(&c["livenessProbe"]["httpGet"]["port"]),
        text(&named[0]["name"])
    );
    for svc in yaml("deploy/k8s/service.yaml") {
        let target = text(&svc["spec"]["ports"][0]["targetPort"]);
        assert_eq!(
            target,
            text(&named[0]["name"]),
            "{}",
            svc["metadata"]["name"]
        );
    }
    let compose_port = port_of(&compose_env("offboard")["OFFBOARD_HTTP_ADDR"]);
    assert_eq!(compose_port, port);
    let mapping = text(&compose_service("offboard")["ports"][0]);
    assert_eq!(port_of(&mapping), port, "compose publishes {mapping}");
}

#[tokio::test]
async fn probe_and_scrape_paths_are_routes_of_the_admin_router() {
    let env = common::TestEnv::start(common::repo_workflows(), common::example_tenant()).await;
    let state = AdminState {
        engine: env.engine.clone(),
        health: Health::new(),
        event_key: None,
        admin_token: Some(TOKEN.into()),
        metrics: offboard::metrics::Metrics::new(),
    };
    let c = container();
    let annotations = at(
        &statefulset(),
        &["spec", "template", "metadata", "annotations"],
    )
    .clone();
    let paths = [
        text(&c["livenessProbe"]["httpGet"]["path"]),
        requested_path(&readiness_script()),
        requested_path(&compose_health_script()),
        text(&annotations["prometheus.io/path"]),
    ];
    for p in &paths {
        let req = Request::get(p.as_str())
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap();
        let status = router(state.clone()).oneshot(req).await.unwrap().status();
        assert_ne!(
            status,
            StatusCode::NOT_FOUND,
            "{p} is not a route of the admin API"
        );
    }
    // The liveness probe sends no token: only /healthz answers without one.
    let req = Request::get(paths[0].as_str()).body(Body::empty()).unwrap();
    let status = router(state).oneshot(req).await.unwrap().status();
    assert_eq!(status, StatusCode::OK);
}

/// Runs a probe script as its container would, against `addr`.
async fn probe(script: &str, addr: &str, token: &str) -> bool {
    tokio::process::Command::new("bash")
        .args(["-c", script])
        .env("OFFBOARD_HTTP_ADDR", addr)
        .env("OFFBOARD_ADMIN_TOKEN", token)
        .status()
        .await
        .unwrap()
        .success()
}

#[tokio::test]
async fn the_readiness_probes_pass_only_with_the_token_and_only_when_ready() {
    let env = common::TestEnv::start(common::repo_workflows(), common::example_tenant()).await;
    let health = Health::new();
    let state = AdminState {
        engine: env.engine.clone(),
        health: health.clone(),
        event_key: None,
        admin_token: Some(TOKEN.into()),
        metrics: offboard::metrics::Metrics::new(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async move {
        let _ = rx.await;
    }));
    for script in [readiness_script(), compose_health_script()] {
        health.set("broker", true, "consuming");
        assert!(
            probe(&script, &addr, TOKEN).await,
            "ready, right token: {script}"
        );
        assert!(
            !probe(&script, &addr, "not-the-token").await,
            "wrong token passed"
        );
        health.set("broker", false, "the broker is unreachable");
        assert!(
            !probe(&script, &addr, TOKEN).await,
            "not ready but the probe passed"
        );
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[test]
fn stop_timeouts_exceed_the_shutdown_grace() {
    let grace = |env: &BTreeMap<String, String>, file: Option<&str>| {
        let mut cfg = match file {
            Some(f) => toml::from_str::<Config>(&read(f)).unwrap(),
            None => Config::default(),
        };
        cfg.apply_env(|k| env.get(k).cloned()).unwrap();
        cfg.shutdown_grace()
    };
    let systemd = grace(
        &env_file("deploy/systemd/offboard.env"),
        Some("deploy/systemd/offboard.toml"),
    );
    let unit = systemd_unit("deploy/systemd/offboard.service");
    assert!(duration(&unit_value(&unit, "Service", "TimeoutStopSec")) > systemd);
    assert_eq!(unit_value(&unit, "Service", "KillSignal"), "SIGTERM");
    let k8s = grace(&configmap(), None);
    let spec = at(&statefulset(), &["spec", "template", "spec"]).clone();
    assert!(duration(&text(&spec["terminationGracePeriodSeconds"])) > k8s);
    let compose = grace(&compose_env("offboard"), None);
    assert!(duration(&text(&compose_service("offboard")["stop_grace_period"])) > compose);
}

/// `LimitNOFILE=N` or `N:M` (soft:hard); the soft limit is what the process gets.
fn soft_limit(value: &str) -> u64 {
    let soft = value.split(':').next().unwrap().trim();
    soft.parse()
        .unwrap_or_else(|_| panic!("LimitNOFILE `{value}` is not a number (or N:M)"))
}

#[test]
fn the_open_file_limits_leave_room_for_every_connection_and_run() {
    // What each deployment's configuration can open at once (Config::open_files_budget:
    // the admin API's connection limit, the executing runs, the store and the broker).
    let budget = |env: &BTreeMap<String, String>, file: Option<&str>| {
        let mut cfg = match file {
            Some(f) => toml::from_str::<Config>(&read(f)).unwrap(),
            None => Config::default(),
        };
        cfg.apply_env(|k| env.get(k).cloned()).unwrap();
        cfg.open_files_budget()
    };
    let systemd = budget(
        &env_file("deploy/systemd/offboard.env"),
        Some("deploy/systemd/offboard.toml"),
    );
    // systemd's default soft limit (1,024) is below the budget of the defaults.
    assert!(systemd > 1024, "{systemd}");
    let unit = systemd_unit("deploy/systemd/offboard.service");
    let limit = soft_limit(&unit_value(&unit, "Service", "LimitNOFILE"));
    assert!(
        limit >= 2 * systemd,
        "LimitNOFILE={limit} leaves too little room over the {systemd} files offboard can need"
    );
    let compose = budget(&compose_env("offboard"), None);
    let nofile = &compose_service("offboard")["ulimits"]["nofile"];
    let soft = match nofile.as_u64() {
        Some(n) => n,
        None => nofile["soft"].as_u64().expect("ulimits.nofile.soft"),
    };
    assert!(
        soft >= 2 * compose,
        "compose's nofile {soft} leaves too little room over {compose}"
    );
}
