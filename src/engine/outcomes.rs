//! Building outcome events. Each gets a UUIDv7 id when it is written to the outbox, in the
//! same atomic batch as the state change it reports, so it exists exactly once.

use super::run::{Outcome, RunRecord};
use crate::store::{Store, StoreResult, WriteBatch};
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

pub fn add(
    store: &Store,
    batch: &mut WriteBatch,
    run: &RunRecord,
    outcome_type: &str,
    now: DateTime<Utc>,
    data: Value,
) -> StoreResult<()> {
    let outcome = Outcome {
        id: Uuid::now_v7().to_string(),
        outcome_type: outcome_type.to_string(),
        run_id: run.id,
        workflow: run.workflow.clone(),
        subject: run.subject.clone(),
        time: now,
        data,
    };
    batch.put_outcome(store.next_seq()?, &outcome);
    Ok(())
}
