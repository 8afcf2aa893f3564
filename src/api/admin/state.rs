//! [`AdminState`]: what every admin handler reads.

use crate::engine::Engine;
use crate::health::Health;
use crate::metrics::Metrics;
use crate::signature::EventKey;

/// Cheap to clone; clones share the engine and the health register.
#[derive(Clone)]
pub struct AdminState {
    pub engine: Engine,
    /// Component states for `/readyz` (the store check is recorded here as `store`).
    pub health: Health,
    /// When set, `POST /api/v1/events` requires a valid `x-offboard-signature`.
    pub event_key: Option<EventKey>,
    /// When set, every route but `GET /healthz` requires `Authorization: Bearer <token>`.
    pub admin_token: Option<String>,
    /// What `GET /metrics` renders; the HTTP event route counts accepted events in it.
    pub metrics: Metrics,
}
