//! The shipped examples: every sample event decodes as the ingress decodes it and starts the
//! workflow its type stands for; `examples/offboard.toml` loads and documents every key; the
//! `publish` example delivers samples and a signed generated batch to the real broker
//! (`OFFBOARD_TEST_AMQP_URL`), structured and binary, with a topology of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use lapin::options::{BasicGetOptions, ExchangeDeclareOptions, ExchangeDeleteOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
use offboard::config::{Config, KEYS};
use offboard::engine::{Engine, Registry};
use offboard::event::{CloudEvent, EVENT_TYPES, parse_instant};
use offboard::ids::RunId;
use offboard::ingress::{Topology, decode, signed_bytes};
use offboard::signature::{EventKey, SIGNATURE_HEADER};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const MAX_BODY: usize = 1 << 20;

/// Every sample: file name, body bytes.
fn samples() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(ROOT).join("examples/samples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

/// The workflow each type starts with the repo workflows; `None`: an operator's command about
/// an existing run, which starts no workflow.
fn expected_workflow(event_type: &str) -> Option<&'static str> {
    match event_type {
        "hr.leaver" => Some("leaver"),
        "hr.joiner" => Some("joiner"),
        "hr.mover" => Some("mover"),
        "hr.restore" => Some("restore"),
        "ops.retention-sweep" => Some("retention-sweep"),
        "ops.run.restart" | "ops.run.cancel" => None,
        other => panic!("no expectation for the type {other}"),
    }
}

#[test]
fn every_sample_decodes_and_starts_the_workflow_of_its_type() {
    let registry =
        Registry::new(offboard::workflow::load_dir(&Path::new(ROOT).join("workflows")).unwrap());
    let tenant: Value = serde_json::from_slice(
        &std::fs::read(Path::new(ROOT).join("examples/tenant.json")).unwrap(),
    )
    .unwrap();
    let upns: BTreeSet<&str> = tenant["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userPrincipalName"].as_str().unwrap())
        .collect();
    let mut types = BTreeSet::new();
    let mut ids = BTreeSet::new();
    let mut fields = BTreeSet::new();
    let mut mailboxes = BTreeSet::new();
    for (name, body) in samples() {
        let event = decode(None, &body, MAX_BODY).unwrap_or_else(|r| panic!("{name}: {r:?}"));
        assert!(ids.insert(event.id.to_string()), "{name}: id used twice");
        assert!(
            name.starts_with(&event.event_type),
            "{name}: the file name starts with its type"
        );
        types.insert(event.event_type.clone());
        if let Some(data) = event.data.as_object() {
            fields.extend(data.keys().cloned());
        }
        if let Some(m) = event.data.get("mailbox").and_then(Value::as_str) {
            mailboxes.insert(m.to_string());
        }
        if event.event_type == "ops.retention-sweep" {
            assert_eq!(event.subject, "tenant", "{name}");
        } else {
            assert!(
                upns.contains(event.subject.as_str()),
                "{name}: subject not in tenant.json"
            );
        }
        let started: Vec<String> = registry
            .triggered(&event, Utc::now())
            .unwrap()
            .iter()
            .map(|w| w.name.clone())
            .collect();
        match expected_workflow(&event.event_type) {
            Some(w) => assert_eq!(started, [w], "{name}"),
            None => {
                assert!(started.is_empty(), "{name}: {started:?}");
                assert!(Engine::is_control(&event), "{name}");
                let run = event.data["runId"].as_str().and_then(RunId::parse);
                assert!(run.is_some(), "{name}: data.runId is a run id");
            }
        }
    }
    let all: BTreeSet<String> = EVENT_TYPES.iter().map(|t| t.to_string()).collect();
    assert_eq!(types, all, "one sample per event type");
    assert_eq!(
        mailboxes,
        BTreeSet::from(["delete".to_string(), "shared".to_string()])
    );
    // The data fields README "Events" documents.
    for f in [
        "lastWorkingDay",
        "manager",
        "mailbox",
        "onedrive",
        "autoReply",
        "purgeAfterDays",
        "usageLocation",
        "licenses",
        "groups",
        "from",
        "to",
        "fromGroup",
        "toGroup",
        "runId",
        "fromStep",
    ] {
        assert!(fields.contains(f), "no sample uses data.{f}");
    }
}

