//! Poison messages: published to the dead-letter exchange with the original headers and body
//! plus the reason (`x-offboard-reason`, and `x-offboard-detail` for a person), with a
//! publisher confirm, before the original is acked. Counted for the metrics endpoint.

use super::decode::Rejection;
use super::topology::Topology;
use lapin::message::Delivery;
use lapin::options::BasicPublishOptions;
use lapin::types::{AMQPValue, LongString};
use lapin::{Channel, Confirmation};
use std::sync::atomic::{AtomicU64, Ordering};

/// Header carrying the machine-readable reason a message was dead-lettered.
pub const REASON_HEADER: &str = "x-offboard-reason";
/// Header carrying the human-readable explanation.
pub const DETAIL_HEADER: &str = "x-offboard-detail";

/// Dead-lettered messages by reason, readable by the metrics endpoint.
#[derive(Debug, Default)]
pub struct PoisonCounters {
    pub invalid_json: AtomicU64,
    pub missing_attribute: AtomicU64,
    pub invalid_attribute: AtomicU64,
    pub unknown_type: AtomicU64,
    pub invalid_subject: AtomicU64,
    pub oversized: AtomicU64,
    pub rejected_by_engine: AtomicU64,
    pub too_many_attempts: AtomicU64,
    pub unsigned: AtomicU64,
    pub bad_signature: AtomicU64,
    pub bad_shard_key: AtomicU64,
}

impl PoisonCounters {
    fn count(&self, code: &str) {
        let c = match code {
            "invalid-json" => &self.invalid_json,
            "missing-attribute" => &self.missing_attribute,
            "invalid-attribute" => &self.invalid_attribute,
            "unknown-type" => &self.unknown_type,
            "invalid-subject" => &self.invalid_subject,
            "oversized" => &self.oversized,
            "too-many-attempts" => &self.too_many_attempts,
            "unsigned" => &self.unsigned,
            "bad-signature" => &self.bad_signature,
            "bad-shard-key" => &self.bad_shard_key,
            _ => &self.rejected_by_engine,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// All dead-lettered messages.
    pub fn total(&self) -> u64 {
        [
            &self.invalid_json,
            &self.missing_attribute,
            &self.invalid_attribute,
            &self.unknown_type,
            &self.invalid_subject,
            &self.oversized,
            &self.rejected_by_engine,
            &self.too_many_attempts,
            &self.unsigned,
            &self.bad_signature,
            &self.bad_shard_key,
        ]
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum()
    }
}

/// The counts under the reason codes of the `x-offboard-reason` header.
impl crate::metrics::ReasonCounts for PoisonCounters {
    fn reason_counts(&self) -> Vec<(&'static str, u64)> {
        [
            ("invalid-json", &self.invalid_json),
            ("missing-attribute", &self.missing_attribute),
            ("invalid-attribute", &self.invalid_attribute),
            ("unknown-type", &self.unknown_type),
            ("invalid-subject", &self.invalid_subject),
            ("oversized", &self.oversized),
            ("rejected-by-engine", &self.rejected_by_engine),
            ("too-many-attempts", &self.too_many_attempts),
            ("unsigned", &self.unsigned),
            ("bad-signature", &self.bad_signature),
            ("bad-shard-key", &self.bad_shard_key),
        ]
        .into_iter()
        .map(|(reason, c)| (reason, c.load(Ordering::Relaxed)))
        .collect()
    }
}

/// Publishes `delivery` to the dead-letter exchange with the reason and waits for the
/// broker's confirm. Returns whether the broker took it; the caller acks the original only
/// then.
pub async fn dead_letter(
    ch: &Channel,
    topology: &Topology,
    delivery: &Delivery,
    why: &Rejection,
    counters: &PoisonCounters,
) -> lapin::Result<bool> {
    let mut headers = delivery.properties.headers().clone().unwrap_or_default();
    headers.insert(
        REASON_HEADER.into(),
        AMQPValue::LongString(LongString::from(why.code)),
    );
    headers.insert(
        DETAIL_HEADER.into(),
        AMQPValue::LongString(LongString::from(why.message.as_str())),
    );
    let props = delivery
        .properties
        .clone()
        .with_headers(headers)
        .with_delivery_mode(2);
    let confirm = ch
        .basic_publish(
            topology.dead_exchange.as_str().into(),
            delivery.routing_key.clone(),
            BasicPublishOptions::default(),
            &delivery.data,
            props,
        )
        .await?
        .await?;
    let taken = matches!(confirm, Confirmation::Ack(_));
    if taken {
        counters.count(why.code);
        tracing::warn!(
            reason = why.code,
            routing_key = %delivery.routing_key,
            detail = %why.message,
            "Message dead-lettered."
        );
    }
    Ok(taken)
}
