//! `onedrive.backup` and `onedrive.grant` against the simulated tenant: complete, verified,
//! resumable backups that never escape the backup folder; idempotent manager grants (R7).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use offboard::ids::DriveId;
use offboard::steps::StepOutcome;
use offboard::tenant::Tenant;
use offboard::tenant::sim::SimFaults;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

fn dana() -> Harness {
    Harness::from_json(scenario(json!({}), vec![], vec![]), DANA)
}

fn drive_dir(h: &Harness) -> PathBuf {
    h.env
        .backup_dir
        .join("3b9f6c1e-8a24-4d57-b0e3-6f2c91d4a8b5")
        .join("b!dana")
}

fn log_lines(h: &Harness) -> Vec<Value> {
    std::fs::read_to_string(drive_dir(h).join("writes.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn backup_writes_every_file_with_a_verified_manifest_and_repeat_downloads_nothing() {
    let mut h = dana();
    h.sim.set_delta_page_size(2);
    let r = done(h.step("05", "onedrive.backup", json!({})).await);
    assert_eq!(r.output["files"], 4);
    assert_eq!(r.output["bytes"], 48213 + 1000 + 1048576);
    assert_eq!(r.output["verified"], true);
    assert_eq!(r.output["driveId"], "b!dana");
    let dir = drive_dir(&h);
    for (path, size) in [
        ("Reports/q3.xlsx", 48213),
        ("Reports/2026/plan.docx", 1000),
        ("notes.txt", 0),
        ("big.bin", 1048576),
    ] {
        let bytes = std::fs::read(dir.join("files").join(path)).unwrap();
        assert_eq!(bytes.len(), size, "{path}");
    }
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["totalFiles"], 4);
    for f in manifest["files"].as_array().unwrap() {
        let bytes = std::fs::read(dir.join("files").join(f["path"].as_str().unwrap())).unwrap();
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            f["sha256"].as_str().unwrap()
        );
    }
    assert_eq!(h.sim.calls("download"), 4);
    assert_eq!(log_lines(&h).len(), 4);

    let again = done(h.step("05", "onedrive.backup", json!({})).await);
    assert!(again.changed.is_empty());
    assert_eq!(again.output["files"], 4);
    assert_eq!(h.sim.calls("download"), 4, "a repeat downloaded again");
    assert_eq!(log_lines(&h).len(), 4);
}

#[tokio::test]
async fn partial_backup_resumes_only_the_missing_files() {
    let mut h = dana();
    done(h.step("05", "onedrive.backup", json!({})).await);
    let dir = drive_dir(&h);
    std::fs::remove_file(dir.join("files/big.bin")).unwrap();
    std::fs::write(dir.join("files/Reports/q3.xlsx"), b"corrupt").unwrap();
    let r = done(h.step("05", "onedrive.backup", json!({})).await);
    assert_eq!(r.changed.len(), 1);
    assert_eq!(h.sim.calls("download"), 6);
    let lines = log_lines(&h);
    let rewritten: Vec<&str> = lines[4..]
        .iter()
        .map(|l| l["path"].as_str().unwrap())
        .collect();
    assert_eq!(rewritten.len(), 2);
    assert!(rewritten.contains(&"big.bin") && rewritten.contains(&"Reports/q3.xlsx"));
}

#[tokio::test]
async fn throttling_mid_backup_retries_and_the_next_attempt_resumes() {
    let mut h = dana();
    h.sim.set_delta_page_size(1);
    h.sim.set_faults(SimFaults {
        throttle_rate: 0.3,
        retry_after_ms: 2000,
        seed: 7,
        ..SimFaults::default()
    });
    let mut retries = 0;
    let r = loop {
        match h.step("05", "onedrive.backup", json!({})).await {
            StepOutcome::Done(r) => break r,
            StepOutcome::Retry { after, .. } => {
                assert_eq!(after, Some(std::time::Duration::from_secs(2)));
                retries += 1;
                assert!(retries < 100);
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(
        retries > 0,
        "the fault rate should have throttled at least once"
    );
    assert_eq!(r.output["verified"], true);
    // no file was written twice across the attempts
    let lines = log_lines(&h);
    let mut paths: Vec<&str> = lines.iter().map(|l| l["path"].as_str().unwrap()).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), lines.len());
    assert_eq!(lines.len(), 4);
}

#[tokio::test]
async fn hostile_names_stay_inside_the_backup_folder() {
    let drive = json!({"id": "b!dana", "files": [
        {"path": "../../escape.txt", "size": 10},
        {"path": "ok/../../../etc/passwd", "size": 5},
        {"path": "nul\u{0}name.txt", "size": 3}
    ]});
    let mut h = Harness::from_json(scenario(json!({"drive": drive}), vec![], vec![]), DANA);
    let r = done(h.step("05", "onedrive.backup", json!({})).await);
    assert_eq!(r.output["files"], 3);
    let root = h.tmp.path();
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p)
            } else {
                found.push(p)
            }
        }
    }
    let files_dir = drive_dir(&h).join("files");
    let data: Vec<_> = found.iter().filter(|p| p.starts_with(&files_dir)).collect();
    assert_eq!(data.len(), 3, "{found:?}");
    for p in &found {
        assert!(p.starts_with(drive_dir(&h)), "{} escaped", p.display());
    }
}

#[tokio::test]
async fn no_drive_is_done_without_backup() {
    let mut h = Harness::from_json(scenario(json!({"drive": null}), vec![], vec![]), DANA);
    let r = done(h.step("05", "onedrive.backup", json!({})).await);
    assert_eq!(r.output["driveId"], Value::Null);
    assert!(r.output.get("verified").is_none());
}

#[tokio::test]
async fn grant_gives_the_manager_write_once() {
    let mut h = dana();
    let r = done(h.step("06", "onedrive.grant", json!({})).await);
    assert_eq!(r.changed.len(), 1);
    assert_eq!(r.output["grantedTo"], SAM);
    assert_eq!(r.output["granted"], true);
    let again = done(h.step("06", "onedrive.grant", json!({})).await);
    assert!(again.changed.is_empty());
    assert_eq!(h.sim.calls("invite"), 1);
    let drive = DriveId::new("b!dana");
    let first = h.sim.drive_delta(&drive, None).await.unwrap();
    let root = first.items.iter().find(|i| i.is_root).unwrap();
    let perms = h.sim.list_permissions(&drive, &root.id).await.unwrap();
    assert_eq!(perms.len(), 1);
    assert_eq!(perms[0].roles, vec!["write".to_string()]);
}

#[tokio::test]
async fn grant_without_manager_is_blocked_r7() {
    let mut h = Harness::from_json(scenario(json!({"manager": null}), vec![], vec![]), DANA);
    let o = h.step("06", "onedrive.grant", json!({})).await;
    assert!(blocked(&o).contains("R7"), "{o:?}");
    // an explicit manager parameter works without a tenant manager
    let r = done(
        h.step(
            "06",
            "onedrive.grant",
            json!({"manager": SAM, "role": "read"}),
        )
        .await,
    );
    assert_eq!(r.output["grantedTo"], SAM);
}
