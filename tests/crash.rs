//! Crash safety: the demo (real engine, store and leaver workflow, simulated tenant persisted
//! to a file the harness owns) is killed with SIGKILL at many moments, restarted on the same
//! data directory each time, and must end in exactly the state of an uninterrupted run, with
//! nothing that must happen once (a file written to a backup, an outcome) happening twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use offboard::tenant::sim::SimTenant;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Trouble injected into the simulated tenant of a demo process.
#[derive(Clone, Copy)]
struct Trouble {
    latency_ms: u64,
    throttle: f64,
    transient: f64,
    lost: f64,
}

const CALM: Trouble = Trouble {
    latency_ms: 10,
    throttle: 0.0,
    transient: 0.0,
    lost: 0.0,
};

/// An `offboard sim-graph` process serving the example tenant, its state written through to
/// `dir/tenant-state.json`: the tenant of a demo run with `OFFBOARD_TENANT=graph`.
struct Sandbox {
    child: Child,
    url: String,
    env: Vec<(String, String)>,
}

impl Sandbox {
    fn start(dir: &Path, t: Trouble) -> Sandbox {
        let mut child = Command::new(env!("CARGO_BIN_EXE_offboard"))
            .current_dir(ROOT)
            .arg("sim-graph")
            .arg("--port")
            .arg("0")
            .arg("--state")
            .arg(dir.join("tenant-state.json"))
            .arg("--latency-ms")
            .arg(t.latency_ms.to_string())
            .arg("--throttle-rate")
            .arg(t.throttle.to_string())
            .arg("--transient-rate")
            .arg(t.transient.to_string())
            .arg("--lost-response-rate")
            .arg(t.lost.to_string())
            .arg("--retry-after-ms")
            .arg("50")
            .env("OFFBOARD_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // It prints the variables to point offboard at it, ending with the client id.
        let mut env = vec![(
            "OFFBOARD_CLIENT_SECRET".to_string(),
            "sim-graph-secret".to_string(),
        )];
        let mut url = String::new();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(rest) = line.split(" on ").nth(1).filter(|_| url.is_empty()) {
                url = rest.trim().to_string();
            }
            if let Some((k, v)) = line
                .split_once('=')
                .filter(|(k, _)| k.starts_with("OFFBOARD_"))
            {
                env.push((k.to_string(), v.to_string()));
                if k == "OFFBOARD_CLIENT_ID" {
                    break;
                }
            }
        }
        assert!(
            url.starts_with("http://"),
            "sim-graph did not say where it serves"
        );
        // Keep draining its stderr so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Sandbox { child, url, env }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn demo(dir: &Path, t: Trouble, sandbox: Option<&Sandbox>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_offboard"));
    c.current_dir(ROOT)
        .arg("demo")
        .arg("--quiet")
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--outcomes")
        .arg(dir.join("outcomes.jsonl"))
        .env("OFFBOARD_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    match sandbox {
        // The faults are the sandbox's; the demo reaches it through the Graph connector.
        Some(sb) => {
            c.arg("--sandbox").arg(&sb.url);
            for (k, v) in &sb.env {
                c.env(k, v);
            }
        }
        None => {
            c.arg("--tenant-state")
                .arg(dir.join("tenant-state.json"))
                .arg("--latency-ms")
                .arg(t.latency_ms.to_string())
                .arg("--throttle-rate")
                .arg(t.throttle.to_string())
                .arg("--transient-rate")
                .arg(t.transient.to_string())
                .arg("--lost-response-rate")
                .arg(t.lost.to_string())
                .env_remove("OFFBOARD_TENANT");
        }
    }
    c
}

fn fingerprint(dir: &Path) -> Value {
    let scenario = SimTenant::load_scenario(&Path::new(ROOT).join("examples/tenant.json")).unwrap();
    let sim = SimTenant::persistent(&dir.join("tenant-state.json"), scenario).unwrap();
    assert!(sim.damage().is_empty(), "damage: {:?}", sim.damage());
    sim.fingerprint()
}

fn files_named(dir: &Path, name: &str, out: &mut Vec<PathBuf>) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                files_named(&p, name, out);
            } else if p.file_name().is_some_and(|n| n == name) {
                out.push(p);
            }
        }
    }
}

