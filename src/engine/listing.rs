//! Run listings in bounded memory: runs are streamed in id order (UUIDv7: creation order),
//! each filtered on its [`RunHead`] before it is decoded whole, and a page stops at its limit.

use super::core::Engine;
use super::error::EngineResult;
use super::run::{RunHead, RunRecord, RunStatus};
use crate::ids::RunId;
use chrono::{DateTime, Utc};

/// Which runs a listing wants; `None` fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    pub status: Option<RunStatus>,
    /// Compared ignoring ASCII case (UPNs).
    pub subject: Option<String>,
    pub workflow: Option<String>,
    /// Only runs created at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only runs created before this instant.
    pub until: Option<DateTime<Utc>>,
}

impl RunFilter {
    pub fn matches(&self, h: &RunHead) -> bool {
        self.status.is_none_or(|s| s == h.status)
            && self
                .subject
                .as_deref()
                .is_none_or(|s| s.eq_ignore_ascii_case(&h.subject))
            && self.workflow.as_deref().is_none_or(|w| w == h.workflow)
            && self.in_window(h.created_at)
    }

    /// Whether a run created at `created` lies within `since` / `until`.
    pub fn in_window(&self, created: DateTime<Utc>) -> bool {
        self.since.is_none_or(|s| created >= s) && self.until.is_none_or(|u| created < u)
    }
}

/// One page of a listing: at most `limit` runs, oldest first, and the id to pass as `after`
/// for the next page when there are more.
#[derive(Debug, Clone)]
pub struct RunPage {
    pub runs: Vec<RunRecord>,
    pub next: Option<RunId>,
}

impl Engine {
    /// Runs matching `filter` with an id greater than `after`, oldest first, one decoded at
    /// a time. Blocking (store reads): call it off the async threads for large stores.
    pub fn runs_matching(
        &self,
        filter: RunFilter,
        after: Option<RunId>,
    ) -> impl Iterator<Item = EngineResult<RunRecord>> + '_ {
        self.inner
            .store
            .runs_after(after)
            .filter_map(move |stored| {
                let keep = stored.and_then(|s| match filter.matches(&s.head()?) {
                    true => s.record().map(Some),
                    false => Ok(None),
                });
                keep.map_err(Into::into).transpose()
            })
    }

    /// One page of [`Engine::runs_matching`]: reads up to `limit + 1` matching runs.
    pub fn list_runs_page(
        &self,
        filter: RunFilter,
        after: Option<RunId>,
        limit: usize,
    ) -> EngineResult<RunPage> {
        let mut runs = self
            .runs_matching(filter, after)
            .take(limit.saturating_add(1))
            .collect::<EngineResult<Vec<_>>>()?;
        let more = runs.len() > limit;
        runs.truncate(limit);
        let next = if more {
            runs.last().map(|r| r.id)
        } else {
            None
        };
        Ok(RunPage { runs, next })
    }

    /// Every run matching the filters, oldest first (all in memory: the CLI's demo and
    /// tests; the admin API pages with [`Engine::list_runs_page`]).
    pub fn list_runs(
        &self,
        status: Option<RunStatus>,
        subject: Option<&str>,
        workflow: Option<&str>,
    ) -> EngineResult<Vec<RunRecord>> {
        let filter = RunFilter {
            status,
            subject: subject.map(str::to_string),
            workflow: workflow.map(str::to_string),
            ..RunFilter::default()
        };
        self.runs_matching(filter, None).collect()
    }
}
