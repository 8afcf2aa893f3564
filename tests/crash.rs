//! Crash safety: the demo (real engine, store and leaver workflow, simulated tenant persisted
//! to a file the harness owns) is killed with SIGKILL at many moments, restarted on the same
//! data directory each time, and must end in exactly the state of an uninterrupted run, with
//! nothing that must happen once (a file written to a backup, an outcome) happening twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use offboard::tenant::sim::SimTenant;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn demo(dir: &Path, latency_ms: u64) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_offboard"));
    c.current_dir(ROOT)
        .arg("demo")
        .arg("--quiet")
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--tenant-state")
        .arg(dir.join("tenant-state.json"))
        .arg("--outcomes")
        .arg(dir.join("outcomes.jsonl"))
        .arg("--latency-ms")
        .arg(latency_ms.to_string())
        .env("OFFBOARD_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
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

#[test]
fn killed_at_random_moments_the_leavers_end_exactly_as_an_uninterrupted_run() {
    let latency_ms = 4;
    let reference = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let status = demo(reference.path(), latency_ms).status().unwrap();
    assert!(status.success(), "the uninterrupted demo failed");
    let full = started.elapsed();
    let expected_state = fingerprint(reference.path());
    let expected_outcomes = logical_outcomes(reference.path());
    assert!(assert_each_backup_file_written_once(reference.path()) > 0);

    let crashed = tempfile::tempdir().unwrap();
    let kills_wanted = 24u64;
    let mut kills = 0;
    let mut inside_backup = 0;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..kills_wanted {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // Spread the kills over the whole run, with jitter, past process start-up.
        let span = full.as_millis() as u64;
        let at = 40 + (span * i / kills_wanted) / 2 + seed % (span / 2 + 1);
        let mut child = demo(crashed.path(), latency_ms).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(at));
        if child.try_wait().unwrap().is_some() {
            continue;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        if backups_in_progress(crashed.path()) > 0 {
            inside_backup += 1;
        }
    }
    let status = demo(crashed.path(), latency_ms).status().unwrap();
    assert!(
        status.success(),
        "the demo did not complete after {kills} kills"
    );
    assert!(
        kills >= 10,
        "only {kills} kills landed before the demo finished"
    );
    assert!(
        inside_backup >= 1,
        "no kill landed inside a OneDrive backup"
    );

    assert_eq!(
        fingerprint(crashed.path()),
        expected_state,
        "final tenant state differs"
    );
    assert_each_backup_file_written_once(crashed.path());
    assert_eq!(
        logical_outcomes(crashed.path()),
        expected_outcomes,
        "outcomes differ"
    );
    eprintln!("{kills} kills ({inside_backup} inside a backup); uninterrupted run took {full:?}");
}