/// Backups that have written files but no manifest yet: the kill landed inside a backup.
fn backups_in_progress(dir: &Path) -> usize {
    let mut logs = Vec::new();
    files_named(&dir.join("data/backups"), "writes.log", &mut logs);
    logs.iter()
        .filter(|l| !l.with_file_name("manifest.json").exists())
        .count()
}

/// The entries of the fingerprint's lists that differ, as "expected → actual" lines.
fn state_diff(expected: &Value, actual: &Value) -> String {
    let mut out = Vec::new();
    if let (Some(e), Some(a)) = (expected.as_object(), actual.as_object()) {
        for (k, ev) in e {
            let av = a.get(k).cloned().unwrap_or(Value::Null);
            match (ev.as_array(), av.as_array()) {
                (Some(el), Some(al)) => {
                    let key = |v: &Value| {
                        ["id", "user", "sku"]
                            .iter()
                            .find_map(|k| v.get(k).map(|x| x.to_string()))
                            .unwrap_or_else(|| v.to_string())
                    };
                    let am: BTreeMap<String, &Value> = al.iter().map(|v| (key(v), v)).collect();
                    let em: BTreeMap<String, &Value> = el.iter().map(|v| (key(v), v)).collect();
                    for (id, x) in &em {
                        match am.get(id) {
                            Some(y) if y == x => {}
                            Some(y) => out.push(format!("{k} {id}: {x}\n   → {y}")),
                            None => out.push(format!("{k} {id}: {x}\n   → missing")),
                        }
                    }
                    for id in am.keys().filter(|id| !em.contains_key(*id)) {
                        out.push(format!("{k} {id}: unexpected {}", am[id]));
                    }
                }
                _ if *ev != av => out.push(format!("{k}: {ev} → {av}")),
                _ => {}
            }
        }
    }
    out.join("\n")
}

/// Files written to backups so far (lines of every writes.log).
fn backup_writes(dir: &Path) -> usize {
    let mut logs = Vec::new();
    files_named(&dir.join("data/backups"), "writes.log", &mut logs);
    logs.iter()
        .map(|l| {
            std::fs::read_to_string(l)
                .unwrap_or_default()
                .lines()
                .count()
        })
        .sum()
}

/// Every backup file is written once: no path appears twice in a writes.log.
fn assert_each_backup_file_written_once(dir: &Path) -> usize {
    let mut logs = Vec::new();
    files_named(&dir.join("data/backups"), "writes.log", &mut logs);
    let mut total = 0;
    for log in logs {
        let text = std::fs::read_to_string(&log).unwrap();
        let mut seen = BTreeSet::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line).unwrap();
            let path = v["path"].as_str().unwrap().to_string();
            assert!(
                seen.insert(path.clone()),
                "{path} written twice to the backup ({})",
                log.display()
            );
            total += 1;
        }
    }
    total
}

/// Outcomes as (subject, workflow, type, step) with their multiplicity, after deduplicating
/// by outcome id (delivery is at least once; creation must be exactly once).
fn logical_outcomes(dir: &Path) -> BTreeMap<(String, String, String, String), usize> {
    let text = std::fs::read_to_string(dir.join("outcomes.jsonl")).unwrap_or_default();
    let mut by_id: BTreeMap<String, Value> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap();
        by_id.insert(v["id"].as_str().unwrap().to_string(), v);
    }
    let mut out = BTreeMap::new();
    for v in by_id.values() {
        let key = (
            v["subject"].as_str().unwrap_or("").to_lowercase(),
            v["workflow"].as_str().unwrap_or("").to_string(),
            v["type"].as_str().unwrap_or("").to_string(),
            v["data"]["step"].as_str().unwrap_or("").to_string(),
        );
        *out.entry(key).or_insert(0) += 1;
    }
    out
}

