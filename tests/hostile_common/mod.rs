//! Helpers of the hostile-input test (`tests/hostile.rs`): raw publishing, draining the
//! dead-letter queue, the broker's consumer count, process figures, and the deterministic
//! generator of hostile events.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use crate::serve_common::{Broker, Service, amqp_url, event};
use lapin::options::{BasicGetOptions, BasicPublishOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

pub const DANA: &str = "dana.lee@contoso.com";

pub fn amqp_env(prefix: &str) -> Vec<(String, String)> {
    vec![
        ("OFFBOARD_AMQP_URL".to_string(), amqp_url()),
        ("OFFBOARD_AMQP_PREFIX".to_string(), prefix.to_string()),
        ("OFFBOARD_LOG".to_string(), "info".to_string()),
    ]
}

/// Publishes raw bytes with `message_id` and extra headers; the broker's confirm is awaited.
pub async fn publish_raw(
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
pub fn huge_headers(bytes: usize) -> FieldTable {
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
pub async fn drain(ch: &Channel, queue: &str) -> BTreeMap<String, Vec<String>> {
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
pub async fn consumers(ch: &Channel, queue: &str) -> u32 {
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
pub async fn wait_dead_letters(broker: &Broker, want: u32, within: Duration) {
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
pub async fn runs_by_event(svc: &Service) -> HashMap<String, Vec<Value>> {
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

pub fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

pub fn dir_bytes(dir: &Path) -> u64 {
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

pub fn assert_no_panic(svc: &Service) {
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

pub async fn post_raw(base: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> (u16, Value) {
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

pub const JSON: (&str, &str) = ("content-type", "application/cloudevents+json");

/// A deterministic generator of hostile events (xorshift).
pub struct Gen(pub u64);

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
pub enum Expect {
    /// A new run (its event id is new).
    Run,
    /// The id of an earlier valid event: no new run, no dead letter.
    Duplicate,
    /// A dead letter (AMQP) or a 4xx (HTTP), never a run.
    Refused,
}

/// One hostile (or valid) message: body, AMQP headers, expectation.
pub struct Msg {
    pub id: String,
    pub body: Vec<u8>,
    pub headers: FieldTable,
    pub expect: Expect,
}

pub fn generate(g: &mut Gen, n: usize, tag: &str, valid_ids: &mut Vec<String>) -> Vec<Msg> {
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
