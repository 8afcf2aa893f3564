//! Admission: an event becomes runs, durably, exactly once per event id. The caller (AMQP
//! ingress, HTTP API) acknowledges only after `submit` returns.

use super::core::{Engine, Submission};
use super::error::{EngineError, EngineResult};
use super::outcomes;
use super::run::{EventRecord, RunRecord, RunStatus, StepState, StepStatus, WaitReason};
use crate::event::CloudEvent;
use crate::ids::RunId;
use crate::store::{StoreError, WriteBatch};
use crate::workflow::{StepKind, Workflow};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;
use tracing::info;

/// What one submit collects while it builds its batch.
#[derive(Default)]
struct Admission {
    /// Superseded runs claimed by this submit; released once the batch is applied.
    claimed: Vec<RunId>,
    /// Runs to start once the batch is on disk.
    ready: Vec<RunId>,
    /// (family, subject) pairs that got a run in this batch.
    queued: HashSet<(String, String)>,
}

/// One event's admission before its writes are applied.
struct OneAdmission {
    submission: Submission,
    writes: WriteBatch,
    ready: Vec<RunId>,
    claimed: Vec<RunId>,
}

/// Writes of admitted events not yet applied, and what they are about.
#[derive(Default)]
struct Pending {
    writes: WriteBatch,
    subjects: HashSet<String>,
    ids: HashSet<String>,
    /// Indexes of their answers in the results.
    members: Vec<usize>,
    /// Runs to start once these writes are durable.
    ready: Vec<RunId>,
}

impl Pending {
    /// Applies the writes (atomically); if that fails, each of these events gets the error
    /// and none of their runs is started.
    fn apply(&mut self, engine: &Engine, admitted: &mut Admitted) {
        let done = std::mem::take(self);
        let results = &mut admitted.results;
        match engine.inner.store.apply(done.writes) {
            Ok(()) => admitted.ready.extend(done.ready),
            Err(e) => {
                let why = e.to_string();
                for i in done.members {
                    if let Some(r) = results.get_mut(i) {
                        *r = Err(EngineError::Store(StoreError::Write(why.clone())));
                    }
                }
            }
        }
    }
}

/// Events applied to the store under one admission lock, in order, but not yet durable:
/// nothing is acknowledged to anyone and no run starts before [`Admitted::durable`].
#[must_use]
pub struct Admitted {
    results: Vec<EngineResult<Submission>>,
    ready: Vec<RunId>,
}

impl Admitted {
    /// Waits until the admitted events are on disk (one group commit for all of them), starts
    /// their runs and returns each event's answer, in the order given to [`Engine::admit`].
    pub async fn durable(self, engine: &Engine) -> EngineResult<Vec<EngineResult<Submission>>> {
        engine.inner.store.durable().await?;
        for id in self.ready {
            engine.inner.enqueue(id);
        }
        Ok(self.results)
    }
}

impl Engine {
    /// Creates the runs an event triggers, or returns the existing ones for a known event id.
    pub async fn submit(&self, event: CloudEvent) -> EngineResult<Submission> {
        if let Some(s) = self.control_event(&event).await? {
            return Ok(s);
        }
        let mut results = self.admit(vec![event]).await.durable(self).await?;
        results.pop().unwrap_or_else(|| {
            Err(EngineError::BadEvent {
                event: String::new(),
                message: "nothing was admitted".into(),
            })
        })
    }

    /// Whether `event` is an operator's command about an existing run (`ops.run.cancel`,
    /// `ops.run.restart`), which only [`Engine::submit`] takes.
    pub fn is_control(event: &CloudEvent) -> bool {
        matches!(
            event.event_type.as_str(),
            "ops.run.cancel" | "ops.run.restart"
        )
    }

