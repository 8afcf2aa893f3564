//! The AMQP ingress against the real broker (`OFFBOARD_TEST_AMQP_URL`, default
//! `amqp://guest:guest@127.0.0.1:5672/%2f`): exactly one run per event, duplicates make no
//! run, binary mode, and every kind of poison message dead-lettered with its reason. Each
//! test declares its own uniquely named topology and deletes it afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestEnv, example_tenant, repo_workflows};
use lapin::options::{
    BasicGetOptions, BasicNackOptions, BasicPublishOptions, ConfirmSelectOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use offboard::health::Health;
use offboard::ingress::{self, IngressConfig, PoisonCounters, REASON_HEADER, Topology};
use offboard::signature::{EventKey, SIGNATURE_HEADER};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

fn amqp_url() -> String {
    std::env::var("OFFBOARD_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

fn unique_topology(test: &str) -> Topology {
    let nonce = uuid::Uuid::now_v7().simple().to_string();
    Topology::prefixed(&format!("test.{test}.{nonce}."))
}

fn leaver(id: &str, subject: &str) -> Value {
    json!({"specversion": "1.0", "id": id, "source": "tests", "type": "hr.leaver",
        "subject": subject, "time": "2026-11-01T09:00:00Z",
        "data": {"lastWorkingDay": "2030-01-01"}})
}

/// A publisher on its own connection plus the ingress under test.
struct Rig {
    env: TestEnv,
    config: IngressConfig,
    conn: Connection,
    ch: Channel,
    counters: Arc<PoisonCounters>,
    stop: watch::Sender<bool>,
    ingress: Option<JoinHandle<()>>,
}

impl Rig {
    async fn start(test: &str, tweak: impl FnOnce(&mut IngressConfig)) -> Rig {
        let env = TestEnv::start(repo_workflows(), example_tenant()).await;
        let mut config = IngressConfig::new(amqp_url());
        config.topology = unique_topology(test);
        config.connection_name = format!("{}ingress", config.topology.events_queue);
        tweak(&mut config);
        let conn = Connection::connect(&config.url, ConnectionProperties::default())
            .await
            .expect("RabbitMQ must listen at OFFBOARD_TEST_AMQP_URL");
        let ch = conn.create_channel().await.unwrap();
        ch.confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        config.topology.declare(&ch).await.unwrap();
        let (stop, _) = watch::channel(false);
        Rig {
            env,
            config,
            conn,
            ch,
            counters: Arc::new(PoisonCounters::default()),
            stop,
            ingress: None,
        }
    }

    fn start_ingress(&mut self) {
        let engine = self.env.engine.clone();
        let config = self.config.clone();
        let counters = self.counters.clone();
        let mut rx = self.stop.subscribe();
        self.ingress = Some(tokio::spawn(async move {
            ingress::run(&engine, &config, &counters, &Health::new(), async move {
                let _ = rx.wait_for(|s| *s).await;
            })
            .await
            .unwrap();
        }));
    }

    async fn publish(&self, body: &[u8], props: BasicProperties) {
        let confirm = self
            .ch
            .basic_publish(
                self.config.topology.events_exchange.as_str().into(),
                "hr.leaver".into(),
                BasicPublishOptions::default(),
                body,
                props.with_delivery_mode(2),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        assert!(confirm.is_ack(), "the broker refused a test message");
    }

    async fn publish_event(&self, event: &Value) {
        self.publish(
            &serde_json::to_vec(event).unwrap(),
            BasicProperties::default(),
        )
        .await;
    }

    /// Waits until the store knows every event id.
    async fn wait_events(&self, ids: &[String]) {
        for _ in 0..2000 {
            let store = self.env.engine.store();
            if ids.iter().all(|id| store.event(id).unwrap().is_some()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("not every event was admitted");
    }

    fn run_count(&self) -> usize {
        self.env.engine.store().runs().count()
    }

    /// Takes `n` messages from the dead-letter queue: reason header → body.
    async fn dead_letters(&self, n: usize) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        for _ in 0..1000 {
            let got = self
                .ch
                .basic_get(
                    self.config.topology.dead_queue.as_str().into(),
                    BasicGetOptions { no_ack: true },
                )
                .await
                .unwrap();
            match got {
                Some(msg) => {
                    let headers = msg
                        .delivery
                        .properties
                        .headers()
                        .clone()
                        .unwrap_or_default();
                    let reason = match headers.inner().get(REASON_HEADER) {
                        Some(AMQPValue::LongString(s)) => {
                            String::from_utf8_lossy(s.as_bytes()).into_owned()
                        }
                        other => panic!("dead letter without a reason header: {other:?}"),
                    };
                    out.insert(reason, msg.delivery.data.clone());
                    if out.len() == n {
                        return out;
                    }
                }
                None => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
        panic!(
            "only {} of {n} dead letters arrived: {:?}",
            out.len(),
            out.keys()
        );
    }

    /// Messages ready in the events queue (not delivered, or requeued).
    async fn queue_depth(&self) -> u32 {
        self.ch
            .queue_declare(
                self.config.topology.events_queue.as_str().into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap()
            .message_count()
    }

    /// Waits until every published message was delivered, stops the ingress (which settles
    /// the messages in hand) and checks that none went back to the queue.
    async fn settle(&mut self) {
        for _ in 0..2000 {
            if self.queue_depth().await == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = self.stop.send(true);
        if let Some(h) = self.ingress.take() {
            h.await.unwrap();
        }
        assert_eq!(self.queue_depth().await, 0, "messages were left unsettled");
    }

    async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(h) = self.ingress.take() {
            h.await.unwrap();
        }
        self.config.topology.delete(&self.ch).await.unwrap();
        let _ = self.conn.close(200, "test done".into()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_makes_exactly_one_run_and_republishing_makes_none() {
    let mut rig = Rig::start("exactly_once", |_| {}).await;
    rig.start_ingress();
    let ids: Vec<String> = (0..50).map(|i| format!("evt-{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        rig.publish_event(&leaver(id, &format!("user{i}@contoso.com")))
            .await;
    }
    rig.wait_events(&ids).await;
    assert_eq!(rig.run_count(), 50);

    for (i, id) in ids.iter().enumerate() {
        rig.publish_event(&leaver(id, &format!("user{i}@contoso.com")))
            .await;
    }
    // Messages are processed side by side: once all were delivered, stopping the ingress
    // settles the ones in hand; an unsettled one would be back in the queue.
    rig.settle().await;
    assert_eq!(rig.run_count(), 50, "a repeated event id made a second run");
    assert_eq!(rig.counters.total(), 0);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_mode_event_becomes_a_run() {
    let mut rig = Rig::start("binary", |_| {}).await;
    rig.start_ingress();
    let mut h = FieldTable::default();
    for (k, v) in [
        ("specversion", "1.0"),
        ("id", "bin-1"),
        ("type", "hr.leaver"),
        ("source", "tests"),
        ("subject", "binary@contoso.com"),
        ("time", "2026-11-01T09:00:00Z"),
    ] {
        h.insert(
            format!("cloudEvents:{k}").into(),
            AMQPValue::LongString(LongString::from(v)),
        );
    }
    let data = br#"{"lastWorkingDay":"2030-01-01"}"#;
    rig.publish(data, BasicProperties::default().with_headers(h))
        .await;
    rig.wait_events(&["bin-1".to_string()]).await;
    let rec = rig.env.engine.store().event("bin-1").unwrap().unwrap();
    assert_eq!(rec.runs.len(), 1);
    let run = rig.env.engine.run_record(&rec.runs[0]).unwrap();
    assert_eq!(run.event.subject, "binary@contoso.com");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_of_poison_is_dead_lettered_with_its_reason() {
    let mut rig = Rig::start("poison", |c| c.max_body = 4096).await;
    rig.start_ingress();
    let mut missing = leaver("p-missing", "a@contoso.com");
    missing.as_object_mut().unwrap().remove("subject");
    let mut unknown = leaver("p-unknown", "a@contoso.com");
    unknown["type"] = json!("hr.fired");
    let mut big = leaver("p-big", "a@contoso.com");
    big["data"]["note"] = json!("x".repeat(8192));
    rig.publish(b"{this is not json", BasicProperties::default())
        .await;
    rig.publish_event(&missing).await;
    rig.publish_event(&unknown).await;
    rig.publish_event(&big).await;
    // A good event behind the poison still goes through: nothing blocks the queue.
    rig.publish_event(&leaver("good", "good@contoso.com")).await;

    let dead = rig.dead_letters(4).await;
    assert_eq!(
        dead.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "invalid-json",
            "missing-attribute",
            "oversized",
            "unknown-type"
        ]
    );
    assert_eq!(
        dead["invalid-json"], b"{this is not json",
        "the body is kept"
    );
    rig.wait_events(&["good".to_string()]).await;
    assert_eq!(rig.run_count(), 1);
    assert_eq!(rig.counters.total(), 4);
    rig.stop().await;
}

/// `x-offboard-signature` as an AMQP header.
fn signed_props(signature: &str) -> BasicProperties {
    let mut h = FieldTable::default();
    h.insert(
        SIGNATURE_HEADER.into(),
        AMQPValue::LongString(LongString::from(signature)),
    );
    BasicProperties::default().with_headers(h)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_key_only_correctly_signed_events_become_runs() {
    let key = EventKey::new("test-signing-key").unwrap();
    let k = key.clone();
    let mut rig = Rig::start("signed", move |c| c.event_key = Some(k)).await;
    rig.start_ingress();
    let body = |id: &str, who: &str| serde_json::to_vec(&leaver(id, who)).unwrap();

    rig.publish_event(&leaver("s-unsigned", "a@contoso.com"))
        .await;
    let forged = EventKey::new("not-the-key").unwrap();
    let b = body("s-forged", "b@contoso.com");
    rig.publish(&b, signed_props(&forged.sign(&b))).await;
    // A correctly signed body under someone else's attributes (binary mode): the signature
    // covers the attributes, so the subject cannot be swapped.
    let mut h = FieldTable::default();
    for (k, v) in [
        ("specversion", "1.0"),
        ("id", "s-swapped"),
        ("type", "hr.leaver"),
        ("source", "tests"),
        ("subject", "victim@contoso.com"),
        ("time", "2026-11-01T09:00:00Z"),
    ] {
        h.insert(
            format!("cloudEvents:{k}").into(),
            AMQPValue::LongString(LongString::from(v)),
        );
    }
    h.insert(
        SIGNATURE_HEADER.into(),
        AMQPValue::LongString(LongString::from(key.sign(b"{}"))),
    );
    rig.publish(b"{}", BasicProperties::default().with_headers(h.clone()))
        .await;
    // Correctly signed, structured and binary.
    let good = body("s-good", "c@contoso.com");
    rig.publish(&good, signed_props(&key.sign(&good))).await;
    let mut signed = String::new();
    let mut attrs: Vec<(String, String)> = h
        .inner()
        .iter()
        .filter(|(k, _)| k.as_str().starts_with("cloudEvents:"))
        .map(|(k, v)| match v {
            AMQPValue::LongString(s) => {
                (k.to_string(), String::from_utf8_lossy(s.as_bytes()).into())
            }
            _ => unreachable!(),
        })
        .collect();
    for (k, v) in attrs.iter_mut() {
        if k == "cloudEvents:id" {
            *v = "s-binary".into();
        }
    }
    attrs.sort();
    for (k, v) in &attrs {
        signed.push_str(&format!("{k}={v}\n"));
    }
    signed.push('\n');
    signed.push_str("{}");
    let mut hb = FieldTable::default();
    for (k, v) in &attrs {
        hb.insert(
            k.as_str().into(),
            AMQPValue::LongString(LongString::from(v.as_str())),
        );
    }
    hb.insert(
        SIGNATURE_HEADER.into(),
        AMQPValue::LongString(LongString::from(key.sign(signed.as_bytes()))),
    );
    rig.publish(b"{}", BasicProperties::default().with_headers(hb))
        .await;

    let dead = rig.dead_letters(2).await;
    assert_eq!(
        dead.keys().map(String::as_str).collect::<Vec<_>>(),
        ["bad-signature", "unsigned"]
    );
    rig.wait_events(&["s-good".to_string(), "s-binary".to_string()])
        .await;
    rig.settle().await;
    let store = rig.env.engine.store();
    for refused in ["s-unsigned", "s-forged", "s-swapped"] {
        assert!(
            store.event(refused).unwrap().is_none(),
            "{refused} was admitted"
        );
    }
    assert_eq!(rig.run_count(), 2);
    assert_eq!(rig.counters.total(), 3);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_processing_keeps_failing_is_dead_lettered_after_the_limit() {
    let mut rig = Rig::start("attempts", |c| c.max_attempts = 2).await;
    // Two earlier attempts that crashed the process, as the store remembers them.
    let store = rig.env.engine.store();
    store.count_attempt("m:msg-again", true).await.unwrap();
    store.count_attempt("m:msg-again", true).await.unwrap();
    let body = serde_json::to_vec(&leaver("again", "again@contoso.com")).unwrap();
    rig.publish(
        &body,
        BasicProperties::default().with_message_id("msg-again".into()),
    )
    .await;
    rig.publish_event(&leaver("fresh", "fresh@contoso.com"))
        .await;
    rig.start_ingress();
    let dead = rig.dead_letters(1).await;
    assert!(dead.contains_key("too-many-attempts"), "{:?}", dead.keys());
    rig.wait_events(&["fresh".to_string()]).await;
    assert!(rig.env.engine.store().event("again").unwrap().is_none());
    assert_eq!(rig.run_count(), 1);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_only_redelivered_is_not_counted_as_a_failed_attempt() {
    let mut rig = Rig::start("redelivered", |c| c.max_attempts = 1).await;
    rig.publish_event(&leaver("once", "once@contoso.com")).await;
    // A consumer takes it and gives it back unprocessed (as a dropped connection would).
    let queue = rig.config.topology.events_queue.clone();
    let first = loop {
        if let Some(m) = rig
            .ch
            .basic_get(queue.as_str().into(), BasicGetOptions::default())
            .await
            .unwrap()
        {
            break m;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    first
        .delivery
        .acker
        .nack(BasicNackOptions {
            requeue: true,
            ..BasicNackOptions::default()
        })
        .await
        .unwrap();
    rig.start_ingress();
    rig.wait_events(&["once".to_string()]).await;
    assert_eq!(rig.run_count(), 1);
    assert_eq!(rig.counters.total(), 0);
    rig.stop().await;
}

/// The broker's pid for the connection named `connection_name` (unique per test), if any.
fn connection_pid(connection_name: &str) -> Option<String> {
    let out = std::process::Command::new("rabbitmqctl")
        .args([
            "list_connections",
            "-q",
            "--no-table-headers",
            "pid",
            "client_properties",
        ])
        .output()
        .expect("rabbitmqctl must be installed for this test");
    // One line per connection: the pid, a tab, the client properties (which hold the name).
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|line| {
            let (pid, props) = line.split_once('\t')?;
            props.contains(connection_name).then(|| pid.to_string())
        })
}

/// Closes a connection from the broker side (`rabbitmqctl close_connection`).
fn close_from_broker(pid: &str) -> bool {
    std::process::Command::new("rabbitmqctl")
        .args([
            "close_connection",
            pid,
            "test: broker closes the connection",
        ])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap()
        .success()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_closing_the_connection_mid_stream_loses_and_duplicates_nothing() {
    let mut rig = Rig::start("broker_close", |c| c.prefetch = 50).await;
    let ids: Vec<String> = (0..4500).map(|i| format!("close-{i}")).collect();
    rig.start_ingress();
    let mut closes = 0;
    let mut mid_stream = 0;
    // Three rounds: find the ingress connection, publish a batch, and as soon as the ingress
    // works through it the broker closes the connection under it.
    for batch in ids.chunks(1500) {
        let name = rig.config.connection_name.clone();
        let mut pid = None;
        for _ in 0..100 {
            let n = name.clone();
            pid = tokio::task::spawn_blocking(move || connection_pid(&n))
                .await
                .unwrap();
            if pid.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let pid = pid.expect("the ingress connection never showed up");
        // The ingress keeps up with a publisher, so the batch is published at a steady pace
        // (about 3 s) while `rabbitmqctl` (about 1.5 s to act) closes the connection.
        let publish = async {
            for chunk in batch.chunks(10) {
                for id in chunk {
                    rig.publish_event(&leaver(id, &format!("{id}@contoso.com")))
                        .await;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        let close = async {
            while rig.env.engine.store().event(&batch[0]).unwrap().is_none() {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let closed = tokio::task::spawn_blocking(move || close_from_broker(&pid))
                .await
                .unwrap();
            let store = rig.env.engine.store();
            let pending = batch.iter().any(|id| store.event(id).unwrap().is_none());
            (closed, pending)
        };
        let ((), (closed, pending)) = tokio::join!(publish, close);
        closes += usize::from(closed);
        mid_stream += usize::from(pending);
    }
    rig.wait_events(&ids).await;
    assert_eq!(closes, 3, "the test could not close the ingress connection");
    assert!(mid_stream > 0, "every close came after the batch was done");
    assert_eq!(rig.run_count(), ids.len(), "an event made a second run");
    for id in &ids {
        assert_eq!(
            rig.env
                .engine
                .store()
                .event(id)
                .unwrap()
                .unwrap()
                .runs
                .len(),
            1
        );
    }
    assert_eq!(rig.counters.total(), 0);
    rig.stop().await;
}

#[tokio::test]
async fn attempt_counts_survive_a_restart_and_are_forgotten_once_settled() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = offboard::store::Store::open(dir.path()).unwrap();
        assert_eq!(store.count_attempt("m:1", true).await.unwrap(), 1);
        assert_eq!(store.count_attempt("m:1", true).await.unwrap(), 2);
        assert_eq!(store.count_attempt("m:2", true).await.unwrap(), 1);
    }
    let store = offboard::store::Store::open(dir.path()).unwrap();
    assert_eq!(store.count_attempt("m:1", true).await.unwrap(), 3);
    store.forget_delivery("m:1").unwrap();
    assert_eq!(store.count_attempt("m:1", true).await.unwrap(), 1);
}
