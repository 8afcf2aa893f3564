//! One consuming session on one channel: verify + decode → `engine.submit` → ack after it
//! returns (the run or dedup record is durable). Store trouble → nack with requeue; input the engine
//! refuses or a message that keeps failing → dead-letter, then ack.

use super::decode::{BINARY_PREFIX, Rejection, decode};
use super::order::{Place, SubjectOrder};
use super::poison::{PoisonCounters, dead_letter};
use super::signed;
use super::topology::Topology;
use crate::engine::Engine;
use crate::event::CloudEvent;
use crate::signature::EventKey;
use futures_lite::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions};
use lapin::types::AMQPValue;
use lapin::{Channel, Consumer};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::task::JoinSet;
use tracing::{debug, warn};

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
    /// dead-lettered as `too-many-attempts` instead of being tried again.
    pub max_attempts: u32,
    /// The connection's name as the broker shows it (management UI, `rabbitmqctl`).
    pub connection_name: String,
    /// When set, messages without a valid `x-offboard-signature` are dead-lettered.
    pub event_key: Option<EventKey>,
}

impl IngressConfig {
    pub fn new(url: impl Into<String>) -> Self {
        IngressConfig {
            url: url.into(),
            topology: Topology::default(),
            prefetch: 256,
            max_body: 1024 * 1024,
            max_attempts: 5,
            connection_name: "offboard-ingress".into(),
            event_key: None,
        }
    }
}

/// How a consuming session ended.
pub enum Ended {
    Shutdown,
    /// The channel or connection failed and auto-recovery could not bring it back.
    Lost(String),
}

/// One consuming session. Deliveries are decoded in order, then processed side by side (up
/// to the prefetch limit), each person's events in delivery order ([`SubjectOrder`]).
#[derive(Clone)]
pub struct Session {
    pub engine: Engine,
    pub config: Arc<IngressConfig>,
    pub counters: Arc<PoisonCounters>,
    pub channel: Channel,
}

impl Session {
    /// Consumes until shutdown or until the connection is lost for good; then waits for the
    /// messages in hand to be settled (or, on a dead channel, left to redelivery).
    pub async fn run(
        &self,
        mut consumer: Consumer,
        mut shutdown: Pin<&mut impl Future<Output = ()>>,
    ) -> Ended {
        let mut order = SubjectOrder::default();
        let mut in_hand = JoinSet::new();
        let ended = loop {
            while in_hand.try_join_next().is_some() {}
            let next = tokio::select! {
                () = &mut shutdown => break Ended::Shutdown,
                next = consumer.next() => next,
            };
            match next {
                None => break Ended::Lost("the consumer was cancelled".into()),
                Some(Err(e)) => {
                    if let Err(e) = self.channel.wait_for_recovery(e).await {
                        break Ended::Lost(e.to_string());
                    }
                    debug!("AMQP channel recovered.");
                }
                Some(Ok(delivery)) => {
                    let decoded = self.decode(&delivery);
                    let place = decoded.as_ref().ok().map(|ev| order.enter(&ev.subject));
                    let session = self.clone();
                    in_hand.spawn(async move {
                        if let Err(e) = session.handle(&delivery, decoded, place).await {
                            // An ack or nack on a channel that died: the broker redelivers the
                            // message and dedup by event id makes that harmless.
                            warn!(error = %e, "Settling a message failed; the broker will redeliver it.");
                        }
                    });
                }
            }
        };
        while in_hand.join_next().await.is_some() {}
        ended
    }

    fn decode(&self, d: &Delivery) -> Result<CloudEvent, Rejection> {
        let headers = d.properties.headers().as_ref();
        if d.data.len() <= self.config.max_body {
            signed::check(self.config.event_key.as_ref(), headers, &d.data)?;
        }
        decode(headers, &d.data, self.config.max_body)
    }

    async fn handle(
        &self,
        d: &Delivery,
        decoded: Result<CloudEvent, Rejection>,
        place: Option<Place>,
    ) -> lapin::Result<()> {
        let key = delivery_key(d);
        // Durable before processing only for a redelivery: that one may be crashing us.
        match self.engine.store().count_attempt(&key, d.redelivered).await {
            Ok(n) if n > self.config.max_attempts => {
                let why = Rejection::new(
                    "too-many-attempts",
                    format!(
                        "processing the message was attempted {} times without success",
                        n - 1
                    ),
                );
                return self.poison(d, &key, &why).await;
            }
            Ok(_) => {}
            Err(e) => {
                warn!(error = %e, "Counting an attempt failed; requeueing the message.");
                return self.requeue(d).await;
            }
        }
        let event = match decoded {
            Ok(ev) => ev,
            Err(why) => return self.poison(d, &key, &why).await,
        };
        let Some(mut place) = place else {
            return self.requeue(d).await;
        };
        place.wait_turn().await;
        match self.engine.submit(event).await {
            Ok(sub) => {
                debug!(event_id = %sub.event_id, duplicate = sub.duplicate, "Event accepted.");
                d.acker.ack(BasicAckOptions::default()).await?;
                let _ = self.engine.store().forget_delivery(&key);
                Ok(())
            }
            Err(e) if e.is_client_error() => {
                self.poison(
                    d,
                    &key,
                    &Rejection::new("rejected-by-engine", e.to_string()),
                )
                .await
            }
            Err(e) => {
                warn!(error = %e, "Submitting an event failed; requeueing the message.");
                self.requeue(d).await
            }
        }
    }

    async fn poison(&self, d: &Delivery, key: &str, why: &Rejection) -> lapin::Result<()> {
        let topology = &self.config.topology;
        if dead_letter(&self.channel, topology, d, why, &self.counters).await? {
            d.acker.ack(BasicAckOptions::default()).await?;
            let _ = self.engine.store().forget_delivery(key);
            Ok(())
        } else {
            warn!(
                reason = why.code,
                "The dead-letter exchange refused a message; requeueing it."
            );
            self.requeue(d).await
        }
    }

    async fn requeue(&self, d: &Delivery) -> lapin::Result<()> {
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
/// event id, else a hash of the body (a structured event's id is in its body).
fn delivery_key(d: &Delivery) -> String {
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
