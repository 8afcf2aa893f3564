//! One consuming session on one channel: decode → `engine.submit` → ack after it returns
//! (the run or dedup record is durable). Store trouble → nack with requeue; input the engine
//! refuses or a message that keeps failing → dead-letter, then ack.

use super::decode::{BINARY_PREFIX, Rejection, decode};
use super::poison::{PoisonCounters, dead_letter};
use super::topology::Topology;
use crate::engine::Engine;
use crate::store::Store;
use futures_lite::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions};
use lapin::types::AMQPValue;
use lapin::{Channel, Consumer};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::pin::Pin;
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
        }
    }
}

/// How a consuming session ended.
pub enum Ended {
    Shutdown,
    /// The channel or connection failed and auto-recovery could not bring it back.
    Lost(String),
}

pub struct Session<'a> {
    pub engine: &'a Engine,
    pub store: &'a Store,
    pub config: &'a IngressConfig,
    pub counters: &'a PoisonCounters,
    pub channel: &'a Channel,
}

impl Session<'_> {
    /// Consumes until shutdown or until the connection is lost for good.
    pub async fn run(
        &self,
        mut consumer: Consumer,
        mut shutdown: Pin<&mut impl Future<Output = ()>>,
    ) -> Ended {
        loop {
            let next = tokio::select! {
                () = &mut shutdown => return Ended::Shutdown,
                next = consumer.next() => next,
            };
            match next {
                None => return Ended::Lost("the consumer was cancelled".into()),
                Some(Err(e)) => {
                    if let Err(e) = self.channel.wait_for_recovery(e).await {
                        return Ended::Lost(e.to_string());
                    }
                    debug!("AMQP channel recovered.");
                }
                Some(Ok(delivery)) => {
                    if let Err(e) = self.handle(&delivery).await {
                        // An ack or nack on a channel that died: the broker redelivers the
                        // message and dedup by event id makes that harmless.
                        warn!(error = %e, "Settling a message failed; the broker will redeliver it.");
                    }
                }
            }
        }
    }

    async fn handle(&self, d: &Delivery) -> lapin::Result<()> {
        let key = delivery_key(d);
        // Durable before processing only for a redelivery: that one may be crashing us.
        match self.store.count_attempt(&key, d.redelivered).await {
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
        let event = match decode(
            d.properties.headers().as_ref(),
            &d.data,
            self.config.max_body,
        ) {
            Ok(ev) => ev,
            Err(why) => return self.poison(d, &key, &why).await,
        };
        match self.engine.submit(event).await {
            Ok(sub) => {
                debug!(event_id = %sub.event_id, duplicate = sub.duplicate, "Event accepted.");
                d.acker.ack(BasicAckOptions::default()).await?;
                let _ = self.store.forget_delivery(&key);
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
        if dead_letter(self.channel, topology, d, why, self.counters).await? {
            d.acker.ack(BasicAckOptions::default()).await?;
            let _ = self.store.forget_delivery(key);
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
