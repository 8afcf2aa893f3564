//! The AMQP ingress cannot be wedged by one message, against the real broker
//! (`OFFBOARD_TEST_AMQP_URL`): a dead-letter copy always fits the broker's frame limit, a
//! message that cannot be dead-lettered is rejected after the attempt limit, readiness follows
//! the broker's consumer count, an unreachable broker is logged and named in readiness, and
//! the service stops cleanly. Each test uses its own exchange and queue names.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod ingress_common;
mod serve_common;

use ingress_common::{CancelEater, Rig, header_text, leaver};
use lapin::BasicProperties;
use lapin::options::{BasicPublishOptions, QueueDeleteOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use offboard::ingress::{DETAIL_HEADER, DETAIL_MAX, OMITTED_HEADER, REASON_HEADER};
use serde_json::json;
use serve_common::{Broker, Service, amqp_url, event, unique_prefix};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);

/// Long enough for a wedged ingress to have dead-lettered the same message again.
const AFTER_A_WHILE: Duration = Duration::from_secs(8);

fn text(s: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s))
}

/// After a bad message: it was dead-lettered exactly once, the ingress still consumes, and
/// a valid event behind it becomes a run.
async fn still_consuming_after(rig: &Rig, good: &str) {
    rig.publish_event(&leaver(good, &format!("{good}@contoso.com")))
        .await;
    rig.wait_event(good, WAIT).await;
    assert_eq!(rig.run_count(), 1);
    tokio::time::sleep(AFTER_A_WHILE).await;
    let (dead, _) = rig.queue_state(&rig.config.topology.dead_queue).await;
    assert_eq!(dead, 0, "the message was dead-lettered again");
    assert_eq!(rig.counters.total(), 1);
    assert!(rig.consumers().await >= 1, "the broker shows no consumer");
    let (ready, detail) = rig.broker_state();
    assert!(ready, "{detail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_with_130_kb_of_headers_is_dead_lettered_once_without_them() {
    let rig = Rig::start("big_headers", |_| {}).await;
    rig.wait_broker(true, WAIT).await;
    // About 131,000 bytes of headers: the message itself just fits the broker's frame
    // (131,072 bytes), a copy with the reason added would not.
    let mut h = FieldTable::default();
    h.insert("x-trace".into(), text(&"t".repeat(130_990)));
    h.insert("x-small".into(), text("kept"));
    let body = b"{this is not json".to_vec();
    rig.publish(&body, BasicProperties::default().with_headers(h))
        .await;

    let dead = rig.next_dead_letter(WAIT).await;
    assert_eq!(header_text(&dead, REASON_HEADER).unwrap(), "invalid-json");
    assert_eq!(dead.data, body, "the body is kept byte for byte");
    assert_eq!(header_text(&dead, "x-small").unwrap(), "kept");
    assert!(
        header_text(&dead, "x-trace").is_none(),
        "the big header stayed"
    );
    let note = header_text(&dead, OMITTED_HEADER).expect("no note of what was left out");
    assert!(
        note.contains("x-trace") && note.contains("frame_max"),
        "{note}"
    );
    let headers_bytes: usize = dead
        .properties
        .headers()
        .as_ref()
        .unwrap()
        .inner()
        .iter()
        .map(|(k, v)| {
            k.as_str().len()
                + match v {
                    AMQPValue::LongString(s) => s.as_bytes().len(),
                    _ => 16,
                }
        })
        .sum();
    assert!(
        headers_bytes < 65_536,
        "the copy has {headers_bytes} bytes of headers"
    );

    still_consuming_after(&rig, "after-big-headers").await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_whose_time_is_131_kb_is_dead_lettered_once_with_a_bounded_detail() {
    let rig = Rig::start("big_time", |_| {}).await;
    rig.wait_broker(true, WAIT).await;
    let mut ev = leaver("big-time", "big.time@contoso.com");
    ev["time"] = json!("9".repeat(131_000));
    let body = serde_json::to_vec(&ev).unwrap();
    rig.publish(&body, BasicProperties::default()).await;

    // Over the event limit (64 KiB) before any attribute is read; the detail says so in a
    // few words (a refused value is never echoed whole; dead_copy.rs's unit tests cut a long
    // detail).
    let dead = rig.next_dead_letter(WAIT).await;
    assert_eq!(header_text(&dead, REASON_HEADER).unwrap(), "oversized");
    let detail = header_text(&dead, DETAIL_HEADER).unwrap();
    assert!(detail.len() <= DETAIL_MAX, "{} bytes", detail.len());
    assert!(detail.contains("limit"), "{detail}");
    assert_eq!(dead.data, body, "the body is kept byte for byte");
    assert!(rig.env.engine.store().event("big-time").unwrap().is_none());

    still_consuming_after(&rig, "after-big-time").await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_brokers_consumer_count_and_the_ingress_consumes_again() {
    // Through a proxy that drops the broker's basic.cancel: the consumer the broker drops
    // when its queue is deleted vanishes without the client hearing of it.
    let proxy = CancelEater::start().await;
    let url = proxy.url();
    let rig = Rig::start("no_consumer", move |c| c.url = url).await;
    rig.wait_broker(true, WAIT).await;
    assert!(rig.consumers().await >= 1);

    let queue = rig.config.topology.events_queue.clone();
    rig.ch
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await
        .unwrap();
    let deadline = Instant::now() + WAIT;
    while proxy.eaten() == 0 {
        assert!(
            Instant::now() < deadline,
            "the broker never cancelled the consumer"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The queue is back, with nobody consuming it (unless the ingress already noticed).
    rig.config.topology.declare(&rig.ch).await.unwrap();

    let why = rig.wait_broker(false, WAIT).await;
    assert!(
        why.contains("not consuming") && why.contains(&queue),
        "{why}"
    );
    let again = rig.wait_broker(true, WAIT).await;
    assert!(again.contains("consuming"), "{again}");
    assert!(
        rig.consumers().await >= 1,
        "ready, but the broker shows no consumer"
    );
    rig.publish_event(&leaver("after-cancel", "after.cancel@contoso.com"))
        .await;
    rig.wait_event("after-cancel", WAIT).await;
    rig.stop().await;
}

/// A broker policy, cleared when dropped (also when the test fails).
struct Policy(String);

impl Drop for Policy {
    fn drop(&mut self) {
        let _ = std::process::Command::new("rabbitmqctl")
            .args(["clear_policy", &self.0])
            .output();
    }
}

/// `rabbitmqctl` with `args`; panics when it fails.
fn rabbitmqctl(args: &[&str]) {
    let out = std::process::Command::new("rabbitmqctl")
        .args(args)
        .output()
        .expect("rabbitmqctl must be installed for this test");
    assert!(
        out.status.success(),
        "rabbitmqctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A message the dead-letter queue refuses: a policy makes it full (max-length 0) and
/// rejecting new messages, so the broker nacks every copy offboard publishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_cannot_be_dead_lettered_is_rejected_after_the_limit_and_counted() {
    let prefix = unique_prefix("undeliverable");
    let broker = Broker::connect(&prefix).await;
    let policy = format!("{prefix}full");
    let pattern = format!("^{}$", broker.topology.dead_queue.replace('.', "\\."));
    let definition = r#"{"max-length":0,"overflow":"reject-publish"}"#;
    let _policy = Policy(policy.clone());
    rabbitmqctl(&[
        "set_policy",
        "--apply-to",
        "queues",
        "--priority",
        "100",
        &policy,
        &pattern,
        definition,
    ]);
    // The policy applies asynchronously: wait until a copy is refused.
    let deadline = Instant::now() + WAIT;
    loop {
        let confirm = broker
            .ch
            .basic_publish(
                broker.topology.dead_exchange.as_str().into(),
                "probe".into(),
                BasicPublishOptions::default(),
                b"probe",
                BasicProperties::default(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        if confirm.is_nack() {
            break;
        }
        assert!(Instant::now() < deadline, "the policy never applied");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        ("OFFBOARD_AMQP_URL".to_string(), amqp_url()),
        ("OFFBOARD_AMQP_PREFIX".to_string(), prefix.clone()),
    ];
    let mut svc = Service::start(dir.path(), &env);
    svc.wait_ready(true, WAIT).await;

    let poison = br#"{"specversion": "1.0", "id": "#.to_vec();
    publish_raw(&broker, &poison).await;
    // Counted and logged once, at error.
    let deadline = Instant::now() + WAIT;
    let undeliverable = "offboard_events_dead_lettered_total{reason=\"undeliverable\"} 1";
    loop {
        let (_, metrics) = get_text(&svc, "/metrics").await;
        if metrics.contains(undeliverable) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not counted:\n{metrics}\n{}",
            svc.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Later events still flow, and the rejected message does not come back.
    broker
        .publish(&event(
            "after-undeliverable",
            "hr.leaver",
            "after.undeliverable@contoso.com",
            json!({"lastWorkingDay": "2030-01-01"}),
        ))
        .await;
    let deadline = Instant::now() + WAIT;
    loop {
        let (_, runs) = svc
            .get("/api/v1/runs?subject=after.undeliverable@contoso.com")
            .await;
        if runs["runs"].as_array().is_some_and(|r| r.len() == 1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no run: {runs}\n{}",
            svc.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(AFTER_A_WHILE).await;
    assert_eq!(broker.depth(&broker.topology.events_queue).await, 0);
    let (_, metrics) = get_text(&svc, "/metrics").await;
    assert!(metrics.contains(undeliverable), "{metrics}");
    let rejected: Vec<String> = svc
        .log_text()
        .lines()
        .filter(|l| l.contains("rejected without requeue"))
        .map(String::from)
        .collect();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert!(
        rejected[0].contains("ERROR") && rejected[0].contains("invalid-json"),
        "{}",
        rejected[0]
    );
    svc.terminate();
    assert!(svc.wait_exit(WAIT).success(), "{}", svc.log_text());
    broker.cleanup().await;
}

async fn publish_raw(broker: &Broker, body: &[u8]) {
    let confirm = broker
        .ch
        .basic_publish(
            broker.topology.events_exchange.as_str().into(),
            "hr.leaver".into(),
            BasicPublishOptions::default(),
            body,
            BasicProperties::default().with_delivery_mode(2),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert!(confirm.is_ack());
}

async fn get_text(svc: &Service, path: &str) -> (u16, String) {
    let r = reqwest::get(format!("{}{path}", svc.base)).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_broker_is_logged_and_readiness_names_the_error() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 1.
    let env = vec![(
        "OFFBOARD_AMQP_URL".to_string(),
        "amqp://guest:guest@127.0.0.1:1/%2f".to_string(),
    )];
    let mut svc = Service::start(dir.path(), &env);
    let deadline = Instant::now() + WAIT;
    let detail = loop {
        let (_, body) = svc.get("/readyz").await;
        let broker = &body["checks"]["broker"];
        let detail = broker["detail"].as_str().unwrap_or_default().to_string();
        // A few failed attempts (backoff 0.2, 0.4, 0.8 s ...).
        if detail.contains("3 failed attempt") {
            assert_eq!(broker["ok"], false);
            break detail;
        }
        assert!(
            Instant::now() < deadline,
            "readiness: {body}\n{}",
            svc.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        detail.contains("127.0.0.1:1") && detail.contains("refused"),
        "{detail}"
    );
    let lines: Vec<String> = svc
        .log_text()
        .lines()
        .filter(|l| l.contains("AMQP ingress") && l.contains("cannot consume"))
        .map(String::from)
        .collect();
    assert_eq!(lines.len(), 1, "not one line per failure: {lines:?}");
    assert!(lines[0].contains("refused"), "{}", lines[0]);
    svc.terminate();
    assert!(svc.wait_exit(WAIT).success(), "{}", svc.log_text());
    assert!(!svc.log_text().contains("panicked"), "{}", svc.log_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_never_answers_times_out_and_readiness_says_so() {
    // A socket that is never accepted: the TCP connect succeeds (the kernel's backlog) and
    // the AMQP handshake never gets an answer.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = vec![(
        "OFFBOARD_AMQP_URL".to_string(),
        format!("amqp://guest:guest@{addr}/%2f"),
    )];
    let mut svc = Service::start(dir.path(), &env);
    let deadline = Instant::now() + WAIT;
    let detail = loop {
        let (_, body) = svc.get("/readyz").await;
        let detail = body["checks"]["broker"]["detail"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if detail.contains("failed attempt") {
            break detail;
        }
        assert!(
            Instant::now() < deadline,
            "readiness: {body}\n{}",
            svc.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        detail.contains(&addr.to_string()) && detail.contains("timed out"),
        "{detail}"
    );
    assert!(
        svc.log_text().contains("cannot consume"),
        "{}",
        svc.log_text()
    );
    svc.terminate();
    assert!(svc.wait_exit(WAIT).success(), "{}", svc.log_text());
    assert!(!svc.log_text().contains("panicked"), "{}", svc.log_text());
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_stops_on_sigterm_with_exit_0_and_no_panic_whether_the_broker_is_up_or_not() {
    // Up: the ingress consumes and the outcome publisher has its connection open.
    let prefix = unique_prefix("stop");
    let broker = Broker::connect(&prefix).await;
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        ("OFFBOARD_AMQP_URL".to_string(), amqp_url()),
        ("OFFBOARD_AMQP_PREFIX".to_string(), prefix.clone()),
    ];
    let mut svc = Service::start(dir.path(), &env);
    svc.wait_ready(true, WAIT).await;
    broker
        .publish(&event(
            "stop-1",
            "hr.leaver",
            "stop.one@contoso.com",
            json!({"lastWorkingDay": "2030-01-01"}),
        ))
        .await;
    let mut got = Vec::new();
    broker
        .outcomes_until(&mut got, WAIT, |got| {
            got.iter().any(|o| o.body["type"] == "run.started")
        })
        .await;
    svc.terminate();
    let status = svc.wait_exit(WAIT);
    let log = svc.log_text();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(!log.contains("panicked"), "{log}");
    assert!(log.contains("Stopped."), "{log}");
    broker.cleanup().await;

    // Down: stopped while the ingress keeps failing to connect.
    let dir = tempfile::tempdir().unwrap();
    let env = vec![(
        "OFFBOARD_AMQP_URL".to_string(),
        "amqp://guest:guest@127.0.0.1:1/%2f".to_string(),
    )];
    let mut svc = Service::start(dir.path(), &env);
    tokio::time::sleep(Duration::from_secs(2)).await;
    svc.terminate();
    let status = svc.wait_exit(WAIT);
    let log = svc.log_text();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(!log.contains("panicked"), "{log}");
    assert!(log.contains("Stopped."), "{log}");
}

#[test]
fn an_amqps_url_is_refused_at_start_rather_than_used_in_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let root = serve_common::ROOT;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_offboard"))
        .current_dir(root)
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("OFFBOARD_DATA_DIR", dir.path())
        .env("OFFBOARD_WORKFLOWS_DIR", format!("{root}/workflows"))
        .env(
            "OFFBOARD_SIM_SCENARIO",
            format!("{root}/examples/tenant.json"),
        )
        .env("OFFBOARD_HTTP_ADDR", "127.0.0.1:0")
        .env(
            "OFFBOARD_AMQP_URL",
            "amqps://svc:hunter2@127.0.0.1:5671/%2f",
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A service that started anyway is stopped after a while (and the test fails).
    let deadline = Instant::now() + WAIT;
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("OFFBOARD_AMQP_URL") && stderr.contains("amqps://"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(!stderr.contains("admin API listening"), "{stderr}");
}
