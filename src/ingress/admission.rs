//! The admission pipeline of a consuming session: one task takes batches of decoded messages
//! in delivery order, counts their processing attempts, admits each batch under one engine
//! lock (`Engine::admit`), and hands it to a settling task that waits for the group commit and
//! then acks, dead-letters or requeues each message. Admitting batch k+1 overlaps making batch
//! k durable; admission itself stays in delivery order. Every message's attempts are counted,
//! poison included, so the attempt limit bounds every path (`Session::poison`).

use super::consumer::Session;
use super::decode::Rejection;
use crate::event::CloudEvent;
use lapin::message::Delivery;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tracing::{debug, warn};

/// A decoded message.
pub struct Item {
    pub delivery: Delivery,
    /// Its attempt-count key (`delivery_key`).
    pub key: String,
    pub event: CloudEvent,
    /// Which attempt this is (set when counted).
    pub attempt: u32,
}

impl Item {
    pub fn new(delivery: Delivery, key: String, event: CloudEvent) -> Self {
        Item {
            delivery,
            key,
            event,
            attempt: 0,
        }
    }
}

pub enum Job {
    /// Events admitted together, in this order.
    Batch(Vec<Item>),
    /// An operator's command (`ops.run.*`), submitted on its own.
    Control(Item),
    /// A message that can never become a run.
    Poison(Delivery, String, Rejection),
}

pub struct Pipeline;

impl Pipeline {
    /// Starts the pipeline; it ends when the sender is dropped and everything is settled.
    pub fn start(session: Session) -> (mpsc::Sender<Job>, JoinHandle<()>) {
        // Room for one job: while the pipeline works, the session gathers the next batch.
        let (tx, mut rx) = mpsc::channel::<Job>(1);
        let task = tokio::spawn(async move {
            let mut settling = JoinSet::new();
            while let Some(job) = rx.recv().await {
                while settling.try_join_next().is_some() {}
                match job {
                    Job::Poison(d, key, why) => {
                        let s = session.clone();
                        settling.spawn(async move {
                            // Counted like any attempt: a poison message whose dead-lettering
                            // keeps failing must not come back forever.
                            match s.engine.store().count_attempt(&key, false).await {
                                Ok(n) => {
                                    let last = s.config.max_attempts;
                                    report(s.poison(&d, &key, &why, n, last).await);
                                }
                                Err(_) => report(s.requeue(&d).await),
                            }
                        });
                    }
                    Job::Control(item) => control(&session, item).await,
                    Job::Batch(items) => {
                        if let Some(admitted) = admit(&session, items).await {
                            settling.spawn(admitted);
                        }
                    }
                }
            }
            while settling.join_next().await.is_some() {}
        });
        (tx, task)
    }
}

/// A failed ack or nack: the channel died, the broker redelivers, dedup makes that harmless.
fn report(r: lapin::Result<()>) {
    if let Err(e) = r {
        warn!(error = %e, "Settling a message failed; the broker will redeliver it.");
    }
}

/// Counts the attempts of `items` and dead-letters those over the limit; returns the ones
/// to process. A redelivered message may be the one that crashed us, so its attempt is
/// counted durably before it is processed; a first delivery only reads the count (a message
/// republished under a known message id), which keeps the common path free of writes. So a
/// message whose processing keeps crashing the process is dead-lettered after `max_attempts`
/// redeliveries, whatever the broker's own delivery limit does.
async fn count_attempts(session: &Session, items: Vec<Item>) -> Vec<Item> {
    let store = session.engine.store();
    let mut counts = Vec::with_capacity(items.len());
    let mut redelivered = false;
    for item in &items {
        counts.push(if item.delivery.redelivered {
            redelivered = true;
            store.count_attempt(&item.key, false).await
        } else {
            store.attempts(&item.key).map(|n| n + 1)
        });
    }
    if redelivered && store.durable().await.is_err() {
        for item in &items {
            report(session.requeue(&item.delivery).await);
        }
        return Vec::new();
    }
    let max = session.config.max_attempts;
    let mut keep = Vec::with_capacity(items.len());
    for (mut item, count) in items.into_iter().zip(counts) {
        match count {
            Ok(n) if n > max => {
                let why = Rejection::new(
                    "too-many-attempts",
                    format!("processing the message was attempted {max} times without success"),
                );
                // One try to dead-letter it; a later delivery is rejected without requeue.
                let r = session.poison(&item.delivery, &item.key, &why, n, max + 1);
                report(r.await);
            }
            Ok(n) => {
                item.attempt = n;
                keep.push(item);
            }
            Err(e) => {
                warn!(error = %e, "Counting an attempt failed; requeueing the message.");
                report(session.requeue(&item.delivery).await);
            }
        }
    }
    keep
}

/// Admits a batch (in order, under one lock) and returns the future that settles it once it
/// is durable.
async fn admit(
    session: &Session,
    items: Vec<Item>,
) -> Option<impl std::future::Future<Output = ()> + Send + 'static> {
    let items = count_attempts(session, items).await;
    if items.is_empty() {
        return None;
    }
    let (events, rest): (Vec<CloudEvent>, Vec<(Delivery, String, u32)>) = items
        .into_iter()
        .map(|i| (i.event, (i.delivery, i.key, i.attempt)))
        .unzip();
    let admitted = session.engine.admit(events).await;
    let s = session.clone();
    Some(async move {
        match admitted.durable(&s.engine).await {
            Ok(results) => {
                for ((d, key, attempt), result) in rest.iter().zip(results) {
                    settle(&s, d, key, *attempt, result).await;
                }
            }
            Err(e) => {
                warn!(error = %e, "Making admitted events durable failed; requeueing them.");
                for (d, _, _) in &rest {
                    report(s.requeue(d).await);
                }
            }
        }
    })
}

async fn control(session: &Session, item: Item) {
    for item in count_attempts(session, vec![item]).await {
        let result = session.engine.submit(item.event).await;
        settle(session, &item.delivery, &item.key, item.attempt, result).await;
    }
}

async fn settle(
    s: &Session,
    d: &Delivery,
    key: &str,
    attempt: u32,
    result: crate::engine::EngineResult<crate::engine::Submission>,
) {
    let r = match result {
        Ok(sub) => {
            debug!(event_id = %sub.event_id, duplicate = sub.duplicate, "Event accepted.");
            s.config.metrics.event_consumed("amqp", sub.duplicate);
            s.ack(d, key).await
        }
        Err(e) if e.is_client_error() => {
            let why = Rejection::new("rejected-by-engine", e.to_string());
            s.poison(d, key, &why, attempt, s.config.max_attempts).await
        }
        Err(e) => {
            warn!(error = %e, "Submitting an event failed; requeueing the message.");
            s.requeue(d).await
        }
    };
    report(r);
}
