//! The body-read timeout: a request body that has not fully arrived [`HttpLimits::body_read`]
//! after its headers ends in an error for whoever reads it, and the request is answered
//! `408 request-timeout` with `Connection: close` whatever the handler made of the error. A
//! handler that never reads its body is never timed.
//!
//! [`HttpLimits::body_read`]: super::HttpLimits::body_read

use super::error::AdminError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// The error a timed-out body yields.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTimedOut;

/// `inner`, failing with [`BodyTimedOut`] once `limit` has passed since it was made.
pub struct TimedBody<B> {
    inner: B,
    deadline: Instant,
    /// Made on the first read that has to wait (most bodies never do).
    sleep: Option<Pin<Box<Sleep>>>,
    fired: Arc<AtomicBool>,
}

impl<B> TimedBody<B> {
    /// The body and the flag that tells whether it timed out.
    pub fn new(inner: B, limit: Duration) -> (Self, Arc<AtomicBool>) {
        let fired = Arc::new(AtomicBool::new(false));
        let body = TimedBody {
            inner,
            deadline: Instant::now() + limit,
            sleep: None,
            fired: fired.clone(),
        };
        (body, fired)
    }
}

impl<B> Body for TimedBody<B>
where
    B: Body + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = B::Data;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        if this.fired.load(Ordering::Acquire) {
            return Poll::Ready(Some(Err(BodyTimedOut.into())));
        }
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if sleep.as_mut().poll(cx).is_ready() {
            this.fired.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(BodyTimedOut.into())));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The answer to a request whose body timed out.
pub fn timed_out(limit: Duration) -> Response {
    let mut resp = AdminError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request-timeout",
        format!(
            "the request body did not arrive within {} s of its headers; send the whole body at once (this connection is closed)",
            limit.as_secs()
        ),
    )
    .into_response();
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::body::Bytes;
    use futures_lite::future::poll_fn;

    /// A body that never sends anything.
    struct Stalled;

    impl Body for Stalled {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Pending
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_body_fails_at_the_deadline_and_says_so() {
        let (mut body, fired) = TimedBody::new(Stalled, Duration::from_secs(30));
        let started = Instant::now();
        let frame = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        let err = frame.unwrap().unwrap_err();
        assert!(err.is::<BodyTimedOut>(), "{err}");
        assert!(fired.load(Ordering::Acquire));
        assert_eq!(started.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn a_complete_body_is_not_timed() {
        let (mut body, fired) = TimedBody::new(http_body_full("hello"), Duration::from_millis(1));
        tokio::time::sleep(Duration::from_secs(5)).await;
        let frame = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        let data = frame.unwrap().unwrap().into_data().unwrap();
        assert_eq!(&data[..], b"hello");
        assert!(!fired.load(Ordering::Acquire));
    }

    fn http_body_full(s: &'static str) -> axum::body::Body {
        axum::body::Body::from(s)
    }
}
