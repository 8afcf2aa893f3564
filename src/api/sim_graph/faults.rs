//! Latency, injected faults and the directory write quota, per HTTP request (and per
//! `$batch` item), with the simulated tenant's [`SimFaults`](crate::tenant::sim::SimFaults)
//! semantics: one seeded draw per request decides throttled (429 + `Retry-After`),
//! transient (alternately 503 with `Retry-After` and 504) or applied-then-lost (the handler
//! runs, then alternately the connection is dropped or 504 is returned; inside a batch
//! always 504). The write quota (§8.2) is a sliding window per app: over it, 429 with the
//! time until the window frees as `Retry-After` (decimal seconds).

use super::auth::App;
use super::conn::Kill;
use super::errors::{RequestId, Service, retry_after_value, throttled, transient};
use super::options::WriteQuota;
use super::server::AppState;
use crate::tenant::sim::Fault;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Marks a request that is an item of a `$batch` (no latency of its own, no connection).
#[derive(Debug, Clone, Copy)]
pub struct InnerBatch;

/// Writes per app inside the current window.
#[derive(Debug, Default)]
pub struct Quota {
    apps: HashMap<String, VecDeque<Instant>>,
}

impl Quota {
    /// Counts a write of `app` at `now`, or says how long until the window has room.
    pub fn admit(&mut self, app: &str, q: WriteQuota, now: Instant) -> Result<(), Duration> {
        let log = self.apps.entry(app.to_string()).or_default();
        while log
            .front()
            .is_some_and(|t| now.duration_since(*t) >= q.window)
        {
            log.pop_front();
        }
        if log.len() >= q.limit as usize {
            let oldest = log.front().copied().unwrap_or(now);
            return Err((oldest + q.window)
                .saturating_duration_since(now)
                .max(Duration::from_millis(1)));
        }
        log.push_back(now);
        Ok(())
    }
}

pub fn service_of(path: &str) -> Service {
    if path.starts_with("/exchange/") {
        Service::Exchange
    } else if path.starts_with("/partner/") {
        Service::Partner
    } else {
        Service::Graph
    }
}

/// A write to the directory (users, groups, directory objects, licenses): what the §8.2
/// write quota counts. Mailbox settings (Outlook) and OneDrive (Files) are other services.
pub fn is_directory_write(method: &Method, path: &str) -> bool {
    let write = [Method::POST, Method::PATCH, Method::PUT, Method::DELETE].contains(method);
    let Some(rest) = path.strip_prefix("/graph/v1.0/") else {
        return false;
    };
    let first = rest.split('/').next().unwrap_or_default();
    write
        && ["users", "groups", "directory"].contains(&first)
        && !rest.contains("/mailboxSettings")
        && !rest.contains("/drive")
}

pub async fn faults(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let service = service_of(&path);
    let rid = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let inner = req.extensions().get::<InnerBatch>().is_some();
    let latency = Duration::from_millis(st.opts.faults.latency_ms);
    if !inner && !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if inner {
        st.stats.batch_items.fetch_add(1, Ordering::Relaxed);
    } else {
        st.stats.requests.fetch_add(1, Ordering::Relaxed);
    }
    let fault = st.faults.lock().unwrap_or_else(|e| e.into_inner()).draw();
    let retry_after = Duration::from_millis(st.opts.faults.retry_after_ms);
    match fault {
        Fault::Throttle => {
            st.stats.throttled.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(path, "sim-graph throttled a request (injected).");
            return throttled(service, Some(retry_after), &rid).into_response();
        }
        Fault::Transient => {
            st.stats.transient.fetch_add(1, Ordering::Relaxed);
            let gateway = st.transient_seq.fetch_add(1, Ordering::Relaxed) % 2 == 1;
            let wait = (!gateway).then_some(retry_after);
            return transient(service, gateway, wait, &rid).into_response();
        }
        Fault::None | Fault::LostResponse => {}
    }
    if let Some(q) = st.opts.write_quota
        && is_directory_write(req.method(), &path)
    {
        let app = req
            .extensions()
            .get::<App>()
            .map(|a| a.0.clone())
            .unwrap_or_default();
        let admitted =
            st.quota
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .admit(&app, q, Instant::now());
        if let Err(wait) = admitted {
            st.stats.quota_throttled.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(path, wait = %retry_after_value(wait), "sim-graph refused a write over the quota.");
            return throttled(service, Some(wait), &rid)
                .with_header(
                    "x-ms-throttle-scope",
                    format!("Tenant_Application/Write/{app}/{}", st.opts.tenant_id),
                )
                .with_header("x-ms-throttle-information", "WriteLimitExceeded")
                .into_response();
        }
    }
    let kill = req
        .extensions()
        .get::<ConnectInfo<Kill>>()
        .map(|c| c.0.clone());
    let resp = next.run(req).await;
    if fault == Fault::LostResponse
        && (resp.status().is_success() || resp.status().is_redirection())
    {
        st.stats.lost.fetch_add(1, Ordering::Relaxed);
        let drop_connection = st.lost_seq.fetch_add(1, Ordering::Relaxed) % 2 == 0;
        if drop_connection
            && !inner
            && let Some(kill) = kill
        {
            tracing::debug!(
                path,
                "sim-graph applied a request and dropped its connection."
            );
            kill.kill();
            return resp;
        }
        tracing::debug!(path, "sim-graph applied a request and answered 504.");
        return transient(service, true, None, &rid).into_response();
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_is_a_sliding_window_per_app() {
        let q = WriteQuota {
            limit: 2,
            window: Duration::from_secs(10),
        };
        let t0 = Instant::now();
        let mut quota = Quota::default();
        assert!(quota.admit("a", q, t0).is_ok());
        assert!(quota.admit("a", q, t0 + Duration::from_secs(4)).is_ok());
        let wait = quota
            .admit("a", q, t0 + Duration::from_secs(5))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(5));
        assert!(quota.admit("b", q, t0 + Duration::from_secs(5)).is_ok());
        assert!(quota.admit("a", q, t0 + Duration::from_secs(10)).is_ok());
    }

    #[test]
    fn only_directory_writes_count() {
        assert!(is_directory_write(&Method::PATCH, "/graph/v1.0/users/x"));
        assert!(is_directory_write(
            &Method::POST,
            "/graph/v1.0/groups/g/members/$ref"
        ));
        assert!(is_directory_write(
            &Method::POST,
            "/graph/v1.0/directory/deletedItems/x/restore"
        ));
        assert!(!is_directory_write(&Method::GET, "/graph/v1.0/users/x"));
        assert!(!is_directory_write(
            &Method::PATCH,
            "/graph/v1.0/users/x/mailboxSettings"
        ));
        assert!(!is_directory_write(
            &Method::POST,
            "/graph/v1.0/drives/d/items/i/invite"
        ));
        assert!(!is_directory_write(&Method::POST, "/graph/v1.0/$batch"));
    }
}