    /// Admits many events under one lock, in order: a later event sees the earlier ones (the
    /// same id is a duplicate, the same person queues behind). The ingress uses this to share
    /// one critical section and one group commit among the messages in hand; the caller
    /// acknowledges only after [`Admitted::durable`]. Control events are refused here.
    pub async fn admit(&self, events: Vec<CloudEvent>) -> Admitted {
        let mut admitted = Admitted {
            results: Vec::with_capacity(events.len()),
            ready: Vec::new(),
        };
        let _guard = self.inner.admission.lock().await;
        // The writes of events admitted so far, applied together (one sled batch instead of
        // one per event) once a later event must read them, or at the end.
        let mut pending = Pending::default();
        for event in events {
            if Self::is_control(&event) {
                admitted.results.push(Err(EngineError::BadEvent {
                    event: event.id.to_string(),
                    message: "operator commands are submitted one at a time".into(),
                }));
                continue;
            }
            // A later event of the same person (subject queue, supersede, cancels) or with the
            // same id (dedup) must see what the earlier one wrote.
            let subject = event.subject.to_lowercase();
            if pending.subjects.contains(&subject) || pending.ids.contains(event.id.as_str()) {
                pending.apply(self, &mut admitted);
            }
            let id = event.id.to_string();
            match self.admit_locked(event) {
                Ok(one) => {
                    pending.writes.append(one.writes);
                    pending.subjects.insert(subject);
                    pending.ids.insert(id);
                    pending.members.push(admitted.results.len());
                    admitted.results.push(Ok(one.submission));
                    pending.ready.extend(one.ready);
                    if !one.claimed.is_empty() {
                        // Runs claimed to be superseded or cancelled go back to the executor
                        // only once their new state is in the store.
                        pending.apply(self, &mut admitted);
                        one.claimed.iter().for_each(|r| self.inner.release(*r));
                    }
                }
                Err(e) => admitted.results.push(Err(e)),
            }
        }
        pending.apply(self, &mut admitted);
        admitted
    }

    /// One event under the admission lock: its writes, not yet applied.
    fn admit_locked(&self, event: CloudEvent) -> EngineResult<OneAdmission> {
        let inner = &self.inner;
        if let Some(rec) = inner.store.event(event.id.as_str())? {
            return Ok(OneAdmission {
                submission: Submission {
                    event_id: event.id,
                    runs: rec.runs,
                    duplicate: true,
                    note: rec.note,
                },
                writes: WriteBatch::new(),
                ready: Vec::new(),
                claimed: Vec::new(),
            });
        }
        let now = inner.now();
        let workflows =
            inner
                .registry
                .triggered(&event, now)
                .map_err(|e| EngineError::BadEvent {
                    event: event.id.to_string(),
                    message: e.to_string(),
                })?;
        let mut batch = WriteBatch::new();
        let mut runs = Vec::new();
        let mut adm = Admission::default();
        for wf in &workflows {
            match self.admit_one(&mut batch, wf, &event, &mut adm) {
                Ok(id) => runs.push(id),
                Err(e) => {
                    adm.claimed.iter().for_each(|id| inner.release(*id));
                    return Err(e);
                }
            }
        }
        let note = workflows.is_empty().then(|| {
            format!(
                "no workflow is triggered by this `{}` event",
                event.event_type
            )
        });
        batch.put_event(
            event.id.as_str(),
            &EventRecord {
                received_at: now,
                runs: runs.clone(),
                note: note.clone(),
            },
        );
        info!(event_id = %event.id, runs = runs.len(), "Event admitted.");
        Ok(OneAdmission {
            submission: Submission {
                event_id: event.id,
                runs,
                duplicate: false,
                note,
            },
            writes: batch,
            ready: adm.ready,
            claimed: adm.claimed,
        })
    }

