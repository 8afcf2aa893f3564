//! The standing hostile-input test (README "Reliability and limits"): `offboard serve` with
//! the real broker and real HTTP. First every case found by attacking the edges is replayed
//! one by one; then a generated mix of 10,000 hostile events goes in over both entrances.
//! Asserted: no panic, no 5xx, every AMQP message either made one run or was dead-lettered
//! exactly once with a reason, the consumer stays attached, memory and data-directory growth
//! stay bounded. The mix prints its figures (events, runs, dead letters, peak RSS, bytes on
//! disk per event).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod hostile_common;
mod serve_common;

use hostile_common::*;
use lapin::types::FieldTable;
use serde_json::{Value, json};
use serve_common::{Broker, Service, event, unique_prefix};
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_known_hostile_case_is_refused_and_harms_no_one() {
    let prefix = unique_prefix("hostile-known");
    let broker = Broker::connect(&prefix).await;
    let dir = tempfile::tempdir().unwrap();
    let svc = Service::start(dir.path(), &amqp_env(&prefix));
    svc.wait_ready(true, Duration::from_secs(30)).await;
    let t = &broker.topology;

    // A NUL byte in one subject must not block the real person: refused at both entrances.
    let nul = format!("{DANA}\u{0}x");
    let forged = event(
        "hostile-nul",
        "hr.leaver",
        &nul,
        json!({"lastWorkingDay": "2099-12-31"}),
    );
    let (status, body) = svc.post("/api/v1/events", &forged).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("invalid-subject")),
        "{body}"
    );
    let bytes = serde_json::to_vec(&forged).unwrap();
    publish_raw(
        &broker.ch,
        &t.events_exchange,
        "hr.leaver",
        &bytes,
        "k-nul",
        FieldTable::default(),
    )
    .await;

    // One message whose headers nearly fill a frame, one structured event with a 131 KB
    // `time`: each dead-lettered once, and the connection survives them.
    publish_raw(
        &broker.ch,
        &t.events_exchange,
        "hr.leaver",
        b"{}",
        "k-headers",
        huge_headers(130_900),
    )
    .await;
    let mut long_time = event("hostile-time", "hr.leaver", DANA, json!({}));
    long_time["time"] = json!("9".repeat(131_000));
    let bytes = serde_json::to_vec(&long_time).unwrap();
    publish_raw(
        &broker.ch,
        &t.events_exchange,
        "hr.leaver",
        &bytes,
        "k-time",
        FieldTable::default(),
    )
    .await;

    // 900 KB subject and data field: refused before anything is stored.
    let big_subject = event(
        "hostile-big-subject",
        "hr.leaver",
        &format!("{}@contoso.com", "a".repeat(900_000)),
        json!({}),
    );
    let (status, _) = post_raw(
        &svc.base,
        serde_json::to_vec(&big_subject).unwrap(),
        &[JSON],
    )
    .await;
    assert_eq!(status, 413);
    let big_field = event(
        "hostile-big-field",
        "hr.leaver",
        DANA,
        json!({"note": "n".repeat(900_000)}),
    );
    let bytes = serde_json::to_vec(&big_field).unwrap();
    publish_raw(
        &broker.ch,
        &t.events_exchange,
        "hr.leaver",
        &bytes,
        "k-big-field",
        FieldTable::default(),
    )
    .await;

    // A newline in an event id cannot forge a log line.
    let newline = event(
        "e1\n2026-11-01T00:00:00.000000Z  INFO offboard: Run succeeded.",
        "hr.leaver",
        DANA,
        json!({}),
    );
    let (status, body) = svc.post("/api/v1/events", &newline).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid-attribute")),
        "{body}"
    );

    // Without a token, a page elsewhere cannot post to the API (CSRF, DNS rebinding).
    let (status, body) = post_raw(
        &svc.base,
        serde_json::to_vec(&event("hostile-csrf", "hr.leaver", DANA, json!({}))).unwrap(),
        &[
            ("origin", "http://evil.example"),
            ("host", "rebind.evil.example"),
        ],
    )
    .await;
    assert_eq!(status, 403, "{body}");

    // Everything above went to the dead-letter queue once, with its reason, or was refused.
    wait_dead_letters(&broker, 4, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(2)).await; // a duplicate would arrive by now
    let dead = drain(&broker.ch, &t.dead_queue).await;
    let reasons: BTreeMap<&str, Vec<String>> =
        dead.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    assert_eq!(
        reasons.get("k-nul"),
        Some(&vec!["invalid-subject".to_string()]),
        "{reasons:?}"
    );
    assert_eq!(
        reasons.get("k-time"),
        Some(&vec!["oversized".to_string()]),
        "{reasons:?}"
    );
    assert_eq!(
        reasons.get("k-big-field"),
        Some(&vec!["oversized".to_string()]),
        "{reasons:?}"
    );
    assert_eq!(
        reasons.get("k-headers").map(Vec::len),
        Some(1),
        "{reasons:?}"
    );
    assert_eq!(dead.len(), 4, "{reasons:?}");
    assert!(
        consumers(&broker.ch, &t.events_queue).await >= 1,
        "the consumer stays attached"
    );

    // The real person's run goes ahead (nothing queued in front of it).
    let good = event(
        "hostile-real-dana",
        "hr.leaver",
        DANA,
        json!({"lastWorkingDay": "2026-11-01"}),
    );
    broker.publish(&good).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let run = loop {
        let runs = runs_by_event(&svc).await;
        if let Some(r) = runs.get("hostile-real-dana") {
            assert_eq!(r.len(), 1);
            let id = r[0]["id"].as_str().unwrap().to_string();
            break svc
                .wait_run(&id, Duration::from_secs(60), |r| r["status"] != "pending")
                .await;
        }
        assert!(Instant::now() < deadline, "the real event made no run");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_ne!(run["status"], "pending");
    assert_eq!(
        runs_by_event(&svc).await.len(),
        1,
        "no hostile event made a run"
    );
    let log = svc.log_text();
    assert!(
        !log.lines().any(|l| l.starts_with("2026-11-01T00:00:00")),
        "a forged log line:\n{log}"
    );
    assert_no_panic(&svc);
    drop(svc);
    broker.cleanup().await;
}

