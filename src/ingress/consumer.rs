//! One consuming session on one channel: verify + decode → admission (`admission.rs`) → ack
//! once the run or dedup record is durable. Store trouble → nack with requeue; input the engine
//! refuses or a message that keeps failing → dead-letter, then ack; a message that cannot be
//! dead-lettered within the attempt limit → reject without requeue. The session ends when its
//! consumer, channel or connection fails, or when the broker shows no consumer (`probe.rs`).

use super::admission::{Item, Job, Pipeline};
use super::decode::{BINARY_PREFIX, Rejection, decode};
use super::merged::Merged;
use super::poison::{PoisonCounters, dead_letter, reject_undeliverable};
use super::probe::{CHECK_EVERY, Probe};
use super::shard_key::check_shard_key;
use super::signed;
use super::topology::Topology;
use crate::engine::Engine;
use crate::event::CloudEvent;
use crate::metrics::Metrics;
use crate::signature::EventKey;
use futures_lite::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions};
use lapin::types::AMQPValue;
use lapin::{Channel, ConnectionStatus};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tracing::warn;

/// What the ingress needs besides the engine.
#[derive(Debug, Clone)]
pub struct IngressConfig {
    /// `amqp://user:pass@host:port/vhost`.
    pub url: String,
    pub topology: Topology,
    /// Unacked deliveries the broker may send ahead (basic.qos).
    pub prefetch: u16,
    /// Bodies larger than this are dead-lettered as `oversized`.
    pub max_body: usize,
    /// Processing attempts of one message (counted in the store) after which it is
    /// dead-lettered as `too-many-attempts` instead of being tried again. Dead-lettering is
    /// bounded the same way: a message that could not be dead-lettered by then is rejected
    /// without requeue (`undeliverable`).
    pub max_attempts: u32,
    /// The connection's name as the broker shows it (management UI, `rabbitmqctl`).
    pub connection_name: String,
    /// When set, messages without a valid `x-offboard-signature` are dead-lettered.
    pub event_key: Option<EventKey>,
    /// Accepted events are counted here (`offboard_events_consumed_total{source="amqp"}`).
    pub metrics: Metrics,
}

impl IngressConfig {
    pub fn new(url: impl Into<String>) -> Self {
        IngressConfig {
            url: url.into(),
            topology: Topology::default(),
            prefetch: 256,
            max_body: crate::event::MAX_EVENT_BYTES,
            max_attempts: 5,
            connection_name: "offboard-ingress".into(),
            event_key: None,
            metrics: Metrics::new(),
        }
    }
}

/// How a consuming session ended.
pub enum Ended {
    Shutdown,
    /// The consumer, channel or connection failed, or the broker shows no consumer: why.
    Lost(String),
}

/// One consuming session. Deliveries are decoded in delivery order and handed, as batches of
/// what is in hand, to one admission pipeline ([`Pipeline`]): one admission lock and one group
/// commit per batch, admission in delivery order (so one person's events keep their order),
/// the next batch admitted while the previous one is being made durable.
#[derive(Clone)]
pub struct Session {
    pub engine: Engine,
    pub config: Arc<IngressConfig>,
    pub counters: Arc<PoisonCounters>,
    pub channel: Channel,
    /// The connection's state: a session on a closed connection ends.
    pub link: ConnectionStatus,
    /// The connection's negotiated frame size (dead-letter copies stay well within it).
    pub frame_max: u32,
}

impl Session {
    /// Consumes until shutdown or until the session is lost (its consumer ended, its channel
    /// or connection failed, or `probe` finds no consumer on a queue); then waits for the
    /// messages in hand to be settled (or, on a dead channel, left to redelivery).
    pub async fn run(
        &self,
        mut consumer: Merged,
        probe: &Probe,
        mut shutdown: Pin<&mut impl Future<Output = ()>>,
    ) -> Ended {
        let (jobs, pipeline) = Pipeline::start(self.clone());
        let max_batch = usize::from(self.config.prefetch.max(1));
        // Messages decoded but not yet handed over. The pipeline takes one batch while it
        // admits the previous one; meanwhile this grows, so batches grow with the load.
        let mut pending: Vec<Item> = Vec::new();
        let start = tokio::time::Instant::now() + CHECK_EVERY;
        let mut check = tokio::time::interval_at(start, CHECK_EVERY);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let ended = loop {
            let next = tokio::select! {
                biased;
                () = &mut shutdown => break Ended::Shutdown,
                _ = check.tick() => {
                    if !self.link.connected() {
                        break Ended::Lost("the connection to the broker was closed".into());
                    }
                    if let Err(why) = probe.check().await {
                        break Ended::Lost(why);
                    }
                    continue;
                }
                next = consumer.next() => next,
                permit = jobs.reserve(), if !pending.is_empty() => {
                    if let Ok(permit) = permit {
                        permit.send(Job::Batch(std::mem::take(&mut pending)));
                    }
                    continue;
                }
            };
            match next {
                None => {
                    break Ended::Lost(
                        "the broker cancelled our consumer (queue deleted or consumer closed)"
                            .into(),
                    );
                }
                Some(Err(e)) => break Ended::Lost(format!("consuming failed: {e}")),
                Some(Ok(delivery)) => {
                    let key = delivery_key(&delivery);
                    match self.decode(&delivery) {
                        Err(why) => {
                            let _ = jobs.send(Job::Poison(delivery, key, why)).await;
                        }
                        Ok(event) if Engine::is_control(&event) => {
                            // An operator's command runs alone, after what came before it.
                            if !pending.is_empty() {
                                let batch = Job::Batch(std::mem::take(&mut pending));
                                let _ = jobs.send(batch).await;
                            }
                            let item = Item::new(delivery, key, event);
                            let _ = jobs.send(Job::Control(item)).await;
                        }
                        Ok(event) => {
                            pending.push(Item::new(delivery, key, event));
                            if pending.len() >= max_batch {
                                let batch = Job::Batch(std::mem::take(&mut pending));
                                let _ = jobs.send(batch).await;
                            }
                        }
                    }
                }
            }
        };
        if !pending.is_empty() {
            let _ = jobs.send(Job::Batch(pending)).await;
        }
        drop(jobs);
        let _ = pipeline.await;
        ended
    }

