//! Placeholder: being written.

use super::{StepContext, StepOutcome};
use crate::tenant::Tenant;

pub const PARAMS: &[&str] = &[];

pub async fn run(_ctx: &StepContext<'_>, _tenant: &dyn Tenant) -> StepOutcome {
    StepOutcome::failed("user_snapshot is not written yet")
}
