//! The engine's [`Ledger`]: what a step may read of the store about its own run's world.

use super::run::RunRecord;
use crate::steps::{Ledger, LedgerError, LedgerResult, PriorRun, PriorStep};
use crate::store::{Store, StoreError};
use serde_json::Value;

pub(super) struct RunLedger<'a> {
    pub store: &'a Store,
    pub run: &'a RunRecord,
}

fn err(e: StoreError) -> LedgerError {
    LedgerError(e.to_string())
}

impl Ledger for RunLedger<'_> {
    fn prior_runs(&self) -> LedgerResult<Vec<PriorRun>> {
        let history = self
            .store
            .subject_history(&self.run.family, &self.run.subject)
            .map_err(err)?;
        let mut out = Vec::new();
        for (_, id) in history.into_iter().rev() {
            if id == self.run.id {
                continue;
            }
            let Some(r) = self.store.run(&id).map_err(err)? else {
                continue;
            };
            out.push(PriorRun {
                id: r.id,
                workflow: r.workflow,
                status: r.status.to_string(),
                created_at: r.created_at,
                steps: r
                    .steps
                    .into_iter()
                    .map(|s| PriorStep {
                        id: s.id.0,
                        action: s.action,
                        status: serde_json::to_value(s.status)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                        attempts: s.attempts,
                        output: s.output,
                    })
                    .collect(),
            });
        }
        Ok(out)
    }

    fn facts(&self, prefix: &str) -> LedgerResult<Vec<(String, Value)>> {
        self.store.facts(prefix).map_err(err)
    }

    fn ahead_in_line(&self, line: &str) -> LedgerResult<usize> {
        self.store.line_ahead(line, self.run.queue_seq).map_err(err)
    }

    fn stands_in_line(&self, line: &str) -> bool {
        self.run.lines.iter().any(|l| l == line)
    }
}
