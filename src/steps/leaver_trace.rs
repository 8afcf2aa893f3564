//! What a restore knows about the leaver it undoes, read from the ledger: the newest earlier
//! run of the subject's family with a `user.snapshot` step (unless a restore succeeded after
//! it), its snapshot, and for each leaver action whether it succeeded (with its output), was
//! started without succeeding (it may have changed things half-way) or never started.

use super::{PriorRun, Snapshot, StepContext, StepOutcome};
use crate::ids::{RunId, UserId};
use serde_json::Value;
use std::time::Duration;

/// The leaver a restore undoes.
#[derive(Debug)]
pub(crate) enum Leaver {
    /// No earlier run of this person recorded a snapshot step.
    None,
    /// The newest leaver was already undone by this restore run, which succeeded.
    Undone(RunId),
    Found(Box<LeaverRun>),
}

#[derive(Debug)]
pub(crate) struct LeaverRun {
    pub run: PriorRun,
    /// `None` when the leaver never got to record it (cancelled or failed before).
    pub snapshot: Option<Snapshot>,
}

/// What one leaver action did, as far as the journal tells.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Trace<'a> {
    /// It succeeded: its output says what it changed.
    Done(&'a Value),
    /// Started (attempts > 0) but did not succeed: it may have changed part of what it
    /// touches, so compare the snapshot with the tenant.
    Partial {
        status: &'a str,
        attempts: u32,
    },
    NotStarted,
}

fn has_action(run: &PriorRun, action: &str) -> bool {
    run.steps.iter().any(|s| s.action == action)
}

/// What a step returns instead when a helper cannot go on (boxed: outcomes are large).
pub(crate) type Stop = Box<StepOutcome>;

/// Finds the leaver: the newest earlier run with a `user.snapshot` step. A restore that
/// succeeded after it means it was undone already. A ledger read error retries the step.
/// The leaver to undo and the account as it is now: how every undo step starts.
pub(crate) async fn leaver_and_user(
    ctx: &StepContext<'_>,
    tenant: &dyn crate::tenant::Tenant,
) -> Result<(Leaver, crate::tenant::User), StepOutcome> {
    let leaver = find(ctx).map_err(|o| *o)?;
    let user = super::subject::resolve_user(ctx, tenant).await?;
    Ok((leaver, user))
}

pub(crate) fn find(ctx: &StepContext<'_>) -> Result<Leaver, Stop> {
    let runs = ctx.ledger.prior_runs().map_err(|e| {
        Box::new(StepOutcome::Retry {
            after: Some(Duration::from_secs(5)),
            reason: format!("reading the earlier runs of {}: {e}", ctx.subject),
        })
    })?;
    for run in runs {
        if has_action(&run, "user.snapshot") {
            let snapshot = run
                .output_of("user.snapshot")
                .and_then(|o| o.get("snapshot"))
                .and_then(|v| serde_json::from_value(v.clone()).ok());
            return Ok(Leaver::Found(Box::new(LeaverRun { run, snapshot })));
        }
        if has_action(&run, "user.restore") && run.status == "succeeded" {
            return Ok(Leaver::Undone(run.id));
        }
    }
    Ok(Leaver::None)
}

impl Leaver {
    /// Why there is nothing to undo, or `None` when there is a leaver to look at.
    pub fn nothing_to_undo(&self) -> Option<String> {
        match self {
            Leaver::None => Some(
                "no leaver run of this person is on record: only the account itself is restored"
                    .into(),
            ),
            Leaver::Undone(id) => Some(format!(
                "the last leaver of this person was already undone by restore run {id}"
            )),
            Leaver::Found(_) => None,
        }
    }
}

impl LeaverRun {
    pub fn trace(&self, action: &str) -> Trace<'_> {
        if let Some(out) = self.run.output_of(action) {
            return Trace::Done(out);
        }
        match self
            .run
            .steps
            .iter()
            .find(|s| s.action == action && s.attempts > 0)
        {
            Some(s) => Trace::Partial {
                status: &s.status,
                attempts: s.attempts,
            },
            None => Trace::NotStarted,
        }
    }

    /// For a step that started without succeeding: says the restore compared the snapshot.
    pub fn partial_note(&self, action: &str) -> Option<String> {
        match self.trace(action) {
            Trace::Partial { status, attempts } => Some(format!(
                "{} stopped in `{action}` ({status} after {attempts} attempt(s)): what that step \
                 touches and differs from the snapshot was put back",
                self.describe()
            )),
            _ => None,
        }
    }

    /// "leaver run 0190… (failed)"
    pub fn describe(&self) -> String {
        format!("leaver run {} ({})", self.run.id, self.run.status)
    }

    /// The account the leaver worked on: its snapshot's, else any step's `userId`.
    pub fn user_id(&self) -> Option<UserId> {
        if let Some(s) = &self.snapshot {
            return Some(s.user_id.clone());
        }
        self.run
            .steps
            .iter()
            .filter_map(|s| s.output.get("userId").and_then(Value::as_str))
            .find(|s| !s.trim().is_empty())
            .map(UserId::new)
    }

    /// The snapshot when the leaver's `action` changed something, or a Blocked outcome saying
    /// that the restore cannot tell what to put back without one.
    pub fn snapshot_for(&self, action: &str, upn: &str) -> Result<&Snapshot, Stop> {
        self.snapshot.as_ref().ok_or_else(|| {
            Box::new(StepOutcome::blocked(format!(
                "{} ran `{action}` on {upn} but has no snapshot of the account before it, so the \
                 restore cannot tell what to put back: check the account by hand, then restart \
                 this run from its next step",
                self.describe()
            )))
        })
    }

    /// Whether the snapshot is of `user` (a new account with the same UPN is not the leaver).
    pub fn is_of(&self, user: &UserId) -> bool {
        self.snapshot.as_ref().is_none_or(|s| &s.user_id == user)
    }
}

/// The Failed outcome for a snapshot of another account than the one being restored.
pub(crate) fn other_account(l: &LeaverRun, upn: &str, user: &UserId) -> StepOutcome {
    StepOutcome::failed(format!(
        "{} recorded account {} but {upn} is now account {user}: the person's old account is \
         gone and this is another one, so nothing of the leaver is undone on it",
        l.describe(),
        l.snapshot
            .as_ref()
            .map(|s| s.user_id.to_string())
            .unwrap_or_default()
    ))
}

/// For the plans of the undo steps: the leaver to undo, or the plan of a step that finds
/// nothing to undo (no leaver on record, or undone already).
pub(crate) fn leaver_for_plan(ctx: &StepContext<'_>) -> Result<Box<LeaverRun>, super::StepPlan> {
    match find(ctx) {
        Err(o) => Err(super::StepPlan::stopped("cannot-read", *o)),
        Ok(Leaver::Found(l)) => Ok(l),
        Ok(other) => Err(super::StepPlan::doing(format!(
            "nothing: {}",
            other.nothing_to_undo().unwrap_or_default()
        ))),
    }
}
