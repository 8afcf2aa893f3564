//! The broker's view of our consumers. A consumer can be lost without the consuming channel
//! hearing of it (a dropped `basic.cancel`, a broker-side bug), so a session asks the broker
//! from time to time: a passive `queue.declare` per consumed queue, on a channel of its own
//! (a refused declare closes the channel it was sent on), answers with the queue's consumer
//! count; 0 means no one consumes the queue and the session is not doing its job.

use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use std::time::Duration;
use tokio::time::timeout;

/// How often a session asks.
pub const CHECK_EVERY: Duration = Duration::from_secs(5);
/// How long one answer may take.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Probe {
    channel: Channel,
    queues: Vec<String>,
}

impl Probe {
    pub async fn open(conn: &Connection, queues: Vec<String>) -> lapin::Result<Probe> {
        Ok(Probe {
            channel: conn.create_channel().await?,
            queues,
        })
    }

    /// `Ok` when the broker shows a consumer on every queue; otherwise why not, for a person.
    pub async fn check(&self) -> Result<(), String> {
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        for q in &self.queues {
            let answer =
                self.channel
                    .queue_declare(q.as_str().into(), passive, FieldTable::default());
            match timeout(ANSWER_TIMEOUT, answer).await {
                Ok(Ok(queue)) if queue.consumer_count() == 0 => {
                    return Err(format!("the broker shows 0 consumers on queue {q}"));
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(format!("asking the broker about queue {q}: {e}")),
                Err(_) => {
                    return Err(format!(
                        "the broker did not answer about queue {q} within {} s",
                        ANSWER_TIMEOUT.as_secs()
                    ));
                }
            }
        }
        Ok(())
    }
}