    /// Adds one run to the batch and returns its id; a run that heads its subject queue is
    /// marked ready.
    fn admit_one(
        &self,
        batch: &mut WriteBatch,
        wf: &Arc<Workflow>,
        event: &CloudEvent,
        adm: &mut Admission,
    ) -> EngineResult<RunId> {
        let inner = &self.inner;
        let now = inner.now();
        let mut queue = inner.store.subject_queue(&wf.family, &event.subject)?;
        // A correction queued behind a head that could not be superseded at once (its task
        // was at a checkpoint) is itself replaced by a later correction.
        let behind: Vec<(u64, RunId)> = queue.iter().skip(1).copied().collect();
        for (seq, id) in behind {
            if self.supersede(batch, id, wf, event, &mut adm.claimed)? {
                queue.retain(|&(s, _)| s != seq);
            }
        }
        if let Some(&(seq, head)) = queue.first()
            && self.supersede(batch, head, wf, event, &mut adm.claimed)?
        {
            queue.retain(|&(s, _)| s != seq);
            // The run queued behind the superseded one now heads the queue.
            if let Some(&(_, next)) = queue.first() {
                batch.set_ready(&next);
                adm.ready.push(next);
            }
        }
        if !wf.cancels.is_empty() {
            self.cancel_for(batch, &queue, wf, event, adm)?;
        }
        if inner.store.workflow_source(&wf.hash)?.is_none() {
            batch.put_workflow(&wf.hash, &wf.source);
        }
        let seq = inner.store.next_seq()?;
        let run = new_run(wf, event, now, seq);
        // A run of the same family admitted earlier in this batch is not in the store yet.
        let key = (wf.family.clone(), event.subject.to_lowercase());
        let is_head = queue.is_empty() && !adm.queued.contains(&key);
        adm.queued.insert(key);
        batch.put_run(&run);
        inner.count_leaver(batch, &run)?;
        batch.enqueue_subject(&run.family, &run.subject, seq, &run.id);
        batch.record_history(&run.family, &run.subject, seq, &run.id);
        if is_head {
            batch.set_ready(&run.id);
            adm.ready.push(run.id);
        }
        outcomes::add(
            &inner.store,
            batch,
            &run,
            "run.started",
            now,
            json!({"eventId": event.id, "queued": !is_head}),
        )?;
        Ok(run.id)
    }

    /// `cancels = [...]`: asks the subject's unfinished runs of those workflows to stop at
    /// their next step boundary (README "Restore": a restore cancels a pending leaver). The new
    /// run queues behind them and starts when they have ended.
    fn cancel_for(
        &self,
        batch: &mut WriteBatch,
        queue: &[(u64, RunId)],
        wf: &Workflow,
        event: &CloudEvent,
        adm: &mut Admission,
    ) -> EngineResult<()> {
        let inner = &self.inner;
        for (pos, &(_, id)) in queue.iter().enumerate() {
            let Some(run) = inner.store.run(&id)? else {
                continue;
            };
            if run.status.is_terminal() || !wf.cancels.contains(&run.workflow) {
                continue;
            }
            let reason = format!(
                "cancelled by the `{}` event {} for the same person",
                event.event_type, event.id
            );
            batch.request_cancel(&id, &reason);
            if let Ok(mut c) = inner.cancels.lock() {
                c.insert(id, reason);
            }
            // The head of the queue is woken so a waiting run ends now; runs behind it end
            // when their turn comes, before any step.
            if pos == 0 {
                batch.set_ready(&id);
                adm.ready.push(id);
            }
            info!(run_id = %id, event_id = %event.id, workflow = %wf.name, "Run cancelled by a later event.");
        }
        Ok(())
    }

    /// A corrected leaver replaces a run of the same workflow that is still waiting for its
    /// date (README "Durability protocol"): the old run is cancelled before it changed anything.
    fn supersede(
        &self,
        batch: &mut WriteBatch,
        head: RunId,
        wf: &Workflow,
        event: &CloudEvent,
        superseded: &mut Vec<RunId>,
    ) -> EngineResult<bool> {
        let inner = &self.inner;
        let Some(old) = inner.store.run(&head)? else {
            return Ok(false);
        };
        let waiting_for_date = old.workflow == wf.name && replaceable(&old);
        if !waiting_for_date {
            return Ok(false);
        }
        let reason = format!("superseded by event {} before its wait ended", event.id);
        if !inner.claim(head) {
            // Its task is just finishing a checkpoint: it stops at its next step boundary,
            // before anything changes in the tenant, and the new run follows it.
            batch.request_cancel(&head, &reason);
            if let Ok(mut c) = inner.cancels.lock() {
                c.insert(head, reason);
            }
            return Ok(false);
        }
        // Re-read under the claim.
        let old = inner.store.run(&head)?;
        let still_waiting = old.as_ref().is_some_and(replaceable);
        let Some(mut old) = old.filter(|_| still_waiting) else {
            inner.release(head);
            return Ok(false);
        };
        let now = inner.now();
        if let Some(t) = old.wake_at {
            batch.clear_timer(t.timestamp_millis().max(0) as u64, &old.id);
        }
        old.status = RunStatus::Cancelled;
        old.reason = Some(reason);
        old.updated_at = now;
        old.wake_at = None;
        old.wait_reason = None;
        batch.put_run(&old);
        batch.clear_ready(&old.id);
        batch.dequeue_subject(&old.family, &old.subject, old.queue_seq);
        outcomes::add(
            &inner.store,
            batch,
            &old,
            "run.cancelled",
            now,
            json!({"reason": old.reason}),
        )?;
        info!(run_id = %old.id, event_id = %event.id, "Waiting run superseded by a corrected event.");
        superseded.push(old.id);
        Ok(true)
    }

