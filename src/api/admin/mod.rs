//! The admin HTTP API of `offboard serve` (DESIGN.md §5, README "Admin HTTP API"): probes,
//! event submission and run inspection, JSON errors everywhere, bearer-token auth. Talks to
//! the engine only through [`Engine`](crate::engine::Engine); never imports sled or lapin.

mod auth;
mod error;
mod events;
mod list_query;
mod metrics;
mod probes;
mod runs;
mod server;
mod state;
mod views;

pub use error::AdminError;
pub use events::MAX_EVENT_BYTES;
pub use server::{router, serve};
pub use state::AdminState;
