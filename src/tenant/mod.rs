//! The tenant: what offboard can observe and change in Microsoft 365, as a trait with domain
//! types. `graph/` implements it over HTTP (reqwest lives only there); `sim/` in memory.

mod api;
mod error;
pub mod graph;
mod methods;
mod query;
mod read_only;
mod retrying;
pub mod sim;
mod subscriptions;
mod types;

pub use api::Tenant;
pub use error::{ErrorKind, TenantError, TenantResult};
pub use query::{QueryError, UserCondition, UserField, UserQuery};
pub use read_only::ReadOnly;
pub use retrying::{CallRetry, Retrying};
pub use subscriptions::*;
pub use types::*;
