//! `GET /metrics`: the Prometheus scrape (text format 0.0.4). Store figures (runs by status,
//! outbox backlog, pending timers) are read off the async threads and at most every
//! [`STORE_MAX_AGE`]; everything else is what the service recorded.

use super::error::AdminError;
use super::state::AdminState;
use crate::metrics::CONTENT_TYPE;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::time::Duration;

/// Scrapes within this long of the last store read reuse its figures.
pub const STORE_MAX_AGE: Duration = Duration::from_secs(5);

pub async fn scrape(State(st): State<AdminState>) -> Result<Response, AdminError> {
    let (engine, metrics) = (st.engine.clone(), st.metrics.clone());
    let text = tokio::task::spawn_blocking(move || {
        metrics.refresh_store(STORE_MAX_AGE, || engine.store_figures())?;
        Ok::<_, AdminError>(metrics.render())
    })
    .await
    .map_err(|e| AdminError::internal(format!("reading the metrics failed: {e}")))??;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response())
}
