//! Placeholder: being written.

use super::{StepContext, StepOutcome};
use crate::tenant::Tenant;

pub const PARAMS: &[&str] = &["onedrive"];

pub async fn run(_ctx: &StepContext<'_>, _tenant: &dyn Tenant) -> StepOutcome {
    StepOutcome::failed("user_delete is not written yet")
}
