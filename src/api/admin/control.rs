//! Operator actions on one run: `POST /api/v1/runs/{id}/restart` (optional JSON body
//! `{"fromStep", "allowProtected"}`, with its `Content-Type`), `/cancel` and `/approve`. Each answers 200 with the run
//! as a listing shows it; engine refusals map through [`AdminError`]'s `From<EngineError>`.

use super::error::AdminError;
use super::events::check_media_type;
use super::runs::run_id;
use super::state::AdminState;
use super::views::RunSummary;
use crate::engine::RunRecord;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

/// The body of a restart; every field is optional and an empty body means "all defaults".
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestartRequest {
    /// The step to restart from; default: the first step that did not succeed.
    #[serde(default)]
    pub from_step: Option<String>,
    /// Lets a restart repeat a step the workflow protects (e.g. a destructive one).
    #[serde(default)]
    pub allow_protected: bool,
}

impl RestartRequest {
    /// From the raw body: empty (or only whitespace) = defaults; otherwise a JSON object
    /// with no fields other than `fromStep` and `allowProtected` (400 `bad-body`).
    pub fn parse(body: &[u8]) -> Result<Self, AdminError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(RestartRequest::default());
        }
        let bad = |why: String| {
            AdminError::bad_request(
                "bad-body",
                format!(
                    "the restart body is not valid ({why}); send nothing or {{\"fromStep\": \"<step id>\", \"allowProtected\": false}}"
                ),
            )
        };
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
        if !value.is_object() {
            return Err(bad("it is not a JSON object".into()));
        }
        serde_json::from_value(value).map_err(|e| bad(e.to_string()))
    }
}

pub async fn restart(
    State(st): State<AdminState>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AdminError> {
    let id = run_id(id)?;
    if !body.is_empty() {
        // A body must say it is JSON (a cross-site form cannot; see `check_media_type`).
        check_media_type(&headers)?;
    }
    let req = RestartRequest::parse(&body)?;
    let run = st
        .engine
        .restart_with(id, req.from_step.as_deref(), req.allow_protected)
        .await?;
    summary(&run)
}

pub async fn cancel(
    State(st): State<AdminState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, AdminError> {
    let id = run_id(id)?;
    let run = st.engine.cancel(id).await?;
    summary(&run)
}

pub async fn approve(
    State(st): State<AdminState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, AdminError> {
    let id = run_id(id)?;
    let run = st.engine.approve(id).await?;
    summary(&run)
}

fn summary(run: &RunRecord) -> Result<Json<Value>, AdminError> {
    serde_json::to_value(RunSummary::of(run))
        .map(Json)
        .map_err(|e| AdminError::internal(format!("run {} cannot be shown: {e}", run.id)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn restart_bodies() {
        assert_eq!(
            RestartRequest::parse(b"").unwrap(),
            RestartRequest::default()
        );
        assert_eq!(
            RestartRequest::parse(b" \n").unwrap(),
            RestartRequest::default()
        );
        let r = RestartRequest::parse(br#"{"fromStep":"disable","allowProtected":true}"#).unwrap();
        assert_eq!(r.from_step.as_deref(), Some("disable"));
        assert!(r.allow_protected);
        for bad in [&b"{"[..], br#"{"from_step":"x"}"#, b"[]"] {
            assert_eq!(RestartRequest::parse(bad).unwrap_err().code, "bad-body");
        }
    }
}
