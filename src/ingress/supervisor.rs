//! The outer loop: connect (bounded, `link.rs`), declare the topology, consume on one channel
//! while `probe.rs` asks the broker for our consumers on another. When the session ends for any
//! reason but shutdown, its connection is closed (its I/O thread ended) and a new one opened
//! after a backoff. Readiness always says what is wrong; the log says it at a bounded rate
//! (`outage.rs`). `run` returns on shutdown, once the connection is closed.

use super::consumer::{Ended, IngressConfig, Session};
use super::link;
use super::merged::Merged;
use super::outage::Outage;
use super::poison::PoisonCounters;
use super::probe::Probe;
use super::topology::HASH_PLUGIN;
use crate::engine::Engine;
use crate::health::Health;
use lapin::options::{BasicConsumeOptions, BasicQosOptions, ConfirmSelectOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{info, warn};

const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A session that held this long ends an outage and resets the backoff; one that ends sooner
/// (a broker that drops every connection) counts as another failure of the same outage.
const STABLE: Duration = Duration::from_secs(60);
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
    let queues = config.topology.consumed_queues().join(", ");
    let mut outage = Outage::default();
    health.set(
        COMPONENT,
        false,
        format!("connecting to the broker ({queues})"),
    );
    loop {
        // Only the TCP connect is abandoned at shutdown: once lapin has the connection, it
        // is opened to the end (bounded) and closed properly, so no I/O thread outlives us;
        // a session opened after shutdown ends at once.
        let opened = link::connect(&config.url, &config.connection_name, shutdown.as_mut()).await;
        let why = match opened {
            Ok(None) => return Ok(()),
            Err(e) => format!("broker unreachable: {e}"),
            Ok(Some(conn)) => {
                match tokio::time::timeout(link::CONNECT_TIMEOUT, open(config, &conn)).await {
                    Err(_) => {
                        link::close(conn, "offboard ingress giving up").await;
                        format!(
                            "cannot consume: declaring the topology and consuming took over {} s",
                            link::CONNECT_TIMEOUT.as_secs()
                        )
                    }
                    Ok(Err(e)) => {
                        link::close(conn, "offboard ingress giving up").await;
                        format!("cannot consume: {}", explain(config, &e))
                    }
                    Ok(Ok((channel, probe, consumer))) => {
                        let started = Instant::now();
                        match outage.consuming(started) {
                            Some(l) if l.after_failures > 0 => info!(
                                queues = %queues,
                                failures = l.after_failures,
                                down_s = l.down_for.as_secs(),
                                "AMQP ingress consuming again."
                            ),
                            Some(_) => info!(queues = %queues, "AMQP ingress consuming."),
                            None => {}
                        }
                        health.set(COMPONENT, true, format!("consuming {queues}"));
                        let session = Session {
                            engine: engine.clone(),
                            config: shared.clone(),
                            counters: counters.clone(),
                            channel,
                            link: conn.status().clone(),
                            frame_max: conn.configuration().frame_max(),
                        };
                        let ended = session.run(consumer, &probe, shutdown.as_mut()).await;
                        drop(session);
                        link::close(conn, "offboard ingress stopping").await;
                        match ended {
                            Ended::Shutdown => {
                                health.set(COMPONENT, false, "stopped");
                                info!("AMQP ingress stopped.");
                                return Ok(());
                            }
                            Ended::Lost(why) => {
                                if started.elapsed() >= STABLE {
                                    outage.settled();
                                    backoff = BACKOFF_MIN;
                                }
                                format!("not consuming: {why}")
                            }
                        }
                    }
                }
            }
        };
        let line = outage.failed(Instant::now());
        health.set(
            COMPONENT,
            false,
            format!(
                "{why} ({} failed attempt(s) in a row; retrying in {:.1} s)",
                outage.failures(),
                backoff.as_secs_f64()
            ),
        );
        match line {
            Some(l) if l.first => warn!(
                error = %why,
                retry_in_ms = backoff.as_millis() as u64,
                "AMQP ingress cannot consume; retrying."
            ),
            Some(l) => warn!(
                error = %why,
                failures_since_last_report = l.failures,
                failures = l.total,
                down_s = l.down_for.as_secs(),
                retry_in_ms = backoff.as_millis() as u64,
                "AMQP ingress still cannot consume; retrying."
            ),
            None => {}
        }
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Declares the topology and starts consuming on a fresh channel; the probe gets its own.
async fn open(
    config: &IngressConfig,
    conn: &Connection,
) -> lapin::Result<(Channel, Probe, Merged)> {
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
    let probe = Probe::open(conn, config.topology.consumed_queues()).await?;
    Ok((channel, probe, Merged::new(consumers)))
}

/// A failed connect or declare; a sharded topology the broker cannot declare most likely
/// lacks the consistent-hash plugin, and the operator is told how to enable it.
fn explain(config: &IngressConfig, e: &lapin::Error) -> String {
    let text = e.to_string();
    if config.topology.shards.is_some()
        && (text.contains("x-consistent-hash") || text.contains("exchange type"))
    {
        format!("{text} (enable the broker plugin: rabbitmq-plugins enable {HASH_PLUGIN})")
    } else {
        text
    }
}
