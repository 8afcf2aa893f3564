//! The AMQP topology of DESIGN.md §5, declared idempotently; every name is configurable so
//! tests (and several deployments on one broker) can use their own.

use lapin::options::{
    ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{Channel, ExchangeKind};

/// Exchange and queue names plus the broker-side delivery limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// Topic exchange events are published to (routing key = event type).
    pub events_exchange: String,
    /// Quorum queue bound to `events_exchange` with `#`.
    pub events_queue: String,
    /// Exchange that rejected messages go to (`x-dead-letter-exchange`).
    pub dead_exchange: String,
    /// Queue bound to `dead_exchange` with `#`.
    pub dead_queue: String,
    /// Topic exchange offboard publishes outcomes to.
    pub outcomes_exchange: String,
    /// `x-delivery-limit` of the quorum queue.
    pub delivery_limit: u32,
}

impl Default for Topology {
    fn default() -> Self {
        Topology {
            events_exchange: "offboard.events".into(),
            events_queue: "offboard.events".into(),
            dead_exchange: "offboard.dead".into(),
            dead_queue: "offboard.dead".into(),
            outcomes_exchange: "offboard.outcomes".into(),
            delivery_limit: 20,
        }
    }
}

impl Topology {
    /// Every name with `prefix` in front (tests use a unique prefix each).
    pub fn prefixed(prefix: &str) -> Self {
        let d = Topology::default();
        Topology {
            events_exchange: format!("{prefix}{}", d.events_exchange),
            events_queue: format!("{prefix}{}", d.events_queue),
            dead_exchange: format!("{prefix}{}", d.dead_exchange),
            dead_queue: format!("{prefix}{}", d.dead_queue),
            outcomes_exchange: format!("{prefix}{}", d.outcomes_exchange),
            delivery_limit: d.delivery_limit,
        }
    }

    /// Declares exchanges, queues and bindings. Declaring what already exists with the same
    /// arguments is a no-op, so every (re)connect calls this.
    pub async fn declare(&self, ch: &Channel) -> lapin::Result<()> {
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        for ex in [
            &self.events_exchange,
            &self.dead_exchange,
            &self.outcomes_exchange,
        ] {
            ch.exchange_declare(
                ex.as_str().into(),
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await?;
        }
        let mut args = FieldTable::default();
        args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString(LongString::from("quorum")),
        );
        args.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongInt(i32::try_from(self.delivery_limit).unwrap_or(i32::MAX)),
        );
        args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(LongString::from(self.dead_exchange.as_str())),
        );
        let queue = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        ch.queue_declare(self.events_queue.as_str().into(), queue, args)
            .await?;
        let mut dead_args = FieldTable::default();
        dead_args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString(LongString::from("quorum")),
        );
        ch.queue_declare(self.dead_queue.as_str().into(), queue, dead_args)
            .await?;
        for (q, ex) in [
            (&self.events_queue, &self.events_exchange),
            (&self.dead_queue, &self.dead_exchange),
        ] {
            ch.queue_bind(
                q.as_str().into(),
                ex.as_str().into(),
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        }
        Ok(())
    }

    /// Deletes everything `declare` created (tests clean up with this).
    pub async fn delete(&self, ch: &Channel) -> lapin::Result<()> {
        for q in [&self.events_queue, &self.dead_queue] {
            ch.queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                .await?;
        }
        for ex in [
            &self.events_exchange,
            &self.dead_exchange,
            &self.outcomes_exchange,
        ] {
            ch.exchange_delete(ex.as_str().into(), ExchangeDeleteOptions::default())
                .await?;
        }
        Ok(())
    }
}
