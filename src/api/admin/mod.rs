//! The admin HTTP API of `offboard serve` (README "Admin HTTP API"): probes,
//! event submission, run inspection and control, the workflow list, read-only tenant views
//! (users, licenses), the quarantine, JSON errors everywhere, bearer-token auth. Talks to the
//! engine only through [`Engine`](crate::engine::Engine); never imports sled or lapin.

mod auth;
mod control;
mod error;
mod events;
mod licenses;
mod list_query;
mod metrics;
mod plan;
mod probes;
mod quarantine;
mod runs;
mod server;
mod state;
mod users;
mod views;
mod workflows;

pub use error::AdminError;
pub use events::MAX_EVENT_BYTES;
pub use server::{router, serve};
pub use state::AdminState;
