//! Ingress benchmark (not a test): events per second from publish to durable run with acks,
//! next to the broker's own consume-and-ack rate measured in the same run with a bare
//! consumer on an identical queue (quorum, same prefetch).
//!
//! 1. publish N events (persistent, confirmed) to a fresh topology;
//! 2. bare: a plain lapin consumer acks each message as it arrives;
//! 3. offboard: the ingress decodes each event, the engine admits it (run + dedup record
//!    durable through the group-committed store), then the message is acked; the engine runs,
//!    so each run also takes its first step (a 30-day wait: one more durable transition).
//!
//! Run: `cargo bench --bench ingress` (`BENCH_EVENTS`, default 20000; `BENCH_PREFETCH`,
//! default 256; `BENCH_EXECUTOR=0` admits only; `BENCH_QUARANTINE=1` counts every leaver in
//! the mass-offboarding quarantine's window as `offboard serve` does, with a limit it never
//! reaches; broker from `OFFBOARD_TEST_AMQP_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_lite::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use offboard::clock::SimClock;
use offboard::engine::{Engine, EngineConfig, Registry};
use offboard::health::Health;
use offboard::ingress::{self, IngressConfig, PoisonCounters, Topology};
use offboard::steps::StepEnv;
use offboard::store::Store;
use offboard::tenant::sim::{Scenario, SimTenant};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WAITING_WF: &str = r#"
name = "bench-leaver"
version = 1
[[triggers]]
type = "hr.leaver"
[[steps]]
id = "cool-off"
wait = "30days"
[[steps]]
id = "disable"
action = "user.disable"
"#;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn body(i: usize) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "specversion": "1.0", "id": format!("bench-{i}"), "source": "bench",
        "type": "hr.leaver", "subject": format!("user{i}@contoso.com"),
        "time": "2026-11-01T09:00:00Z", "data": {"lastWorkingDay": "2030-01-01"}}))
    .unwrap()
}

