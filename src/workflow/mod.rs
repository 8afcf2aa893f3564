//! Workflow definitions: the TOML format, loading, templates and validation (including the
//! static ordering hazards of docs/rules.md). No I/O beyond reading workflow files.

mod definition;
mod hazards;
mod load;
mod parse;
mod problem;
mod reader;
mod retry;
mod schedule;
mod steps;
mod template;

pub use definition::{StepDef, StepKind, Trigger, Workflow};
pub use load::load_dir;
pub use parse::parse;
pub use problem::{Problem, TemplateError};
pub use retry::RetryPolicy;
pub use schedule::{DEFAULT_CRON, Schedule};
pub use template::template_context;
