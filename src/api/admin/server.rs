//! The router (routes, JSON fallbacks, the token check around everything), [`serve`] and
//! [`serve_with`].

use super::listen::{self, HttpLimits};
use super::state::AdminState;
use super::{
    auth, control, error, events, licenses, metrics, plan, probes, quarantine, runs, users,
    workflows,
};
use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use std::future::Future;
use tokio::net::TcpListener;
use tracing::info;

pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/healthz", get(probes::healthz))
        .route("/readyz", get(probes::readyz))
        .route("/metrics", get(metrics::scrape))
        .route("/api/v1/events", post(events::submit))
        .route("/api/v1/plan", post(plan::plan))
        .route("/api/v1/runs", get(runs::list))
        .route("/api/v1/runs/{id}", get(runs::show))
        .route("/api/v1/quarantine", get(quarantine::show))
        .route("/api/v1/quarantine/approve", post(quarantine::approve))
        .route("/api/v1/quarantine/cancel", post(quarantine::cancel))
        .route("/api/v1/users", get(users::list))
        .route("/api/v1/licenses", get(licenses::list))
        .route("/api/v1/runs/{id}/restart", post(control::restart))
        .route("/api/v1/runs/{id}/cancel", post(control::cancel))
        .route("/api/v1/runs/{id}/approve", post(control::approve))
        .route("/api/v1/workflows", get(workflows::list))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(from_fn_with_state(state.clone(), auth::require_token))
        .with_state(state)
}

/// Serves the admin API on `listener` with the default [`HttpLimits`] until `shutdown`
/// completes, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    state: AdminState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, HttpLimits::default(), shutdown).await
}

/// [`serve`] with other limits (`offboard serve` sets the connection limit from the
/// configuration; tests shorten the timeouts).
pub async fn serve_with(
    listener: TcpListener,
    state: AdminState,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, auth = state.admin_token.is_some(), signed = state.event_key.is_some(), max_connections = limits.max_connections, "Admin API listening.");
    }
    listen::run(listener, router(state), limits, shutdown).await
}
