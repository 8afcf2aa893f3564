//! The outer loop: connect (with lapin's auto-recovery), declare the topology, consume; when
//! recovery gives up, reconnect with exponential backoff. `run` returns on shutdown.

use super::consumer::{Ended, IngressConfig, Session};
use super::merged::Merged;
use super::poison::PoisonCounters;
use super::topology::HASH_PLUGIN;
use crate::engine::Engine;
use crate::health::Health;
use lapin::options::{BasicConsumeOptions, BasicQosOptions, ConfirmSelectOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, warn};

const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// The readiness component this loop reports.
pub const COMPONENT: &str = "broker";

#[derive(Debug, thiserror::Error)]
pub enum IngressError {
    #[error("AMQP: {0}")]
    Amqp(#[from] lapin::Error),
}

/// Consumes events from the broker into `engine` until `shutdown` resolves. Broker outages
/// are retried forever (the engine keeps executing runs meanwhile).
pub async fn run(
    engine: &Engine,
    config: &IngressConfig,
    counters: &Arc<PoisonCounters>,
    health: &Health,
    shutdown: impl Future<Output = ()>,
) -> Result<(), IngressError> {
    tokio::pin!(shutdown);
    let mut backoff = BACKOFF_MIN;
    let shared = Arc::new(config.clone());
    health.set(COMPONENT, false, "connecting");
    loop {
        let attempt = tokio::select! {
            () = &mut shutdown => return Ok(()),
            r = open(config) => r,
        };
        let why = match attempt {
            Ok((conn, channel, consumer)) => {
                let queues = config.topology.consumed_queues().join(", ");
                info!(queues = %queues, "AMQP ingress consuming.");
                health.set(COMPONENT, true, format!("consuming {queues}"));
                backoff = BACKOFF_MIN;
                let session = Session {
                    engine: engine.clone(),
                    config: shared.clone(),
                    counters: counters.clone(),
                    channel: channel.clone(),
                    health: health.clone(),
                    link: conn.status().clone(),
                };
                let ended = session.run(consumer, shutdown.as_mut()).await;
                let _ = conn.close(200, "offboard ingress stopping".into()).await;
                match ended {
                    Ended::Shutdown => {
                        health.set(COMPONENT, false, "stopped");
                        info!("AMQP ingress stopped.");
                        return Ok(());
                    }
                    Ended::Lost(why) => why,
                }
            }
            Err(e) => explain(config, e),
        };
        health.set(COMPONENT, false, format!("broker unreachable: {why}"));
        warn!(error = %why, retry_in_ms = backoff.as_millis() as u64, "AMQP connection lost; reconnecting.");
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

async fn open(config: &IngressConfig) -> lapin::Result<(Connection, lapin::Channel, Merged)> {
    let props = ConnectionProperties::default()
        .enable_auto_recover()
        .with_connection_name(config.connection_name.as_str().into());
    let conn = Connection::connect(&config.url, props).await?;
    let channel = conn.create_channel().await?;
    config.topology.declare(&channel).await?;
    channel
        .basic_qos(config.prefetch, BasicQosOptions::default())
        .await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let mut consumers = Vec::new();
    for queue in config.topology.consumed_queues() {
        let tag = format!("offboard-ingress:{queue}");
        let consumer = channel
            .basic_consume(
                queue.as_str().into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        consumers.push(consumer);
    }
    Ok((conn, channel, Merged::new(consumers)))
}

/// A failed connect or declare; a sharded topology the broker cannot declare most likely
/// lacks the consistent-hash plugin, and the operator is told how to enable it.
fn explain(config: &IngressConfig, e: lapin::Error) -> String {
    let text = e.to_string();
    if config.topology.shards.is_some()
        && (text.contains("x-consistent-hash") || text.contains("exchange type"))
    {
        format!("{text} (enable the broker plugin: rabbitmq-plugins enable {HASH_PLUGIN})")
    } else {
        text
    }
}