#[test]
fn the_sample_config_loads_and_documents_every_key_with_its_variable() {
    let path = Path::new(ROOT).join("examples/offboard.toml");
    let cfg = Config::load(Some(&path)).unwrap();
    // The keys set in the file are set to the defaults the code applies without them.
    let d = Config::default();
    assert_eq!(cfg.data_dir(), d.data_dir());
    assert_eq!(cfg.workflows_dir(), d.workflows_dir());
    assert_eq!(cfg.http_addr(), d.http_addr());
    assert_eq!(cfg.http_max_connections(), d.http_max_connections());
    assert_eq!(cfg.shutdown_grace(), d.shutdown_grace());
    assert_eq!(cfg.retention(), d.retention());
    assert_eq!(cfg.sim_scenario(), d.sim_scenario());
    assert_eq!(cfg.quarantine(), d.quarantine());
    assert_eq!(cfg.protection(), d.protection());
    assert_eq!(cfg.amqp_url, None, "no broker unless one is configured");

    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for key in KEYS {
        let named = lines.iter().any(|l| {
            let l = l.trim_start_matches('#').trim_start();
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        });
        assert!(
            named,
            "examples/offboard.toml does not show the key `{key}`"
        );
        let var = format!("OFFBOARD_{}", key.to_uppercase());
        assert!(
            text.contains(&var),
            "examples/offboard.toml does not name {var}"
        );
    }
}

// ---- the publish example against the broker ----