/// Publishes `n` events with confirms (awaited in windows of 1,000); returns events/s.
async fn publish(ch: &Channel, topology: &Topology, n: usize) -> f64 {
    let start = Instant::now();
    let mut pending = Vec::with_capacity(1000);
    for i in 0..n {
        let confirm = ch
            .basic_publish(
                topology.events_exchange.as_str().into(),
                "hr.leaver".into(),
                BasicPublishOptions::default(),
                &body(i),
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .unwrap();
        pending.push(confirm);
        if pending.len() == 1000 {
            for c in pending.drain(..) {
                assert!(c.await.unwrap().is_ack());
            }
        }
    }
    for c in pending.drain(..) {
        assert!(c.await.unwrap().is_ack());
    }
    n as f64 / start.elapsed().as_secs_f64()
}

async fn bare_consume(conn: &Connection, queue: &str, n: usize, prefetch: u16) -> f64 {
    let ch = conn.create_channel().await.unwrap();
    ch.basic_qos(prefetch, BasicQosOptions::default())
        .await
        .unwrap();
    let mut consumer = ch
        .basic_consume(
            queue.into(),
            "bench-bare".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let start = Instant::now();
    for _ in 0..n {
        let d = consumer.next().await.unwrap().unwrap();
        d.acker.ack(BasicAckOptions::default()).await.unwrap();
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    let _ = ch.close(200, "bench done".into()).await;
    rate
}

async fn offboard_consume(url: &str, topology: &Topology, n: usize, prefetch: u16) -> (f64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let wf = offboard::workflow::parse(std::path::Path::new("bench.toml"), WAITING_WF).unwrap();
    let clock = SimClock::new();
    let sim = SimTenant::from_scenario(Scenario::default(), clock.clone()).unwrap();
    let mut config = EngineConfig::new(StepEnv::new(dir.path().join("backups")));
    if std::env::var("BENCH_QUARANTINE").is_ok_and(|v| v == "1") {
        config.quarantine = offboard::engine::QuarantinePolicy {
            threshold: u64::MAX,
            percent: 0.0,
            window: std::time::Duration::from_secs(24 * 3600),
        };
    }
    let engine = Engine::new(
        store.clone(),
        Registry::new(vec![wf]),
        Arc::new(sim),
        Arc::new(clock),
        config,
    );
    let (stop, rx) = tokio::sync::watch::channel(false);
    let executor = std::env::var("BENCH_EXECUTOR").map_or(true, |v| v != "0");
    let runner = executor.then(|| {
        let engine = engine.clone();
        let mut rx = rx.clone();
        tokio::spawn(async move {
            engine
                .run(async move {
                    let _ = rx.wait_for(|s| *s).await;
                })
                .await
        })
    });
    let mut config = IngressConfig::new(url);
    config.topology = topology.clone();
    config.prefetch = prefetch;
    let counters = Arc::new(PoisonCounters::default());
    let start = Instant::now();
    let ingress = {
        let engine = engine.clone();
        let mut rx = rx.clone();
        tokio::spawn(async move {
            ingress::run(&engine, &config, &counters, &Health::new(), async move {
                let _ = rx.wait_for(|s| *s).await;
            })
            .await
        })
    };
    // Admission is concurrent, so the last id is not necessarily the last admitted one:
    // wait for it, then for every other.
    let mut next_check = 0;
    while next_check < n {
        if store
            .event(&format!("bench-{next_check}"))
            .unwrap()
            .is_some()
        {
            next_check += 1;
        } else {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    let (flushes, writers, micros) = store.flush_stats();
    println!(
        "  store: {flushes} flushes for {writers} waiting writers ({:.1} per flush, {:.2} ms per flush)",
        writers as f64 / flushes.max(1) as f64,
        micros as f64 / 1000.0 / flushes.max(1) as f64
    );
    let _ = stop.send(true);
    ingress.await.unwrap().unwrap();
    if let Some(r) = runner {
        r.await.unwrap().unwrap();
    }
    (rate, engine.transitions())
}

fn main() {
    let n = env_usize("BENCH_EVENTS", 20_000);
    let prefetch = env_usize("BENCH_PREFETCH", 256) as u16;
    let url = std::env::var("OFFBOARD_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let conn = Connection::connect(&url, ConnectionProperties::default())
            .await
            .expect("RabbitMQ must listen at OFFBOARD_TEST_AMQP_URL");
        let ch = conn.create_channel().await.unwrap();
        ch.confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        let nonce = uuid::Uuid::now_v7().simple().to_string();
        let bare = Topology::prefixed(&format!("bench.bare.{nonce}."));
        let ours = Topology::prefixed(&format!("bench.offboard.{nonce}."));
        bare.declare(&ch).await.unwrap();
        ours.declare(&ch).await.unwrap();

        println!("ingress benchmark: {n} events, prefetch {prefetch}, quorum queues, 2 worker threads");
        let pub_bare = publish(&ch, &bare, n).await;
        let bare_rate = bare_consume(&conn, &bare.events_queue, n, prefetch).await;
        let pub_ours = publish(&ch, &ours, n).await;
        let (ours_rate, transitions) = offboard_consume(&url, &ours, n, prefetch).await;
        println!("  publish with confirms:         {pub_bare:>9.0} events/s (bare queue), {pub_ours:.0} events/s (offboard queue)");
        println!("  bare consumer, consume + ack:  {bare_rate:>9.0} events/s");
        println!("  offboard, publish → durable run + ack: {ours_rate:>9.0} events/s ({transitions} step transitions meanwhile)");
        println!("  ratio offboard / bare:         {:>9.2}", ours_rate / bare_rate);
        bare.delete(&ch).await.unwrap();
        ours.delete(&ch).await.unwrap();
        let _ = conn.close(200, "bench done".into()).await;
    });
}
