//! The admin API's HTTP/1 server: its own accept loop on hyper, for the limits `axum::serve`
//! does not have. Headers must arrive within [`HttpLimits::header_read`] (the same timer closes
//! an idle keep-alive connection), a body within [`HttpLimits::body_read`] (408, connection
//! closed), and at most [`HttpLimits::max_connections`] connections are open; when they are
//! all taken, the oldest one that is not inside a request makes room. Stopping lets requests
//! in flight finish. Used by `server.rs` only; knows nothing of the routes.

use super::body_timeout::{TimedBody, timed_out};
use axum::Router;
use axum::body::Body;
use axum::http::Request;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt;
use tracing::{debug, warn};

/// The limits of the admin API's HTTP server (README "Admin HTTP API").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// From a connection's start, or the end of its previous response, to the end of the
    /// request headers; a connection that takes longer is closed without an answer. This is
    /// also how long an idle keep-alive connection stays open.
    pub header_read: Duration,
    /// From the end of the headers to the end of the body; a slower body gets `408` and the
    /// connection is closed.
    pub body_read: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_read: Duration::from_secs(10),
            body_read: Duration::from_secs(30),
            max_connections: crate::config::DEFAULT_HTTP_MAX_CONNECTIONS,
        }
    }
}

/// hyper's read buffer per connection, which bounds the request line and headers (the
/// default is about 400 KB; 512 connections × 64 KiB = 32 MiB at most).
const READ_BUFFER: usize = 64 * 1024;
/// How long the accept loop waits for a closed connection's slot before it picks another.
const EVICT_WAIT: Duration = Duration::from_millis(100);
/// The least time between two "connection limit reached" warnings.
const SATURATION_LOG_EVERY: Duration = Duration::from_secs(60);

/// Serves `app` on `listener` until `shutdown` completes; then accepts nothing more, closes
/// connections that are between requests and lets requests in flight finish.
pub async fn run(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Waiting for every slot at the end takes a u32 count.
    let max = limits
        .max_connections
        .clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
    let open = Arc::new(Connections::new(max));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .max_buf_size(READ_BUFFER);
    let mut last_warning: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) if per_connection(&e) => continue,
                Err(e) => {
                    // Out of file descriptors or similar: wait instead of spinning.
                    warn!(error = %e, "The admin API cannot accept connections; retrying in 1 s.");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        () = &mut shutdown => break,
                    }
                }
            },
            () = &mut shutdown => break,
        };
        let permit = match open.slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if last_warning.is_none_or(|t| t.elapsed() >= SATURATION_LOG_EVERY) {
                    last_warning = Some(Instant::now());
                    warn!(
                        limit = max,
                        "The admin API has reached its connection limit; the oldest idle connections are closed to make room."
                    );
                }
                tokio::select! {
                    p = open.make_room() => match p {
                        Some(p) => p,
                        None => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(
            stream,
            permit,
            open.clone(),
            http.clone(),
            app.clone(),
            limits.body_read,
            stop_rx.clone(),
        ));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a slot until it ends: all slots back = all connections done.
    let _ = open
        .slots
        .acquire_many(u32::try_from(max).unwrap_or(u32::MAX))
        .await;
    Ok(())
}

/// Accept errors that concern one connection only (the next accept may well succeed).
fn per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

