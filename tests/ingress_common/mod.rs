//! Helpers of the ingress tests that need more than `tests/ingress.rs`'s own rig: the ingress in
//! process with its readiness visible, the broker's view of a queue (passive declare), the
//! dead-letter queue read message by message, and a proxy in front of the broker that drops
//! the broker's `basic.cancel` frames, so a consumer can vanish without the client hearing of
//! it. Names are unique per test (a prefix); `Rig::stop` deletes them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use crate::common::{TestEnv, example_tenant, repo_workflows};
use lapin::message::Delivery;
use lapin::options::{
    BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use offboard::health::Health;
use offboard::ingress::{self, IngressConfig, PoisonCounters, Topology};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub fn amqp_url() -> String {
    std::env::var("OFFBOARD_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// `host:port` of the test broker.
pub fn broker_addr() -> String {
    let url = amqp_url();
    let rest = url.split("://").nth(1).unwrap();
    let authority = rest.rsplit_once('@').map_or(rest, |(_, a)| a);
    authority.split('/').next().unwrap().to_string()
}

pub fn leaver(id: &str, subject: &str) -> Value {
    json!({"specversion": "1.0", "id": id, "source": "tests", "type": "hr.leaver",
        "subject": subject, "time": "2026-11-01T09:00:00Z",
        "data": {"lastWorkingDay": "2030-01-01"}})
}

/// A header's text (long or short string), if present.
pub fn header_text(d: &Delivery, name: &str) -> Option<String> {
    match d.properties.headers().as_ref()?.inner().get(name)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_string()),
        other => Some(format!("{other:?}")),
    }
}

/// A publisher on its own connection plus the ingress under test, whose readiness is `health`.
pub struct Rig {
    pub env: TestEnv,
    pub config: IngressConfig,
    pub conn: Connection,
    pub ch: Channel,
    pub counters: Arc<PoisonCounters>,
    pub health: Health,
    stop: watch::Sender<bool>,
    ingress: Option<JoinHandle<()>>,
}

impl Rig {
    /// Declares a unique topology for `test`; `tweak` may change the config (the URL the
    /// ingress uses, say) before the ingress starts.
    pub async fn start(test: &str, tweak: impl FnOnce(&mut IngressConfig)) -> Rig {
        let env = TestEnv::start(repo_workflows(), example_tenant()).await;
        let mut config = IngressConfig::new(amqp_url());
        let nonce = uuid::Uuid::now_v7().simple().to_string();
        config.topology = Topology::prefixed(&format!("test.{test}.{nonce}."));
        config.connection_name = format!("{}ingress", config.topology.events_queue);
        tweak(&mut config);
        let conn = Connection::connect(&amqp_url(), ConnectionProperties::default())
            .await
            .expect("RabbitMQ must listen at OFFBOARD_TEST_AMQP_URL");
        let ch = conn.create_channel().await.unwrap();
        ch.confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        config.topology.declare(&ch).await.unwrap();
        let (stop, _) = watch::channel(false);
        let mut rig = Rig {
            env,
            config,
            conn,
            ch,
            counters: Arc::new(PoisonCounters::default()),
            health: Health::new(),
            stop,
            ingress: None,
        };
        rig.start_ingress();
        rig
    }

    fn start_ingress(&mut self) {
        let engine = self.env.engine.clone();
        let config = self.config.clone();
        let counters = self.counters.clone();
        let health = self.health.clone();
        let mut rx = self.stop.subscribe();
        self.ingress = Some(tokio::spawn(async move {
            ingress::run(&engine, &config, &counters, &health, async move {
                let _ = rx.wait_for(|s| *s).await;
            })
            .await
            .unwrap();
        }));
    }

    pub async fn publish(&self, body: &[u8], props: BasicProperties) {
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

    pub async fn publish_event(&self, event: &Value) {
        let body = serde_json::to_vec(event).unwrap();
        self.publish(&body, BasicProperties::default()).await;
    }

    /// Waits until the store knows the event id; panics after `within`.
    pub async fn wait_event(&self, id: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while self.env.engine.store().event(id).unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "event {id} was not admitted; readiness: {:?}",
                self.health.snapshot()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn run_count(&self) -> usize {
        self.env.engine.store().runs().count()
    }

    /// The broker's (messages ready, consumers) of `queue`.
    pub async fn queue_state(&self, queue: &str) -> (u32, u32) {
        let q = self
            .ch
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        (q.message_count(), q.consumer_count())
    }

    /// Consumers of the events queue as the broker counts them.
    pub async fn consumers(&self) -> u32 {
        self.queue_state(&self.config.topology.events_queue).await.1
    }

    /// Waits for the next dead letter and takes it (acked); panics after `within`.
    pub async fn next_dead_letter(&self, within: Duration) -> Delivery {
        let deadline = Instant::now() + within;
        loop {
            let got = self
                .ch
                .basic_get(
                    self.config.topology.dead_queue.as_str().into(),
                    BasicGetOptions { no_ack: true },
                )
                .await
                .unwrap();
            if let Some(msg) = got {
                return msg.delivery;
            }
            assert!(
                Instant::now() < deadline,
                "no dead letter arrived; readiness: {:?}",
                self.health.snapshot()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Whether the broker component is ready, and its detail.
    pub fn broker_state(&self) -> (bool, String) {
        self.health
            .snapshot()
            .get("broker")
            .map(|c| (c.ok, c.detail.clone()))
            .unwrap_or((false, "no broker component".into()))
    }

    /// Polls readiness until `ready` matches; returns the detail. Panics after `within`.
    pub async fn wait_broker(&self, ready: bool, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let (ok, detail) = self.broker_state();
            if ok == ready {
                return detail;
            }
            assert!(
                Instant::now() < deadline,
                "readiness never became {ready}: {detail}"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(h) = self.ingress.take() {
            h.await.unwrap();
        }
        self.config.topology.delete(&self.ch).await.unwrap();
        let _ = self.conn.close(200, "test done".into()).await;
    }
}

/// A TCP proxy to the broker that forwards everything but the broker's `basic.cancel`
/// frames: a consumer the broker drops is then gone without the client knowing.
pub struct CancelEater {
    pub port: u16,
    eaten: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl CancelEater {
    pub async fn start() -> CancelEater {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = broker_addr();
        let eaten = Arc::new(AtomicUsize::new(0));
        let counter = eaten.clone();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((inbound, _)) = listener.accept().await {
                let target = target.clone();
                let eaten = counter.clone();
                conns.spawn(async move {
                    let Ok(outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    let (mut client_rx, mut client_tx) = inbound.into_split();
                    let (mut broker_rx, broker_tx) = outbound.into_split();
                    let mut broker_tx = broker_tx;
                    let up = async { tokio::io::copy(&mut client_rx, &mut broker_tx).await };
                    let down = async {
                        while let Some(frame) = read_frame(&mut broker_rx).await {
                            // Method frame (type 1) of class basic (60), method cancel (30).
                            let cancel = frame[0] == 1 && frame.get(7..11) == Some(&[0, 60, 0, 30]);
                            if cancel {
                                eaten.fetch_add(1, Ordering::SeqCst);
                            } else if client_tx.write_all(&frame).await.is_err() {
                                break;
                            }
                        }
                    };
                    tokio::select! {
                        _ = up => {}
                        () = down => {}
                    }
                });
            }
        });
        CancelEater { port, eaten, task }
    }

    /// `basic.cancel` frames dropped so far.
    pub fn eaten(&self) -> usize {
        self.eaten.load(Ordering::SeqCst)
    }

    /// The broker URL through this proxy.
    pub fn url(&self) -> String {
        let url = amqp_url();
        url.replacen(&broker_addr(), &format!("127.0.0.1:{}", self.port), 1)
    }
}

impl Drop for CancelEater {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One AMQP frame as it came: type, channel, size, payload, frame end.
async fn read_frame(r: &mut (impl AsyncReadExt + Unpin)) -> Option<Vec<u8>> {
    let mut head = [0u8; 7];
    r.read_exact(&mut head).await.ok()?;
    let size = u32::from_be_bytes([head[3], head[4], head[5], head[6]]) as usize;
    let mut frame = head.to_vec();
    frame.resize(7 + size + 1, 0);
    r.read_exact(&mut frame[7..]).await.ok()?;
    Some(frame)
}
