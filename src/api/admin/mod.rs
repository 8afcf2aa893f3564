//! The admin HTTP API of `offboard serve` (README "Admin HTTP API"): probes,
//! event submission, run inspection and control, the workflow list, read-only tenant views
//! (users, licenses), the quarantine, JSON errors everywhere, bearer-token auth (loopback and
//! same-origin only without a token), and its own HTTP server with timeouts and a connection
//! limit. Talks to the engine only through [`Engine`](crate::engine::Engine); never imports
//! sled or lapin.

mod auth;
mod body_timeout;
mod control;
mod error;
mod events;
mod licenses;
mod list_query;
mod listen;
mod local_only;
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
pub use listen::HttpLimits;
pub use server::{router, serve, serve_with};
pub use state::AdminState;