async fn serve_connection(
    stream: TcpStream,
    permit: OwnedSemaphorePermit,
    open: Arc<Connections>,
    http: http1::Builder,
    app: Router,
    body_read: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let (ctl, _registration) = open.register(permit);
    let service = {
        let ctl = ctl.clone();
        service_fn(move |req: Request<Incoming>| {
            let busy = Busy::start(ctl.clone());
            let app = app.clone();
            async move {
                let (parts, body) = req.into_parts();
                let (body, fired) = TimedBody::new(body, body_read);
                let req = Request::from_parts(parts, Body::new(body));
                let resp = match app.oneshot(req).await {
                    Ok(resp) => resp,
                    Err(never) => match never {},
                };
                let resp = if fired.load(Ordering::Acquire) {
                    timed_out(body_read)
                } else {
                    resp
                };
                Ok::<_, Infallible>(resp.map(|inner| BusyBody { inner, _busy: busy }))
            }
        })
    };
    let conn = http.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            ended = conn.as_mut() => {
                if let Err(e) = ended {
                    debug!(error = %e, "Admin API connection ended with an error.");
                }
                return;
            }
            () = ctl.evict.notified() => {
                if ctl.is_idle() {
                    debug!("Closing an idle admin API connection to make room for a new one.");
                    return;
                }
                // A request started after it was picked: it finishes; pick again later.
                ctl.evicting.store(false, Ordering::Release);
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_err() || ctl.is_idle() {
                    return;
                }
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// The open connections, oldest first, and the slots that bound them.
struct Connections {
    slots: Arc<Semaphore>,
    next_id: AtomicU64,
    by_age: Mutex<BTreeMap<u64, Arc<ConnCtl>>>,
}

/// What the accept loop knows of one connection.
#[derive(Default)]
struct ConnCtl {
    /// Requests being answered (a request counts from its complete headers until its
    /// response body has been handed to the connection).
    busy: AtomicUsize,
    /// Set when picked to make room; cleared again if a request got there first.
    evicting: AtomicBool,
    evict: Notify,
}

impl ConnCtl {
    fn is_idle(&self) -> bool {
        self.busy.load(Ordering::Acquire) == 0
    }
}

/// Removes a connection from [`Connections::by_age`] when it ends; its slot is freed with it.
struct Registration {
    open: Arc<Connections>,
    id: u64,
    _slot: OwnedSemaphorePermit,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.open.lock().remove(&self.id);
    }
}

impl Connections {
    fn new(max: usize) -> Self {
        Connections {
            slots: Arc::new(Semaphore::new(max)),
            next_id: AtomicU64::new(0),
            by_age: Mutex::new(BTreeMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<ConnCtl>>> {
        // The map stays consistent whatever panicked while holding it (insert/remove only).
        self.by_age.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn register(self: &Arc<Self>, slot: OwnedSemaphorePermit) -> (Arc<ConnCtl>, Registration) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let ctl = Arc::new(ConnCtl::default());
        self.lock().insert(id, ctl.clone());
        let registration = Registration {
            open: self.clone(),
            id,
            _slot: slot,
        };
        (ctl, registration)
    }

    /// A slot, closing the oldest connection that is between requests (idle keep-alive, or
    /// still sending its headers) to free one; waits while every connection is inside a
    /// request. `None` only if the semaphore was closed, which nothing does.
    async fn make_room(&self) -> Option<OwnedSemaphorePermit> {
        loop {
            if let Ok(p) = self.slots.clone().try_acquire_owned() {
                return Some(p);
            }
            self.evict_oldest_idle();
            match tokio::time::timeout(EVICT_WAIT, self.slots.clone().acquire_owned()).await {
                Ok(Ok(p)) => return Some(p),
                Ok(Err(_closed)) => return None,
                Err(_elapsed) => {}
            }
        }
    }

    fn evict_oldest_idle(&self) {
        let open = self.lock();
        let oldest_idle = open
            .values()
            .find(|c| c.is_idle() && !c.evicting.load(Ordering::Acquire));
        if let Some(c) = oldest_idle {
            c.evicting.store(true, Ordering::Release);
            c.evict.notify_one();
        }
    }
}

/// Counts one request of a connection as in progress while it lives.
struct Busy(Arc<ConnCtl>);

impl Busy {
    fn start(ctl: Arc<ConnCtl>) -> Self {
        ctl.busy.fetch_add(1, Ordering::AcqRel);
        Busy(ctl)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted as in progress until hyper has taken all
/// of it (and drops it), so a connection is never closed to make room in the middle of an
/// answer.
struct BusyBody {
    inner: Body,
    _busy: Busy,
}

impl hyper::body::Body for BusyBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
