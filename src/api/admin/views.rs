//! The run as the API shows it (README "Admin HTTP API"): the camelCase fields of
//! [`RunRecord`] plus `eventId`. Listings leave out the full event; a single run carries the
//! event and its journal. Views borrow the record, so the persisted form stays as it is.

use crate::engine::{RunRecord, RunStatus, StepState, WaitReason};
use crate::event::CloudEvent;
use crate::ids::{EventId, RunId};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// A run in a listing.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary<'a> {
    pub id: &'a RunId,
    pub workflow: &'a str,
    pub workflow_version: u32,
    pub workflow_hash: &'a str,
    pub family: &'a str,
    pub subject: &'a str,
    pub event_id: &'a EventId,
    pub status: RunStatus,
    pub cursor: usize,
    pub steps: &'a [StepState],
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wake_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_reason: Option<&'a WaitReason>,
    pub queue_seq: u64,
    pub generation: u32,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub lines: &'a [String],
}

impl<'a> RunSummary<'a> {
    pub fn of(r: &'a RunRecord) -> Self {
        RunSummary {
            id: &r.id,
            workflow: &r.workflow,
            workflow_version: r.workflow_version,
            workflow_hash: &r.workflow_hash,
            family: &r.family,
            subject: &r.subject,
            event_id: &r.event.id,
            status: r.status,
            cursor: r.cursor,
            steps: &r.steps,
            created_at: r.created_at,
            updated_at: r.updated_at,
            reason: r.reason.as_deref(),
            wake_at: r.wake_at,
            wait_reason: r.wait_reason.as_ref(),
            queue_seq: r.queue_seq,
            generation: r.generation,
            lines: &r.lines,
        }
    }
}

/// One run in full: the summary, the event and the journal (generic over the journal entry
/// so the view does not depend on how the engine names it).
#[derive(Debug, Serialize)]
pub struct RunDetail<'a, J: Serialize> {
    #[serde(flatten)]
    pub run: RunSummary<'a>,
    pub event: &'a CloudEvent,
    pub journal: &'a [J],
}
