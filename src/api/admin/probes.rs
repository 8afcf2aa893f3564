//! `GET /healthz` (the process answers) and `GET /readyz` (the store reads and every
//! component of the [`Health`](crate::health::Health) register is ok).

use super::state::AdminState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(st): State<AdminState>) -> (StatusCode, Json<Value>) {
    // A cheap read; recorded in the register so `since` tracks when the store changed state.
    match st.engine.next_timer_ms() {
        Ok(_) => st.health.set("store", true, "the store answers reads"),
        Err(e) => st.health.set(
            "store",
            false,
            format!("the store cannot be read: {e}; check the data directory and its disk"),
        ),
    }
    let checks = st.health.snapshot();
    let ready = checks.values().all(|c| c.ok);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(json!({ "ready": ready, "checks": checks })))
}