    fn decode(&self, d: &Delivery) -> Result<CloudEvent, Rejection> {
        let headers = d.properties.headers().as_ref();
        if d.data.len() <= self.config.max_body {
            signed::check(self.config.event_key.as_ref(), headers, &d.data)?;
        }
        let event = decode(headers, &d.data, self.config.max_body)?;
        if self.config.topology.shards.is_some() {
            check_shard_key(headers, &event)?;
        }
        Ok(event)
    }

    /// Dead-letters a message that can never become a run, on its `attempt`-th try; `last`
    /// is the last try allowed. A message whose earlier tries did not settle it (the channel
    /// died under the publish, say) or that the dead-letter exchange refuses on the last try
    /// is rejected without requeue, so no message can come back forever.
    pub(super) async fn poison(
        &self,
        d: &Delivery,
        key: &str,
        why: &Rejection,
        attempt: u32,
        last: u32,
    ) -> lapin::Result<()> {
        if attempt > last {
            return self.undeliverable(d, key, why, attempt).await;
        }
        let topology = &self.config.topology;
        let counters = &self.counters;
        if dead_letter(&self.channel, topology, d, why, self.frame_max, counters).await? {
            d.acker.ack(BasicAckOptions::default()).await?;
            let _ = self.engine.store().forget_delivery(key);
            Ok(())
        } else if attempt >= last {
            self.undeliverable(d, key, why, attempt).await
        } else {
            warn!(
                reason = why.code,
                attempt, "The dead-letter exchange refused a message; requeueing it."
            );
            self.requeue(d).await
        }
    }

    async fn undeliverable(
        &self,
        d: &Delivery,
        key: &str,
        why: &Rejection,
        attempts: u32,
    ) -> lapin::Result<()> {
        reject_undeliverable(d, why, attempts, &self.counters).await?;
        let _ = self.engine.store().forget_delivery(key);
        Ok(())
    }

    pub(super) async fn ack(&self, d: &Delivery, key: &str) -> lapin::Result<()> {
        d.acker.ack(BasicAckOptions::default()).await?;
        let _ = self.engine.store().forget_delivery(key);
        Ok(())
    }

    pub(super) async fn requeue(&self, d: &Delivery) -> lapin::Result<()> {
        d.acker
            .nack(BasicNackOptions {
                requeue: true,
                ..BasicNackOptions::default()
            })
            .await?;
        Ok(())
    }
}

/// Which message an attempt count belongs to: the AMQP message id, else the binary-mode
/// event id, else a hash of the body (a structured event's id is in its body). A key longer
/// than [`KEY_MAX`] bytes (an id header can be as big as the frame) is stored as its hash.
fn delivery_key(d: &Delivery) -> String {
    let key = raw_delivery_key(d);
    if key.len() > KEY_MAX {
        format!("k:{}", hex::encode(Sha256::digest(key.as_bytes())))
    } else {
        key
    }
}

/// The longest attempt-count key stored as is.
const KEY_MAX: usize = 200;

fn raw_delivery_key(d: &Delivery) -> String {
    if let Some(id) = d.properties.message_id() {
        return format!("m:{}", id.as_str());
    }
    let ce_id = d.properties.headers().as_ref().and_then(|h| {
        h.inner()
            .iter()
            .find(|(k, _)| k.as_str().strip_prefix(BINARY_PREFIX) == Some("id"))
            .and_then(|(_, v)| match v {
                AMQPValue::LongString(s) => {
                    Some(String::from_utf8_lossy(s.as_bytes()).into_owned())
                }
                _ => None,
            })
    });
    match ce_id {
        Some(id) => format!("e:{id}"),
        None => format!("h:{}", hex::encode(Sha256::digest(&d.data))),
    }
}
