//! What a workflow file gets wrong ([`Problem`], reported with file and line) and what goes
//! wrong when a template is evaluated against a run ([`TemplateError`]).

use std::fmt;
use std::path::PathBuf;

/// One problem found in a workflow file. `line` is 1-based; 0 means the file (or directory)
/// as a whole, e.g. when it cannot be read, and is left out of the display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl Problem {
    pub fn new(file: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        Problem {
            file: file.into(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
        }
    }
}

impl std::error::Error for Problem {}

/// A template or expression failed while evaluating it for a run. The message names the
/// workflow part (step and field, or trigger) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);
