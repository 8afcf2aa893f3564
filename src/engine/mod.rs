//! Runs, journal, executor, retries, timers, scheduler. Never imports lapin, reqwest, sled or
//! axum: persistence goes through `crate::store`, the tenant through `crate::tenant::Tenant`.

mod admit;
mod control;
mod core;
mod error;
mod executor;
mod finish;
mod guard;
mod ledger;
mod listing;
mod outbox;
mod outcomes;
mod plan;
mod quarantine;
mod registry;
pub mod retention;
mod run;
mod scheduler;
mod schedules;

pub use self::core::{Engine, EngineConfig, RunView, Submission};
pub use admit::Admitted;
pub use error::{EngineError, EngineResult};
pub use listing::{RunFilter, RunPage};
pub use outbox::{JsonlSink, MemorySink, OutcomeSink, drain_outbox};
pub use plan::{Plan, PlanEvent, PlanSubject, RunPlan, StepPlanView};
pub use quarantine::{QuarantinePolicy, QuarantineView, Tripped};
pub use registry::Registry;
pub use run::{
    AttemptRecord, EventRecord, Outcome, RunGuard, RunHead, RunRecord, RunStatus, StepState,
    StepStatus, WaitReason,
};
