//! Placeholder: being written.

use super::{StepContext, StepOutcome};
use crate::tenant::Tenant;

pub const PARAMS: &[&str] = &["manager", "role"];

pub async fn run(_ctx: &StepContext<'_>, _tenant: &dyn Tenant) -> StepOutcome {
    StepOutcome::failed("onedrive_grant is not written yet")
}