fn amqp_url() -> String {
    std::env::var("OFFBOARD_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// target/<profile>/examples/publish, built by `cargo test` (or `cargo build --example publish`).
fn publish_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let bin = profile_dir
        .join("examples")
        .join(format!("publish{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo test` (it builds the examples) or `cargo build --example publish`",
        bin.display()
    );
    // `cargo test --test examples` alone does not rebuild examples: refuse a stale binary.
    let built = std::fs::metadata(&bin).unwrap().modified().unwrap();
    for source in [
        "examples/publish.rs",
        "src/ingress/signed.rs",
        "src/signature.rs",
    ] {
        let changed = std::fs::metadata(Path::new(ROOT).join(source))
            .unwrap()
            .modified()
            .unwrap();
        assert!(
            built >= changed,
            "{} is older than {source}: run `cargo build --example publish` (or plain `cargo test`)",
            bin.display()
        );
    }
    bin
}

/// Runs the example; its exit status and stderr.
async fn publish(prefix: &str, key: &str, args: &[&str]) -> (bool, String) {
    let out = tokio::process::Command::new(publish_binary())
        .args(args)
        .args(["--url", &amqp_url(), "--prefix", prefix])
        .env("OFFBOARD_EVENT_KEY", key)
        .current_dir(ROOT)
        .output()
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn header(headers: &FieldTable, name: &str) -> Option<String> {
    headers.inner().iter().find_map(|(k, v)| match v {
        AMQPValue::LongString(s) if k.as_str() == name => {
            Some(String::from_utf8_lossy(s.as_bytes()).into_owned())
        }
        _ => None,
    })
}

/// Takes `n` messages off the events queue, checks each message's envelope and signature and
/// returns the decoded events by id.
async fn take(ch: &Channel, queue: &str, key: &EventKey, n: usize) -> BTreeMap<String, CloudEvent> {
    let mut got = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while got.len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {n} messages arrived",
            got.len()
        );
        let Some(m) = ch
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
        else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let d = m.delivery;
        let headers = d.properties.headers().clone().unwrap_or_default();
        let event = decode(Some(&headers), &d.data, MAX_BODY).unwrap();
        let signature = header(&headers, SIGNATURE_HEADER);
        key.verify(&signed_bytes(Some(&headers), &d.data), signature.as_deref())
            .unwrap_or_else(|e| panic!("event {}: {e}", event.id));
        assert_eq!(d.routing_key.as_str(), event.event_type);
        assert_eq!(
            d.properties.message_id().as_ref().map(|s| s.as_str()),
            Some(event.id.as_str())
        );
        assert_eq!(*d.properties.delivery_mode(), Some(2), "persistent");
        assert_eq!(
            header(&headers, "x-offboard-subject"),
            Some(event.subject.to_lowercase())
        );
        assert!(
            got.insert(event.id.to_string(), event).is_none(),
            "a duplicate"
        );
    }
    let extra = ch
        .basic_get(queue.into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap();
    assert!(extra.is_none(), "more messages than published");
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_delivers_samples_and_a_signed_generated_batch_with_confirms() {
    let prefix = format!("test.examples.{}.", uuid::Uuid::now_v7().simple());
    let topology = Topology::prefixed(&prefix);
    let conn = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    topology.declare(&ch).await.unwrap();
    let key = EventKey::new("examples-signing-key").unwrap();
    let samples: BTreeMap<String, CloudEvent> = samples()
        .iter()
        .map(|(_, b)| CloudEvent::from_json(b).unwrap())
        .map(|e| (e.id.to_string(), e))
        .collect();
    let queue = topology.events_queue.as_str();

    // Structured mode: the samples and 50 generated leavers over 7 people.
    let (ok, stderr) = publish(
        &prefix,
        "examples-signing-key",
        &["examples/samples", "--generate", "50", "--subjects", "7"],
    )
    .await;
    let total = samples.len() + 50;
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains(&format!("published {total}, confirmed {total},")),
        "{stderr}"
    );
    let mut got = take(&ch, queue, &key, total).await;
    for (id, sample) in &samples {
        assert_eq!(got.remove(id).as_ref(), Some(sample), "sample {id}");
    }
    assert_eq!(got.len(), 50);
    let subjects: BTreeSet<String> = got.values().map(|e| e.subject.clone()).collect();
    let expected: BTreeSet<String> = (1..=7).map(|k| format!("user{k}@contoso.com")).collect();
    assert_eq!(subjects, expected);
    for e in got.values() {
        assert_eq!(e.event_type, "hr.leaver");
        let day = e.lifecycle().unwrap().last_working_day.unwrap();
        assert!(
            parse_instant(&day).unwrap() > Utc::now(),
            "{day} is in the future"
        );
    }

    // Binary mode: attributes in headers, the signature over them and the data.
    let (ok, stderr) = publish(
        &prefix,
        "examples-signing-key",
        &["examples/samples", "--binary"],
    )
    .await;
    assert!(ok, "{stderr}");
    let got = take(&ch, queue, &key, samples.len()).await;
    assert_eq!(got, samples);

    // Nothing bound to the exchange: the broker returns every message, and the example says
    // which ones were not delivered.
    let lonely = format!("{prefix}lonely.");
    let lonely_exchange = Topology::prefixed(&lonely).events_exchange;
    ch.exchange_declare(
        lonely_exchange.as_str().into(),
        ExchangeKind::Topic,
        ExchangeDeclareOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    let (ok, stderr) = publish(
        &lonely,
        "examples-signing-key",
        &["examples/samples/hr.joiner.json"],
    )
    .await;
    assert!(!ok);
    assert!(stderr.contains("published 1, confirmed 0,"), "{stderr}");
    assert!(
        stderr.contains("sample-joiner-0001 (unroutable"),
        "{stderr}"
    );
    ch.exchange_delete(
        lonely_exchange.as_str().into(),
        ExchangeDeleteOptions::default(),
    )
    .await
    .unwrap();
    // No exchange at all: a clear failure, not a hang.
    let (ok, stderr) = publish(
        "test.examples.missing.",
        "",
        &["examples/samples/hr.joiner.json"],
    )
    .await;
    assert!(!ok);
    assert!(stderr.contains("does not exist on the broker"), "{stderr}");

    topology.delete(&ch).await.unwrap();
    conn.close(200, "done".into()).await.unwrap();
}
