//! What a step would do, without doing it: the `does` lines, the `blockers` that would stop
//! it (with a short kebab code) and `warnings`. Built by each step's `plan` from the same
//! observation code its `run` uses, against a read-only tenant.

use super::StepOutcome;
use serde::Serialize;

/// Something that would stop a step (or a run) until a person acts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocker {
    /// Short kebab string, e.g. `synced-from-ad`, `no-free-seat`.
    pub code: String,
    pub message: String,
}

impl Blocker {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Blocker {
            code: code.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StepPlan {
    pub does: Vec<String>,
    pub blockers: Vec<Blocker>,
    pub warnings: Vec<String>,
}

impl StepPlan {
    /// A plan that does one thing.
    pub fn doing(line: impl Into<String>) -> Self {
        StepPlan {
            does: vec![line.into()],
            ..StepPlan::default()
        }
    }

    pub fn does(&mut self, line: impl Into<String>) -> &mut Self {
        self.does.push(line.into());
        self
    }

    pub fn warn(&mut self, line: impl Into<String>) -> &mut Self {
        self.warnings.push(line.into());
        self
    }

    pub fn block(&mut self, code: &str, message: impl Into<String>) -> &mut Self {
        self.blockers.push(Blocker::new(code, message));
        self
    }

    /// The plan of a step whose shared observation code stopped with `outcome`: a blocked or
    /// failing step is a blocker named `code`, a retryable read failure a `cannot-read`
    /// blocker (the plan could not look), a wait or a finish is what it would do.
    pub fn stopped(code: &str, outcome: StepOutcome) -> Self {
        let mut p = StepPlan::default();
        match outcome {
            StepOutcome::Blocked { reason } | StepOutcome::Failed { reason } => {
                p.block(code, reason);
            }
            StepOutcome::Retry { reason, .. } => {
                p.block("cannot-read", reason);
            }
            StepOutcome::WaitUntil { reason, .. } => {
                p.does(reason);
            }
            StepOutcome::Done(report) => {
                p.does.extend(report.changed);
            }
        }
        p
    }
}

/// A size for people: "820 KB", "1.2 MB", "3.40 GB" (decimal units, as the R2 messages).
pub(crate) fn size_text(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.0} KB", b / 1e3)
    }
}

/// Bytes as decimal gigabytes, the unit of the R2 messages.
pub(crate) fn gigabytes(bytes: u64) -> f64 {
    bytes as f64 / 1e9
}
