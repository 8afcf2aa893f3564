//! Scheduled workflows (`[schedule]`): each occurrence of a workflow's cron becomes one
//! event whose id is derived from the occurrence, so firing it twice (two ticks, two
//! processes, a crash between the run and the record) admits one run. After downtime only
//! the latest missed occurrence fires: once, never once per missed period.

use super::core::Engine;
use super::core::Submission;
use super::error::EngineResult;
use crate::event::CloudEvent;
use crate::ids::EventId;
use crate::store::WriteBatch;
use serde_json::json;
use tracing::{info, warn};

impl Engine {
    /// Fires every schedule whose latest occurrence (at or before now) has not been fired.
    /// The first time a schedule is seen it only records its latest occurrence as the
    /// baseline: a new workflow waits for its next occurrence.
    pub async fn fire_schedules(&self) -> EngineResult<Vec<Submission>> {
        let inner = &self.inner;
        let _one_at_a_time = inner.schedule_lock.lock().await;
        let now = inner.now();
        let mut out = Vec::new();
        for wf in inner.registry.current() {
            let Some(schedule) = &wf.schedule else {
                continue;
            };
            let Some(latest) = schedule.latest(now) else {
                continue;
            };
            let latest_ms = latest.timestamp_millis().max(0) as u64;
            let fired = inner.store.schedule_fired(&wf.name)?;
            let missed = match fired {
                None => {
                    let mut b = WriteBatch::new();
                    b.set_schedule_fired(&wf.name, latest_ms);
                    inner.store.commit(b).await?;
                    info!(workflow = %wf.name, cron = %schedule.cron, "Schedule registered; it first fires at its next occurrence.");
                    continue;
                }
                Some(f) if f >= latest_ms => continue,
                Some(f) => missed_between(schedule, f, latest),
            };
            if missed > 1 {
                warn!(workflow = %wf.name, missed, "Occurrences of the schedule were missed while offboard was down; the latest runs once.");
            }
            let event = CloudEvent {
                specversion: "1.0".into(),
                id: EventId::new(schedule.event_id(&wf.name, latest)),
                source: "offboard/scheduler".into(),
                event_type: schedule.event_type.clone(),
                subject: schedule.subject.clone(),
                time: now,
                datacontenttype: Some("application/json".into()),
                data: json!({
                    "scheduledFor": latest,
                    "cron": schedule.cron,
                    "missedOccurrences": missed.saturating_sub(1),
                }),
            };
            // The run (or its dedup record) is durable before the occurrence is marked fired.
            let sub = self.submit(event).await?;
            let mut b = WriteBatch::new();
            b.set_schedule_fired(&wf.name, latest_ms);
            inner.store.commit(b).await?;
            info!(workflow = %wf.name, occurrence = %latest, runs = sub.runs.len(), duplicate = sub.duplicate, "Schedule fired.");
            out.push(sub);
        }
        Ok(out)
    }
}

/// Occurrences after `fired_ms` up to and including `latest` (counted up to 1,000).
fn missed_between(
    schedule: &crate::workflow::Schedule,
    fired_ms: u64,
    latest: chrono::DateTime<chrono::Utc>,
) -> usize {
    let Some(mut t) = chrono::DateTime::from_timestamp_millis(fired_ms as i64) else {
        return 1;
    };
    let mut n = 0;
    while n < 1000 {
        match schedule.next_after(t) {
            Some(next) if next <= latest => {
                n += 1;
                t = next;
            }
            _ => break,
        }
    }
    n.max(1)
}