#[test]
fn settings_that_are_not_implemented_stop_the_start() {
    for (var, value, named) in [
        ("OFFBOARD_BACKUP_URL", "s3://bucket/leavers", "s3://"),
        (
            "OFFBOARD_BACKUP_URL",
            "https://acct.blob.core.windows.net/backups",
            "https://",
        ),
        (
            "OFFBOARD_AMQP_URL",
            "amqps://guest:guest@127.0.0.1:5671/%2f",
            "amqps://",
        ),
        ("OFFBOARD_ADMIN_TOKEN", "x", "16"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_offboard"))
            .current_dir(serve_common::ROOT)
            .arg("serve")
            .env_clear()
            .env("OFFBOARD_DATA_DIR", dir.path())
            .env("OFFBOARD_HTTP_ADDR", "127.0.0.1:0")
            .env(var, value)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{var}={value} was accepted:\n{stderr}"
        );
        assert!(
            stderr.contains(var) && stderr.contains(named),
            "{var}={value}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            !dir.path().join("store").exists(),
            "{var}={value}: nothing is started before the settings are checked"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_hostile_mix_over_both_entrances_leaves_every_event_accounted_for() {
    let prefix = unique_prefix("hostile-mix");
    let broker = Broker::connect(&prefix).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let svc = Service::start(&data, &amqp_env(&prefix));
    svc.wait_ready(true, Duration::from_secs(30)).await;
    let before_bytes = dir_bytes(&data);
    let t = broker.topology.clone();
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let mut valid = Vec::new();

    // AMQP: 7,000 messages, a few with headers that nearly fill a frame.
    let mut amqp = generate(&mut g, 7_000, "mix-amqp", &mut valid);
    for (i, m) in amqp.iter_mut().enumerate() {
        if i % 700 == 350 {
            m.headers = huge_headers(130_900);
        }
    }
    let started = Instant::now();
    for m in &amqp {
        let key = serde_json::from_slice::<Value>(&m.body)
            .ok()
            .and_then(|v| v["type"].as_str().map(str::to_string))
            .unwrap_or_else(|| "hr.leaver".into());
        publish_raw(
            &broker.ch,
            &t.events_exchange,
            &key,
            &m.body,
            &m.id,
            m.headers.clone(),
        )
        .await;
    }

    // HTTP: 3,000 requests, 8 at a time; no answer may be a 5xx.
    let http = generate(&mut g, 3_000, "mix-http", &mut valid);
    let base = svc.base.clone();
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    let mut wrong = Vec::new();
    for chunk in http.chunks(8) {
        let mut set = tokio::task::JoinSet::new();
        for m in chunk {
            let (base, body, expect, id) = (base.clone(), m.body.clone(), m.expect, m.id.clone());
            set.spawn(async move {
                let (status, answer) = post_raw(&base, body, &[JSON]).await;
                (status, answer, expect, id)
            });
        }
        while let Some(r) = set.join_next().await {
            let (status, answer, expect, id) = r.unwrap();
            *statuses.entry(status).or_default() += 1;
            let ok = match expect {
                Expect::Run => status == 202,
                // 202 when the earlier AMQP message with that id was not admitted yet
                Expect::Duplicate => status == 200 || status == 202,
                Expect::Refused => (400..500).contains(&status) && answer["error"].is_string(),
            };
            if !ok {
                wrong.push(format!("{id}: {expect:?} got {status} {answer}"));
            }
        }
    }
    assert!(
        statuses.keys().all(|s| *s < 500),
        "5xx answers: {statuses:?}"
    );
    assert!(
        wrong.is_empty(),
        "{} unexpected answers, e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );

    // Every AMQP message is accounted for: a run, a duplicate of one, or one dead letter.
    let refused: Vec<&Msg> = amqp
        .iter()
        .filter(|m| m.expect == Expect::Refused)
        .collect();
    wait_dead_letters(&broker, refused.len() as u32, Duration::from_secs(300)).await;
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let dead = drain(&broker.ch, &t.dead_queue).await;
    for m in &amqp {
        let got = dead.get(&m.id).map(Vec::len).unwrap_or(0);
        let want = usize::from(m.expect == Expect::Refused);
        assert_eq!(
            got,
            want,
            "message {} ({:?}): {} dead letters {:?}",
            m.id,
            m.expect,
            got,
            dead.get(&m.id)
        );
    }
    assert!(
        dead.values().flatten().all(|r| r != "(no reason)"),
        "every dead letter carries its reason"
    );
    assert!(
        consumers(&broker.ch, &t.events_queue).await >= 1,
        "the consumer stays attached"
    );
    let runs = runs_by_event(&svc).await;
    let valid_ids: std::collections::BTreeSet<&String> = valid.iter().collect();
    for id in &valid_ids {
        assert_eq!(
            runs.get(*id).map(Vec::len),
            Some(1),
            "event {id} must make exactly one run"
        );
    }
    assert_eq!(runs.len(), valid_ids.len(), "only valid events made runs");

    let hwm_mib = vm_hwm_kib(svc.pid()) / 1024;
    let grown = dir_bytes(&data).saturating_sub(before_bytes);
    let events = (amqp.len() + http.len()) as u64;
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for r in dead.values().flatten() {
        *reasons.entry(r.as_str()).or_default() += 1;
    }
    println!(
        "hostile mix: {events} events ({} AMQP in {elapsed:.1?}, {} HTTP), {} runs, {} dead letters {reasons:?}, HTTP answers {statuses:?}, peak RSS {hwm_mib} MiB, data dir +{} KiB ({} bytes per event)",
        amqp.len(),
        http.len(),
        runs.values().map(Vec::len).sum::<usize>(),
        dead.values().map(Vec::len).sum::<usize>(),
        grown / 1024,
        grown / events
    );
    assert!(hwm_mib < 600, "peak RSS {hwm_mib} MiB");
    assert!(
        grown / events < 64 * 1024,
        "{grown} bytes on disk for {events} events"
    );
    assert_no_panic(&svc);
    drop(svc);
    broker.cleanup().await;
}
