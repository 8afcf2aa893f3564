//! The standing hostile-input test (README "Reliability and limits"): `offboard serve` with
//! the real broker and real HTTP. First every case found by attacking the edges is replayed
//! one by one; then a generated mix of 10,000 hostile events goes in over both entrances.
//! Asserted: no panic, no 5xx, every AMQP message either made one run or was dead-lettered
//! exactly once with a reason, the consumer stays attached, memory and data-directory growth
//! stay bounded. The mix prints its figures (events, runs, dead letters, peak RSS, bytes on
//! disk per event).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod serve_common;

use lapin::options::{BasicGetOptions, BasicPublishOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel};
use serde_json::{Value, json};
use serve_common::{Broker, Service, amqp_url, event, unique_prefix};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DANA: &str = "dana.lee@contoso.com";

fn amqp_env(prefix: &str) -> Vec<(String, String)> {
    vec![
        ("OFFBOARD_AMQP_URL".to_string(), amqp_url()),
        ("OFFBOARD_AMQP_PREFIX".to_string(), prefix.to_string()),
        ("OFFBOARD_LOG".to_string(), "info".to_string()),
    ]
}

/// Publishes raw bytes with `message_id` and extra headers; the broker's confirm is awaited.
async fn publish_raw(
    ch: &Channel,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
    message_id: &str,
    headers: FieldTable,
) {
    let props = BasicProperties::default()
        .with_delivery_mode(2)
        .with_message_id(message_id.into())
        .with_headers(headers);
    let confirm = ch
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions::default(),
            body,
            props,
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert!(
        confirm.is_ack(),
        "the broker refused test message {message_id}"
    );
}

/// Headers of about `bytes` bytes in all (a few long strings).
fn huge_headers(bytes: usize) -> FieldTable {
    let mut h = FieldTable::default();
    let chunk = 30_000;
    let mut left = bytes;
    let mut i = 0;
    while left > 0 {
        let n = left.min(chunk);
        h.insert(
            format!("x-filler-{i}").into(),
            AMQPValue::LongString(LongString::from("h".repeat(n))),
        );
        left -= n;
        i += 1;
    }
    h
}

/// Every message left in `queue`, by message id: (count, reasons).
async fn drain(ch: &Channel, queue: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    while let Some(m) = ch
        .basic_get(queue.into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        let d = m.delivery;
        let id = d
            .properties
            .message_id()
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_default();
        let reason = d
            .properties
            .headers()
            .as_ref()
            .and_then(|h| {
                h.inner()
                    .iter()
                    .find(|(k, _)| k.as_str() == "x-offboard-reason")
            })
            .map(|(_, v)| match v {
                AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
                other => format!("{other:?}"),
            })
            .unwrap_or_else(|| "(no reason)".into());
        out.entry(id).or_default().push(reason);
    }
    out
}

/// The broker's consumer count of a queue.
async fn consumers(ch: &Channel, queue: &str) -> u32 {
    ch.queue_declare(
        queue.into(),
        QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap()
    .consumer_count()
}

/// Waits until the events queue is empty and every message is settled (ready and unacked:
/// the passive declare counts only ready ones, so the dead letters must reach `want`).
async fn wait_dead_letters(broker: &Broker, want: u32, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let dead = broker.depth(&broker.topology.dead_queue).await;
        let ready = broker.depth(&broker.topology.events_queue).await;
        if dead >= want && ready == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "only {dead} of {want} dead letters ({ready} messages still queued)"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every run, by the event id that made it.
async fn runs_by_event(svc: &Service) -> HashMap<String, Vec<Value>> {
    let mut out: HashMap<String, Vec<Value>> = HashMap::new();
    let mut after = String::new();
    loop {
        let path = format!("/api/v1/runs?limit=1000&after={after}");
        let (status, page) = svc.get(&path).await;
        assert_eq!(status, 200, "{page}");
        for r in page["runs"].as_array().unwrap() {
            out.entry(r["eventId"].as_str().unwrap().to_string())
                .or_default()
                .push(r.clone());
        }
        match page["next"].as_str() {
            Some(n) => after = n.to_string(),
            None => return out,
        }
    }
}

fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut n = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => n += dir_bytes(&e.path()),
                Ok(m) => n += m.len(),
                Err(_) => {}
            }
        }
    }
    n
}

