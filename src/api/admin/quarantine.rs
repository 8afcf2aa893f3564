//! The mass-offboarding quarantine (README "Guardrails"): `GET /api/v1/quarantine` shows it,
//! `POST /api/v1/quarantine/approve` releases every held leaver run, `POST
//! /api/v1/quarantine/cancel` cancels every leaver run it covers. Both clear it.

use super::error::AdminError;
use super::state::AdminState;
use crate::engine::QuarantineView;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

pub async fn show(State(st): State<AdminState>) -> Result<Json<QuarantineView>, AdminError> {
    let engine = st.engine.clone();
    // A scan of the runs for the held ones: off the async workers.
    let view = tokio::task::spawn_blocking(move || engine.quarantine())
        .await
        .map_err(|e| AdminError::internal(format!("reading the quarantine failed: {e}")))??;
    Ok(Json(view))
}

pub async fn approve(State(st): State<AdminState>) -> Result<Json<Value>, AdminError> {
    let runs = st.engine.release_quarantine().await?;
    Ok(Json(json!({ "runs": runs })))
}

pub async fn cancel(State(st): State<AdminState>) -> Result<Json<Value>, AdminError> {
    let runs = st.engine.cancel_quarantined().await?;
    Ok(Json(json!({ "runs": runs })))
}
