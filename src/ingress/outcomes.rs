//! The outcome publisher's AMQP side: the outbox drain (`engine::drain_outbox`) hands batches
//! to [`AmqpOutcomes`], which publishes each outcome to the outcomes exchange — persistent,
//! routing key = outcome type, `message_id` = the outcome's stable id — and returns only when
//! the broker confirmed every one. A failure drops the connection; the next batch reconnects,
//! and the drain retries the same outcomes (at least once; consumers dedup by id). `close`
//! ends the connection (and its I/O thread) before the service's runtime goes away.

use super::link;
use super::topology::Topology;
use crate::engine::{Outcome, OutcomeSink};
use crate::health::Health;
use async_trait::async_trait;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::ShortString;
use lapin::{BasicProperties, Channel, Confirmation, Connection};
use tokio::sync::Mutex;

/// The readiness component the publisher reports.
pub const COMPONENT: &str = "outcomes";

pub struct AmqpOutcomes {
    url: String,
    topology: Topology,
    connection_name: String,
    health: Health,
    link: Mutex<Option<(Connection, Channel)>>,
}

impl AmqpOutcomes {
    pub fn new(url: &str, topology: Topology, connection_name: &str, health: Health) -> Self {
        AmqpOutcomes {
            url: url.to_string(),
            topology,
            connection_name: connection_name.to_string(),
            health,
            link: Mutex::new(None),
        }
    }

    async fn connect(&self) -> Result<(Connection, Channel), String> {
        let never = std::future::pending::<()>();
        tokio::pin!(never);
        let conn = match link::connect(&self.url, &self.connection_name, never.as_mut()).await {
            Ok(Some(conn)) => conn,
            Ok(None) => return Err("stopped".into()),
            Err(e) => return Err(e.to_string()),
        };
        let declared = tokio::time::timeout(link::CONNECT_TIMEOUT, self.declare(&conn)).await;
        match declared {
            Ok(Ok(ch)) => Ok((conn, ch)),
            Ok(Err(e)) => {
                link::close(conn, "offboard outcome publisher giving up").await;
                Err(format!("declaring the topology: {e}"))
            }
            Err(_) => {
                link::close(conn, "offboard outcome publisher giving up").await;
                Err("declaring the topology timed out".into())
            }
        }
    }

    async fn declare(&self, conn: &Connection) -> lapin::Result<Channel> {
        let ch = conn.create_channel().await?;
        self.topology.declare(&ch).await?;
        ch.confirm_select(ConfirmSelectOptions::default()).await?;
        Ok(ch)
    }

    /// Closes the connection, if any, and waits for its I/O thread to end (at most a few
    /// seconds). Called when the service stops, after the last publish.
    pub async fn close(&self) {
        if let Some((conn, ch)) = self.link.lock().await.take() {
            drop(ch);
            link::close(conn, "offboard outcome publisher stopping").await;
        }
    }

    async fn publish_on(&self, ch: &Channel, outcomes: &[Outcome]) -> Result<(), String> {
        let mut confirms = Vec::with_capacity(outcomes.len());
        for o in outcomes {
            let body = serde_json::to_vec(o).map_err(|e| e.to_string())?;
            let props = BasicProperties::default()
                .with_content_type(ShortString::from("application/json"))
                .with_delivery_mode(2)
                .with_message_id(ShortString::from(o.id.as_str()))
                .with_type(ShortString::from(o.outcome_type.as_str()))
                .with_timestamp(o.time.timestamp().max(0) as u64)
                .with_app_id(ShortString::from("offboard"));
            let confirm = ch
                .basic_publish(
                    self.topology.outcomes_exchange.as_str().into(),
                    o.outcome_type.as_str().into(),
                    BasicPublishOptions::default(),
                    &body,
                    props,
                )
                .await
                .map_err(|e| e.to_string())?;
            confirms.push((o, confirm));
        }
        for (o, confirm) in confirms {
            match confirm.await.map_err(|e| e.to_string())? {
                Confirmation::Ack(_) => {}
                other => {
                    return Err(format!(
                        "the broker did not confirm outcome {} ({other:?})",
                        o.id
                    ));
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl OutcomeSink for AmqpOutcomes {
    async fn publish(&self, outcomes: &[Outcome]) -> Result<(), String> {
        let mut link = self.link.lock().await;
        if link.is_none() {
            match self.connect().await {
                Ok(l) => *link = Some(l),
                Err(e) => return Err(self.down(format!("broker unreachable: {e}"))),
            }
        }
        let Some((_, ch)) = link.as_ref() else {
            return Err("no channel".into());
        };
        match self.publish_on(ch, outcomes).await {
            Ok(()) => {
                self.health.set(
                    COMPONENT,
                    true,
                    format!("publishing to {}", self.topology.outcomes_exchange),
                );
                Ok(())
            }
            Err(e) => {
                if let Some((conn, ch)) = link.take() {
                    drop(ch);
                    link::close(conn, "offboard outcome publisher reconnecting").await;
                }
                Err(self.down(format!("publishing outcomes failed: {e}")))
            }
        }
    }
}

impl AmqpOutcomes {
    fn down(&self, why: String) -> String {
        self.health.set(COMPONENT, false, why.clone());
        why
    }
}
