//! The shared state and the router: each service's routes under its prefix, wrapped in
//! request stamping → bearer check for that audience → faults and quota; `serve` runs it on
//! a listener until shutdown.

use super::conn::{Kill, KillableListener};
use super::errors::ApiError;
use super::faults::Quota;
use super::options::SimGraphOptions;
use super::token::TokenStore;
use super::{
    auth, batch, directory, drive, exchange, faults, groups, licenses, mail, partner, sandbox,
    token, users,
};
use crate::tenant::sim::{FaultState, SimTenant};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::net::TcpListener;

/// Counters of what the server did (served at `GET /_sim/stats`).
#[derive(Debug, Default)]
pub struct Stats {
    /// HTTP requests (a `$batch` is one).
    pub requests: AtomicU64,
    /// Requests inside `$batch` requests.
    pub batch_items: AtomicU64,
    pub throttled: AtomicU64,
    pub quota_throttled: AtomicU64,
    pub transient: AtomicU64,
    pub lost: AtomicU64,
}

#[derive(Debug)]
pub struct Shared {
    pub tenant: SimTenant,
    pub opts: SimGraphOptions,
    pub tokens: TokenStore,
    pub faults: Mutex<FaultState>,
    pub quota: Mutex<Quota>,
    pub downloads: Mutex<drive::Downloads>,
    pub stats: Stats,
    pub lost_seq: AtomicU64,
    pub transient_seq: AtomicU64,
    /// The Graph router, for `$batch` items (set once the router is built).
    pub graph: OnceLock<Router>,
}

/// Cheap to clone; clones share everything.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The Graph v1.0 path `p` (`/users/{id}` → `/graph/v1.0/users/{id}`).
pub fn g(p: &str) -> String {
    format!("/graph/v1.0{p}")
}

fn graph_routes() -> Router<AppState> {
    Router::new()
        .merge(users::routes())
        .merge(licenses::routes())
        .merge(groups::routes())
        .merge(directory::routes())
        .merge(mail::routes())
        .merge(drive::routes())
}

/// The whole server for `tenant`.
pub fn router(tenant: SimTenant, opts: SimGraphOptions) -> Router {
    let st = AppState(Arc::new(Shared {
        tenant,
        faults: Mutex::new(FaultState::new(opts.faults.clone())),
        opts,
        tokens: TokenStore::default(),
        quota: Mutex::new(Quota::default()),
        downloads: Mutex::new(drive::Downloads::default()),
        stats: Stats::default(),
        lost_seq: AtomicU64::new(0),
        transient_seq: AtomicU64::new(0),
        graph: OnceLock::new(),
    }));
    let graph = graph_routes()
        .route_layer(from_fn_with_state(st.clone(), faults::faults))
        .route_layer(from_fn_with_state(st.clone(), auth::graph))
        .route_layer(from_fn(auth::stamp))
        .with_state(st.clone());
    // `$batch` items run through the same stack as direct calls.
    let _ = st.graph.set(graph.clone());
    let batch = Router::new()
        .route(&g("/$batch"), post(batch::batch))
        .route_layer(from_fn_with_state(st.clone(), auth::graph))
        .route_layer(from_fn(auth::stamp));
    let exchange = Router::new()
        .route(
            "/exchange/adminapi/beta/{tenant}/InvokeCommand",
            post(exchange::invoke),
        )
        .route_layer(from_fn_with_state(st.clone(), faults::faults))
        .route_layer(from_fn_with_state(st.clone(), auth::exchange))
        .route_layer(from_fn(auth::stamp));
    let partner = Router::new()
        .route(
            "/partner/v1/customers/{customer}/subscriptions/{id}",
            get(partner::get).patch(partner::patch),
        )
        .route_layer(from_fn_with_state(st.clone(), faults::faults))
        .route_layer(from_fn_with_state(st.clone(), auth::partner))
        .route_layer(from_fn(auth::stamp));
    Router::new()
        .route("/login/{tenant}/oauth2/v2.0/token", post(token::token))
        .route("/download/{key}", get(drive::download))
        .route("/_sim/stats", get(stats))
        .route(
            "/_sim/clock",
            get(sandbox::get_clock).post(sandbox::advance_clock),
        )
        .route("/_sim/state", get(sandbox::state))
        .merge(batch)
        .merge(exchange)
        .merge(partner)
        .with_state(st)
        .merge(graph)
        .fallback(fallback)
}

async fn stats(State(st): State<AppState>) -> Response {
    let s = &st.stats;
    axum::Json(json!({
        "requests": s.requests.load(Ordering::Relaxed),
        "batchItems": s.batch_items.load(Ordering::Relaxed),
        "throttled": s.throttled.load(Ordering::Relaxed),
        "quotaThrottled": s.quota_throttled.load(Ordering::Relaxed),
        "transient": s.transient.load(Ordering::Relaxed),
        "lostResponses": s.lost.load(Ordering::Relaxed),
    }))
    .into_response()
}

/// Unknown paths: Graph answers 400 "Resource not found for the segment".
async fn fallback(uri: Uri) -> Response {
    let segment = uri
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let rid = uuid::Uuid::now_v7().to_string();
    let mut resp = ApiError::graph(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        &format!("Resource not found for the segment '{segment}'."),
        &rid,
    )
    .into_response();
    if let Ok(v) = rid.parse() {
        resp.headers_mut().insert("request-id", v);
    }
    resp
}

/// Serves `tenant` on `listener` until the process ends.
pub async fn serve(
    listener: TcpListener,
    tenant: SimTenant,
    options: SimGraphOptions,
) -> std::io::Result<()> {
    serve_with_shutdown(listener, tenant, options, std::future::pending()).await
}

/// Serves `tenant` on `listener` until `shutdown` completes.
pub async fn serve_with_shutdown(
    listener: TcpListener,
    tenant: SimTenant,
    options: SimGraphOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(tenant, options);
    axum::serve(
        KillableListener(listener),
        app.into_make_service_with_connect_info::<Kill>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