fn assert_no_panic(svc: &Service) {
    let log = svc.log_text();
    assert!(
        !log.contains("panicked"),
        "the service panicked:\n{}",
        log.lines()
            .filter(|l| l.contains("panicked"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

async fn post_raw(base: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/api/v1/events"))
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

const JSON: (&str, &str) = ("content-type", "application/cloudevents+json");

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

/// A deterministic generator of hostile events (xorshift).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What one generated message should come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A new run (its event id is new).
    Run,
    /// The id of an earlier valid event: no new run, no dead letter.
    Duplicate,
    /// A dead letter (AMQP) or a 4xx (HTTP), never a run.
    Refused,
}

/// One hostile (or valid) message: body, AMQP headers, expectation.
struct Msg {
    id: String,
    body: Vec<u8>,
    headers: FieldTable,
    expect: Expect,
}

fn generate(g: &mut Gen, n: usize, tag: &str, valid_ids: &mut Vec<String>) -> Vec<Msg> {
    let ctrl = ['\u{0}', '\n', '\r', '\u{1b}', '\u{7f}', '\u{85}'];
    (0..n)
        .map(|i| {
            let id = format!("{tag}-{i}");
            let subject = format!("person{}@contoso.com", g.below(3000));
            let base = || {
                event(
                    &id,
                    "hr.leaver",
                    &subject,
                    json!({"lastWorkingDay": "2099-12-31"}),
                )
            };
            let refused = |v: Value| (serde_json::to_vec(&v).unwrap(), Expect::Refused);
            let (body, expect): (Vec<u8>, Expect) = match g.below(16) {
                0..=2 => {
                    valid_ids.push(id.clone());
                    (serde_json::to_vec(&base()).unwrap(), Expect::Run)
                }
                3 if !valid_ids.is_empty() => {
                    let earlier = valid_ids[g.below(valid_ids.len() as u64) as usize].clone();
                    let mut v = base();
                    v["id"] = json!(earlier);
                    v["subject"] = json!(format!("other{}@contoso.com", g.below(99)));
                    (serde_json::to_vec(&v).unwrap(), Expect::Duplicate)
                }
                4 => {
                    let len = 1 + g.below(200) as usize;
                    (
                        (0..len).map(|_| g.below(256) as u8).collect(),
                        Expect::Refused,
                    )
                }
                5 => {
                    let mut v = base();
                    let key = ["id", "source", "type", "subject", "time", "specversion"]
                        [g.below(6) as usize];
                    v.as_object_mut().unwrap().remove(key);
                    refused(v)
                }
                6 => {
                    let mut v = base();
                    v["type"] =
                        json!(["hr.fired", "", "HR.LEAVER", "ops.run.nuke"][g.below(4) as usize]);
                    refused(v)
                }
                7 => {
                    let mut v = base();
                    let c = ctrl[g.below(ctrl.len() as u64) as usize];
                    v["subject"] = json!(match g.below(4) {
                        0 => format!("{subject}{c}x"),
                        1 => format!("{}@contoso.com", "p".repeat(120)),
                        2 => "dana lee@contoso.com".into(),
                        _ => "tenant".into(),
                    });
                    refused(v)
                }
                8 => {
                    let mut v = base();
                    let c = ctrl[g.below(ctrl.len() as u64) as usize];
                    v["id"] = json!(match g.below(2) {
                        0 => format!("{id}{c}INFO forged"),
                        _ => format!("{id}{}", "i".repeat(300)),
                    });
                    refused(v)
                }
                9 => {
                    let mut v = base();
                    v["time"] = json!(match g.below(3) {
                        0 => "9".repeat(10_000),
                        1 => "yesterday".into(),
                        _ => "2026-13-45T99:00:00Z".into(),
                    });
                    refused(v)
                }
                10 => {
                    let mut v = base();
                    match g.below(4) {
                        0 => v["data"]["manager"] = json!("m".repeat(5_000)),
                        1 => {
                            for f in 0..70 {
                                v["data"][format!("f{f}")] = json!(f);
                            }
                        }
                        2 => v["data"]["groups"] = json!(["g\u{0}1"]),
                        _ => v["data"]["manager"] = json!("the boss"),
                    }
                    refused(v)
                }
                11 => {
                    let mut v = base();
                    v["data"] = json!([1, 2, 3]);
                    refused(v)
                }
                12 => {
                    let mut v = base();
                    v["subject"] = json!(42);
                    refused(v)
                }
                13 => {
                    let mut v = base();
                    v["data"]["autoReply"] = json!("x".repeat(70_000));
                    refused(v)
                }
                14 => {
                    let mut v = base();
                    v["specversion"] = json!("0.3");
                    refused(v)
                }
                _ => {
                    let mut v = base();
                    v["data"]["lastWorkingDay"] = json!("30/12/2099");
                    refused(v)
                }
            };
            Msg {
                id,
                body,
                headers: FieldTable::default(),
                expect,
            }
        })
        .collect()
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
