//! Placeholder: being written.

use super::{StepContext, StepOutcome};
use crate::tenant::Tenant;

pub const PARAMS: &[&str] = &[
    "manager",
    "auto_reply",
    "hide_from_address_lists",
    "grant_manager_full_access",
];

pub async fn run(_ctx: &StepContext<'_>, _tenant: &dyn Tenant) -> StepOutcome {
    StepOutcome::failed("mailbox_convert is not written yet")
}
