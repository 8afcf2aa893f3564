//! `POST /api/v1/events`: a structured-mode CloudEvent in, runs out. Order of checks: media
//! type (415, also when missing), size (413), signature over the exact bytes before any parsing (403), event
//! decoding (400, the codes of [`EventError::code`](crate::event::EventError::code)), then
//! admission (202 new, 200 duplicate, 422 refused by the engine, 503 store trouble).

use super::error::AdminError;
use super::state::AdminState;
use crate::engine::EngineError;
use crate::event::CloudEvent;
pub use crate::event::MAX_EVENT_BYTES;
use crate::signature::{SIGNATURE_HEADER, SignatureError};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_lite::StreamExt;

const MEDIA_TYPES: [&str; 2] = ["application/cloudevents+json", "application/json"];

pub async fn submit(
    State(st): State<AdminState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AdminError> {
    check_media_type(&headers)?;
    let bytes = read_limited(&headers, body).await?;
    if let Some(key) = &st.event_key {
        let verified = match headers.get(SIGNATURE_HEADER).map(|v| v.to_str()) {
            None => key.verify(&bytes, None),
            Some(Ok(v)) => key.verify(&bytes, Some(v)),
            Some(Err(_)) => Err(SignatureError::Malformed("it is not ASCII".into())),
        };
        verified.map_err(|e| AdminError::new(StatusCode::FORBIDDEN, e.code(), e.to_string()))?;
    }
    let event = decode(&bytes)?;
    let submission = st.engine.submit(event).await.map_err(refused)?;
    st.metrics.event_consumed("http", submission.duplicate);
    let status = if submission.duplicate {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(submission)).into_response())
}

/// A refused event is 422 whatever the engine's reason (e.g. `ops.run.cancel` of an unknown
/// run): the request itself was well-formed and the route exists.
pub(super) fn refused(e: EngineError) -> AdminError {
    if e.is_client_error() {
        AdminError::new(StatusCode::UNPROCESSABLE_ENTITY, "rejected", e.to_string())
    } else {
        AdminError::from(e)
    }
}

/// The CloudEvent in `bytes`; otherwise a 400 (malformed) or 422 (a subject that is no person,
/// a value over its limit) with the event error's code.
pub(super) fn decode(bytes: &[u8]) -> Result<CloudEvent, AdminError> {
    CloudEvent::from_json(bytes).map_err(|e| {
        let status = if e.is_unprocessable() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::BAD_REQUEST
        };
        AdminError::new(
            status,
            e.code(),
            format!("{e}; send a CloudEvents 1.0 event in structured JSON (README \"Events\")"),
        )
    })
}

/// `application/cloudevents+json` or `application/json` (parameters such as `charset` are
/// ignored). A missing `Content-Type` is refused too: a web page can send a body without one
/// to another site without the browser asking first, but not one labelled as JSON.
pub(super) fn check_media_type(headers: &HeaderMap) -> Result<(), AdminError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(AdminError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            format!(
                "the request has no Content-Type; send the body as `{}` (or `{}`)",
                MEDIA_TYPES[0], MEDIA_TYPES[1]
            ),
        ));
    };
    let given = value.to_str().unwrap_or("");
    let essence = given.split(';').next().unwrap_or("").trim();
    if MEDIA_TYPES.iter().any(|m| essence.eq_ignore_ascii_case(m)) {
        return Ok(());
    }
    Err(AdminError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
        format!(
            "Content-Type `{given}` is not accepted; send the body as `{}` (or `{}`)",
            MEDIA_TYPES[0], MEDIA_TYPES[1]
        ),
    ))
}

fn too_large() -> AdminError {
    AdminError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too-large",
        format!(
            "the event body is larger than {MAX_EVENT_BYTES} bytes (64 KiB); keep large data out of the event (README \"Events\", limits)"
        ),
    )
}

/// The whole body, refusing it as soon as it passes [`MAX_EVENT_BYTES`].
pub(super) async fn read_limited(headers: &HeaderMap, body: Body) -> Result<Vec<u8>, AdminError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_EVENT_BYTES as u64) {
        return Err(too_large());
    }
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            AdminError::bad_request(
                "unreadable-body",
                format!("the request body could not be read ({e}); send it again"),
            )
        })?;
        if buf.len() + chunk.len() > MAX_EVENT_BYTES {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn media_types_ignore_case_and_parameters() {
        let mut h = HeaderMap::new();
        let e = check_media_type(&h).unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (415, "unsupported-media-type"));
        for ok in [
            "application/cloudevents+json; charset=utf-8",
            "Application/JSON",
        ] {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ok));
            assert!(check_media_type(&h).is_ok(), "{ok}");
        }
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        let e = check_media_type(&h).unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (415, "unsupported-media-type"));
    }
}
