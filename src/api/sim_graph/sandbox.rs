//! The sandbox's own control surface, outside Microsoft's API (`/_sim/...`, no token: it is a
//! test server). A driver that runs offboard against a sim-graph process moves the simulated
//! clock with it (the last working day, group-licensing delays and polls pass at once) and
//! reads the final state:
//!
//! * `GET /_sim/clock` → `{"now": RFC 3339}`
//! * `POST /_sim/clock` `{"advanceTo": RFC 3339}` → moves the clock forward (never back),
//!   written to the state file before it answers, → `{"now": ...}`
//! * `GET /_sim/state` → `{"fingerprint": {...}, "damage": [...]}`

use super::server::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Advance {
    advance_to: DateTime<Utc>,
}

fn now(st: &AppState) -> Response {
    use crate::clock::Clock;
    Json(json!({"now": st.tenant.clock().now()})).into_response()
}

pub async fn get_clock(State(st): State<AppState>) -> Response {
    now(&st)
}

pub async fn advance_clock(
    State(st): State<AppState>,
    body: Result<Json<Advance>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(a) = match body {
        Ok(b) => b,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": "badRequest", "message": format!("expected {{\"advanceTo\": RFC 3339}}: {e}")})),
            )
                .into_response();
        }
    };
    st.tenant.clock().advance_to(a.advance_to);
    if let Err(e) = st.tenant.save_now() {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": "stateNotSaved", "message": e.to_string()})),
        )
            .into_response();
    }
    now(&st)
}

pub async fn state(State(st): State<AppState>) -> Response {
    Json(json!({
        "fingerprint": st.tenant.fingerprint(),
        "damage": st.tenant.damage(),
    }))
    .into_response()
}
