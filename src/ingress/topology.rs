//! The AMQP topology (README "RabbitMQ ingress"), declared idempotently; every name is configurable
//! so tests (and several deployments on one broker) can use their own. Sharded (README "Several
//! instances"): the events exchange feeds a consistent-hash exchange on `x-offboard-subject` with
//! one quorum queue per shard; every instance declares them all, each consumes its own.

use crate::shard::{SUBJECT_HEADER, Shards};
use lapin::options::{
    ExchangeBindOptions, ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
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
    /// Sharded: `events_queue` is replaced by one queue per shard (`shard_queue`).
    pub shards: Option<Shards>,
}

/// The broker plugin the sharded topology needs.
pub const HASH_PLUGIN: &str = "rabbitmq_consistent_hash_exchange";

impl Default for Topology {
    fn default() -> Self {
        Topology {
            events_exchange: "offboard.events".into(),
            events_queue: "offboard.events".into(),
            dead_exchange: "offboard.dead".into(),
            dead_queue: "offboard.dead".into(),
            outcomes_exchange: "offboard.outcomes".into(),
            delivery_limit: 20,
            shards: None,
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
            shards: None,
        }
    }

    /// The consistent-hash exchange between the events exchange and the shard queues.
    pub fn shards_exchange(&self) -> String {
        format!("{}.shards", self.events_exchange)
    }

    /// Shard `i`'s queue.
    pub fn shard_queue(&self, i: u32) -> String {
        format!("{}.shard.{i}", self.events_queue)
    }

    /// The queues this instance consumes: its shards' queues, or `events_queue`.
    pub fn consumed_queues(&self) -> Vec<String> {
        match &self.shards {
            Some(s) => s.mine.iter().map(|&i| self.shard_queue(i)).collect(),
            None => vec![self.events_queue.clone()],
        }
    }

    /// Every events queue of the deployment (all shards when sharded).
    fn event_queues(&self) -> Vec<String> {
        match &self.shards {
            Some(s) => (0..s.total).map(|i| self.shard_queue(i)).collect(),
            None => vec![self.events_queue.clone()],
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
        for q in self.event_queues() {
            ch.queue_declare(q.as_str().into(), queue, args.clone())
                .await?;
        }
        let mut dead_args = FieldTable::default();
        dead_args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString(LongString::from("quorum")),
        );
        ch.queue_declare(self.dead_queue.as_str().into(), queue, dead_args)
            .await?;
        let mut bindings = vec![(self.dead_queue.clone(), self.dead_exchange.clone())];
        match &self.shards {
            Some(_) => self.declare_ring(ch).await?,
            None => bindings.push((self.events_queue.clone(), self.events_exchange.clone())),
        }
        for (q, ex) in &bindings {
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
        let mut queues = self.event_queues();
        queues.push(self.dead_queue.clone());
        for q in &queues {
            ch.queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                .await?;
        }
        if self.shards.is_some() {
            ch.exchange_delete(
                self.shards_exchange().as_str().into(),
                ExchangeDeleteOptions::default(),
            )
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

    /// The consistent-hash exchange bound to the events exchange with `#`, and every shard
    /// queue bound to it with weight 1, so the ring is the same on every instance.
    async fn declare_ring(&self, ch: &Channel) -> lapin::Result<()> {
        let ring = self.shards_exchange();
        let mut args = FieldTable::default();
        args.insert(
            "hash-header".into(),
            AMQPValue::LongString(LongString::from(SUBJECT_HEADER)),
        );
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        ch.exchange_declare(
            ring.as_str().into(),
            ExchangeKind::Custom("x-consistent-hash".into()),
            durable,
            args,
        )
        .await?;
        ch.exchange_bind(
            ring.as_str().into(),
            self.events_exchange.as_str().into(),
            "#".into(),
            ExchangeBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
        for q in self.event_queues() {
            ch.queue_bind(
                q.as_str().into(),
                ring.as_str().into(),
                "1".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        }
        Ok(())
    }
}
