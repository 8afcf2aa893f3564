//! `POST /api/v1/plan`: a dry run of a CloudEvent. The body is decoded like `POST
//! /api/v1/events` (415, 413, 400 with the same codes) but needs no signature: a plan changes
//! nothing, neither in offboard's store nor in the tenant. 200 with the plan; 422 when the
//! engine refuses the event as admission would.

use super::error::AdminError;
use super::events::{check_media_type, decode, read_limited, refused};
use super::state::AdminState;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

pub async fn plan(
    State(st): State<AdminState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AdminError> {
    check_media_type(&headers)?;
    let bytes = read_limited(&headers, body).await?;
    let event = decode(&bytes)?;
    let plan = st.engine.plan(&event).await.map_err(refused)?;
    Ok(Json(plan).into_response())
}