    /// `ops.run.cancel` / `ops.run.restart` act on an existing run (`data.runId`).
    async fn control_event(&self, event: &CloudEvent) -> EngineResult<Option<Submission>> {
        let op = event.event_type.as_str();
        if op != "ops.run.cancel" && op != "ops.run.restart" {
            return Ok(None);
        }
        let bad = |m: &str| EngineError::BadEvent {
            event: event.id.to_string(),
            message: m.to_string(),
        };
        if let Some(rec) = self.inner.store.event(event.id.as_str())? {
            return Ok(Some(Submission {
                event_id: event.id.clone(),
                runs: rec.runs,
                duplicate: true,
                note: rec.note,
            }));
        }
        let run_id = event
            .data
            .get("runId")
            .and_then(Value::as_str)
            .and_then(RunId::parse)
            .ok_or_else(|| bad("`data.runId` must be the id of a run"))?;
        if op == "ops.run.cancel" {
            self.cancel(run_id).await?;
        } else {
            let from = event.data.get("fromStep").and_then(Value::as_str);
            self.restart(run_id, from).await?;
        }
        let mut batch = WriteBatch::new();
        batch.put_event(
            event.id.as_str(),
            &EventRecord {
                received_at: self.inner.now(),
                runs: vec![run_id],
                note: Some(format!("{op} applied")),
            },
        );
        self.inner.store.commit(batch).await?;
        Ok(Some(Submission {
            event_id: event.id.clone(),
            runs: vec![run_id],
            duplicate: false,
            note: Some(format!("{op} applied")),
        }))
    }
}

/// A new pending run of `wf` for `event`, at place `seq` of its subject queue.
pub(super) fn new_run(
    wf: &Workflow,
    event: &CloudEvent,
    now: DateTime<Utc>,
    seq: u64,
) -> RunRecord {
    RunRecord {
        id: RunId::new(),
        workflow: wf.name.clone(),
        workflow_version: wf.version,
        workflow_hash: wf.hash.clone(),
        family: wf.family.clone(),
        subject: event.subject.clone(),
        event: event.clone(),
        status: RunStatus::Pending,
        cursor: 0,
        steps: wf
            .steps
            .iter()
            .map(|s| StepState {
                id: s.id.clone(),
                action: match &s.kind {
                    StepKind::Action { action, .. } => action.name().to_string(),
                    StepKind::Wait { .. } => "wait".into(),
                    StepKind::WaitUntil { .. } => "wait_until".into(),
                },
                status: StepStatus::Pending,
                attempts: 0,
                failures: 0,
                first_started_at: None,
                finished_at: None,
                wait_until: None,
                approved: None,
                message: None,
                output: Value::Null,
            })
            .collect(),
        created_at: now,
        updated_at: now,
        reason: None,
        wake_at: None,
        wait_reason: None,
        queue_seq: seq,
        generation: 0,
        lines: Vec::new(),
        guard: Default::default(),
    }
}

/// A run a corrected event may replace: still waiting for its date (on the timer of a
/// `wait_until` reached through waits only), or admitted but not started at all (e.g. earlier
/// in the same admission batch), with such a `wait_until` ahead of any action.
pub(super) fn replaceable(run: &RunRecord) -> bool {
    let only_waits_before = |upto: usize| {
        run.steps[..upto.min(run.steps.len())]
            .iter()
            .all(|s| is_wait(&s.action))
    };
    match run.status {
        RunStatus::Waiting => {
            run.wait_reason == Some(WaitReason::Timer)
                && run
                    .steps
                    .get(run.cursor)
                    .is_some_and(|s| s.action == "wait_until")
                && only_waits_before(run.cursor)
        }
        RunStatus::Pending => {
            run.cursor == 0
                && run.steps.iter().all(|s| s.first_started_at.is_none())
                && run
                    .steps
                    .iter()
                    .take_while(|s| is_wait(&s.action))
                    .any(|s| s.action == "wait_until")
        }
        _ => false,
    }
}

fn is_wait(action: &str) -> bool {
    matches!(action, "wait" | "wait_until")
}
