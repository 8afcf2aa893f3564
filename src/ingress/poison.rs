//! Poison messages: published to the dead-letter exchange with the body unchanged and the
//! properties of `dead_copy.rs` (the reason, a bounded detail, the original headers that fit),
//! with a publisher confirm, before the original is acked. A message that cannot be
//! dead-lettered within the attempt limit is rejected without requeue (`undeliverable`; the
//! queue's own dead-letter exchange takes it). Counted for the metrics endpoint.

use super::dead_copy::{DETAIL_MAX, bounded, dead_copy};
use super::decode::Rejection;
use super::topology::Topology;
use lapin::message::Delivery;
use lapin::options::{BasicPublishOptions, BasicRejectOptions};
use lapin::{Channel, Confirmation};
use std::sync::atomic::{AtomicU64, Ordering};

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
    /// Messages that could not be dead-lettered within the attempt limit and were rejected
    /// without requeue (the broker dead-letters them without offboard's headers).
    pub undeliverable: AtomicU64,
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
            UNDELIVERABLE => &self.undeliverable,
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
            &self.undeliverable,
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
            (UNDELIVERABLE, &self.undeliverable),
        ]
        .into_iter()
        .map(|(reason, c)| (reason, c.load(Ordering::Relaxed)))
        .collect()
    }
}

/// The reason code of a message rejected without requeue because it could not be
/// dead-lettered.
pub const UNDELIVERABLE: &str = "undeliverable";

/// Publishes `delivery` to the dead-letter exchange with the reason and waits for the
/// broker's confirm. Returns whether the broker took it; the caller acks the original only
/// then. `frame_max` is the connection's negotiated frame size: the copy's properties stay
/// well within it, so publishing the copy can never make the broker close the connection.
pub async fn dead_letter(
    ch: &Channel,
    topology: &Topology,
    delivery: &Delivery,
    why: &Rejection,
    frame_max: u32,
    counters: &PoisonCounters,
) -> lapin::Result<bool> {
    let copy = dead_copy(&delivery.properties, why.code, &why.message, frame_max);
    let confirm = ch
        .basic_publish(
            topology.dead_exchange.as_str().into(),
            delivery.routing_key.clone(),
            BasicPublishOptions::default(),
            &delivery.data,
            copy.properties,
        )
        .await?
        .await?;
    let taken = matches!(confirm, Confirmation::Ack(_));
    if taken {
        counters.count(why.code);
        tracing::warn!(
            reason = why.code,
            routing_key = %delivery.routing_key,
            detail = %bounded(&why.message, DETAIL_MAX),
            headers_omitted = copy.omitted.len(),
            headers_omitted_bytes = copy.omitted_bytes,
            "Message dead-lettered."
        );
    }
    Ok(taken)
}

/// Rejects `delivery` without requeue: it could not be dead-lettered within `attempts`. The
/// queue's `x-dead-letter-exchange` routes it broker-side (without offboard's headers).
pub async fn reject_undeliverable(
    delivery: &Delivery,
    why: &Rejection,
    attempts: u32,
    counters: &PoisonCounters,
) -> lapin::Result<()> {
    delivery
        .acker
        .reject(BasicRejectOptions { requeue: false })
        .await?;
    counters.count(UNDELIVERABLE);
    tracing::error!(
        reason = why.code,
        attempts,
        routing_key = %delivery.routing_key,
        detail = %bounded(&why.message, DETAIL_MAX),
        "A message could not be dead-lettered; rejected without requeue, so the queue's \
         dead-letter exchange takes it without the reason header."
    );
    Ok(())
}
