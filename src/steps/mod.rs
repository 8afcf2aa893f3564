//! One file per step type. A step gets the run context and the tenant, never the store:
//! checkpointing is the engine's job. Every step is observe → act on what is missing →
//! verify, so running it again after a crash is safe.

mod action;
mod context;
mod ledger;
mod outcome;
mod param;
mod plan;
mod protection;
mod retention;

mod backup_files;
mod backups_expire;
mod country_codes;
mod deleted_purge;
mod deleted_report;
mod drive_walk;
mod groups_add;
mod leaver_trace;
mod licenses_assign;
mod licenses_remove;
mod licenses_remove_plan;
mod licenses_restore;
mod licenses_restore_plan;
mod licenses_swap;
mod licenses_swap_plan;
mod mailbox_convert;
mod mailbox_revert;
mod onedrive_backup;
mod onedrive_grant;
mod restore_seats;
mod seat_plan;
mod seats;
mod seats_reduce;
mod seats_reduce_plan;
mod sessions_revoke;
mod shared_licenses;
mod sku_ref;
mod subject;
mod usage_set;
mod user_await;
mod user_delete;
mod user_disable;
mod user_enable;
mod user_restore;
mod user_restore_plan;
mod user_snapshot;

pub use action::Action;
pub use context::{SeatSettings, StepContext, StepEnv};
pub use ledger::{Ledger, LedgerError, LedgerResult, MemoryLedger, PriorRun, PriorStep};
pub use outcome::{Emit, FactWrite, StepOutcome, StepReport};
pub use plan::{Blocker, StepPlan};
pub use protection::{Protection, check as check_protection};
pub use user_snapshot::{
    Snapshot, SnapshotLicense, SnapshotMailbox, SnapshotManager, SnapshotRole,
};