const TROUBLE: Trouble = Trouble {
    latency_ms: 10,
    throttle: 0.05,
    transient: 0.03,
    lost: 0.05,
};

#[test]
fn killed_at_random_moments_the_leavers_end_exactly_as_an_uninterrupted_run() {
    crash_and_compare(CALM, CALM, false);
}

/// The same with 429s, transient faults and changes applied whose response was lost, in the
/// killed runs (the reference runs calm): idempotent steps must converge on the same state.
#[test]
fn killed_while_the_tenant_throttles_and_loses_responses_the_state_is_the_same() {
    crash_and_compare(CALM, TROUBLE, false);
}

/// Again with `OFFBOARD_TENANT=graph`: the demo reaches the tenant through the Graph connector
/// over HTTP, `offboard sim-graph` serves it from its own process (which is never killed),
/// throttling, failing transiently and losing responses of applied changes.
#[test]
fn killed_while_talking_to_sim_graph_over_http_the_state_is_the_same() {
    crash_and_compare(CALM, TROUBLE, true);
}

fn crash_and_compare(calm: Trouble, trouble: Trouble, via_graph: bool) {
    let reference = tempfile::tempdir().unwrap();
    let reference_sandbox = via_graph.then(|| Sandbox::start(reference.path(), calm));
    let started = Instant::now();
    let status = demo(reference.path(), calm, reference_sandbox.as_ref())
        .status()
        .unwrap();
    assert!(status.success(), "the uninterrupted demo failed");
    let full = started.elapsed();
    drop(reference_sandbox);
    let expected_state = fingerprint(reference.path());
    let expected_outcomes = logical_outcomes(reference.path());
    assert!(assert_each_backup_file_written_once(reference.path()) > 0);

    let crashed = tempfile::tempdir().unwrap();
    let sandbox = via_graph.then(|| Sandbox::start(crashed.path(), trouble));
    let mut kills = 0;
    let mut inside_backup = 0;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let window = (full.as_millis() as u64 / 16).max(40);
    for i in 0..60u64 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let written_before = backup_writes(crashed.path());
        let mut child = demo(crashed.path(), trouble, sandbox.as_ref())
            .spawn()
            .unwrap();
        let started = Instant::now();
        // Until two kills landed inside a backup, every other kill aims at the moment this
        // process wrote a file of an unfinished backup; the others land at random.
        let aim_at_backup = inside_backup < 2 && i % 2 == 0;
        let random = Duration::from_millis(20 + seed % window);
        let deadline = if aim_at_backup { random * 3 } else { random };
        while started.elapsed() < deadline && child.try_wait().unwrap().is_none() {
            if aim_at_backup
                && backups_in_progress(crashed.path()) > 0
                && backup_writes(crashed.path()) > written_before
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if let Some(status) = child.try_wait().unwrap() {
            assert!(
                status.success(),
                "the demo failed on its own after {kills} kills"
            );
            break;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        if backups_in_progress(crashed.path()) > 0 && backup_writes(crashed.path()) > written_before
        {
            inside_backup += 1;
        }
    }
    let last = demo(crashed.path(), trouble, sandbox.as_ref())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        last.status.success(),
        "the demo did not complete after {kills} kills: {}",
        String::from_utf8_lossy(&last.stderr)
    );
    assert!(
        kills >= 10,
        "only {kills} kills landed before the demo finished"
    );
    assert!(
        inside_backup >= 1,
        "no kill landed inside a OneDrive backup"
    );

    drop(sandbox);
    let actual_state = fingerprint(crashed.path());
    assert!(
        actual_state == expected_state,
        "final tenant state differs:\n{}",
        state_diff(&expected_state, &actual_state)
    );
    assert_each_backup_file_written_once(crashed.path());
    assert_eq!(
        logical_outcomes(crashed.path()),
        expected_outcomes,
        "outcomes differ"
    );
    eprintln!("{kills} kills ({inside_backup} inside a backup); uninterrupted run took {full:?}");
}
