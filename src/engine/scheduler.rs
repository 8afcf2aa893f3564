//! The scheduler: a dispatcher that runs ready runs under bounded concurrency, and a timer
//! loop that turns due durable timers into ready runs. `run` returns on shutdown, after the
//! executing runs reached a step boundary.

use super::core::{Engine, Inner};
use super::error::EngineResult;
use crate::ids::RunId;
use crate::store::WriteBatch;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};
use tracing::{error, info};

impl Engine {
    /// Runs the engine until `shutdown` resolves. Runs left runnable by an earlier process
    /// (crash or stop) are resumed first.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> EngineResult<()> {
        let inner = self.inner.clone();
        let Some(rx) = inner.ready_rx.lock().ok().and_then(|mut r| r.take()) else {
            return Ok(());
        };
        let resumed = inner.store.ready_runs()?;
        info!(resumed = resumed.len(), "Engine started.");
        for id in resumed {
            inner.enqueue(id);
        }
        let dispatcher = tokio::spawn(dispatch(inner.clone(), rx));
        let timers = tokio::spawn(timer_loop(inner.clone()));
        let schedules = tokio::spawn(schedule_loop(self.clone()));
        let tenant_size = tokio::spawn(super::quarantine::tenant_size_loop(self.clone()));
        shutdown.await;
        inner.stopping.store(true, Ordering::SeqCst);
        inner.timer_wake.notify_one();
        dispatcher.abort();
        timers.abort();
        schedules.abort();
        tenant_size.abort();
        let _ = dispatcher.await;
        let _ = timers.await;
        let _ = schedules.await;
        // Executing runs stop at their next step boundary; their ready markers stay, so the
        // next process resumes them.
        while !self
            .inner
            .executing
            .lock()
            .map(|m| m.is_empty())
            .unwrap_or(true)
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        inner.store.durable().await?;
        info!("Engine stopped.");
        Ok(())
    }
}

async fn dispatch(inner: Arc<Inner>, mut rx: mpsc::UnboundedReceiver<RunId>) {
    let permits = Arc::new(Semaphore::new(inner.config.concurrency.max(1)));
    while let Some(id) = rx.recv().await {
        if !inner.claim(id) {
            continue;
        }
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let inner = inner.clone();
        tokio::spawn(async move {
            if let Err(e) = inner.execute_run(id).await {
                error!(run_id = %id, error = %e, "Run execution stopped on a store error; it resumes on restart.");
            }
            drop(permit);
            inner.release(id);
        });
    }
}

async fn timer_loop(inner: Arc<Inner>) {
    loop {
        if inner.stopping.load(Ordering::SeqCst) {
            return;
        }
        let now_ms = inner.now().timestamp_millis().max(0) as u64;
        match fire_due(&inner, now_ms) {
            Ok(0) => {}
            Ok(_) => continue,
            Err(e) => error!(error = %e, "Timer scan failed; retrying."),
        }
        let mut sleep = inner.config.timer_poll;
        if let Ok(Some(next)) = inner.store.next_timer() {
            sleep = sleep.min(Duration::from_millis(next.saturating_sub(now_ms)));
        }
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = inner.timer_wake.notified() => {}
        }
    }
}

/// Fires due schedules at start (a missed occurrence runs once) and then every
/// `schedule_poll`.
async fn schedule_loop(engine: Engine) {
    if !engine
        .inner
        .registry
        .current()
        .iter()
        .any(|w| w.schedule.is_some())
    {
        return;
    }
    loop {
        if engine.inner.stopping.load(Ordering::SeqCst) {
            return;
        }
        if let Err(e) = engine.fire_schedules().await {
            error!(error = %e, "Firing schedules failed; retrying at the next tick.");
        }
        tokio::time::sleep(engine.inner.config.schedule_poll).await;
    }
}

/// Turns due timers into ready runs. A crash between this and the run's next checkpoint
/// only fires the timer again.
fn fire_due(inner: &Inner, now_ms: u64) -> EngineResult<usize> {
    let due = inner.store.due_timers(now_ms, 512)?;
    if due.is_empty() {
        return Ok(0);
    }
    let mut batch = WriteBatch::new();
    for (t, id) in &due {
        batch.clear_timer(*t, id);
        batch.set_ready(id);
    }
    inner.store.apply(batch)?;
    for (_, id) in &due {
        inner.enqueue(*id);
    }
    Ok(due.len())
}
