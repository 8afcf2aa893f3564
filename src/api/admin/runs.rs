//! `GET /api/v1/runs` (filtered, paged by run id, oldest first) and `GET /api/v1/runs/{id}`
//! (one run with its event and journal).

use super::error::AdminError;
use super::list_query::ListQuery;
use super::state::AdminState;
use super::views::{RunDetail, RunSummary};
use crate::ids::RunId;
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

/// A page of the listing, serialised straight from the records (no JSON tree in between).
#[derive(Serialize)]
struct Page<'a> {
    runs: Vec<RunSummary<'a>>,
    next: Option<RunId>,
}

pub async fn list(State(st): State<AdminState>, uri: Uri) -> Result<Response, AdminError> {
    let pairs = Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map_err(|e| {
            AdminError::bad_request(
                "bad-query",
                format!("the query string cannot be decoded ({e}); percent-encode its values"),
            )
        })?
        .0;
    let q = ListQuery::parse(&pairs)?;
    let engine = st.engine.clone();
    let (after, limit) = (q.after, q.limit);
    // A stream of the runs in id order from `after`, stopping at `limit + 1` matches: off
    // the async workers (a selective filter may read many run heads).
    let page = tokio::task::spawn_blocking(move || engine.list_runs_page(q.filter(), after, limit))
        .await
        .map_err(|e| AdminError::internal(format!("listing the runs failed: {e}")))??;
    let runs = page.runs.iter().map(RunSummary::of).collect();
    Ok(Json(Page {
        runs,
        next: page.next,
    })
    .into_response())
}

pub async fn show(
    State(st): State<AdminState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, AdminError> {
    let id = run_id(id)?;
    let view = st.engine.run_view(&id)?;
    let detail = RunDetail {
        run: RunSummary::of(&view.run),
        event: &view.run.event,
        journal: &view.journal,
    };
    let body = serde_json::to_value(&detail)
        .map_err(|e| AdminError::internal(format!("run {id} cannot be shown: {e}")))?;
    Ok(Json(body))
}

/// The run id of a `/api/v1/runs/{id}...` path; 400 `bad-run-id` when it is not one.
pub(super) fn run_id(id: Result<Path<String>, PathRejection>) -> Result<RunId, AdminError> {
    let text = id.map(|p| p.0).unwrap_or_default();
    RunId::parse(&text).ok_or_else(|| {
        AdminError::bad_request(
            "bad-run-id",
            format!("`{text}` is not a run id; run ids are UUIDs as listed by GET /api/v1/runs"),
        )
    })
}
