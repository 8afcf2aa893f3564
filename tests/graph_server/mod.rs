//! A small scripted HTTP server for the Graph connector tests: every request is recorded,
//! the test's handler answers it (or, by default, the token endpoint issues `tok-N` tokens),
//! under the same prefixes as `offboard sim-graph` (`/login`, `/graph`, `/exchange`,
//! `/partner`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::Response;
use offboard::config::Config;
use offboard::tenant::graph::{GraphConfig, GraphTenant, LimiterConfig, Rate};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const TENANT: &str = "7f3c2a10-5b1e-4c8d-9a2f-0e6b4d1c9a77";
pub const CLIENT: &str = "c4a1e9d2-3f5b-4a7c-8e21-9b6d0f2a4c13";
pub const SECRET: &str = "Xy7Q~exampleSecretValue";
pub const DANA: &str = "3b9f6c1e-8a24-4d57-b0e3-6f2c91d4a8b5";

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query, as sent.
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn form(&self) -> Vec<(String, String)> {
        url_decode_form(&String::from_utf8_lossy(&self.body))
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }
    pub fn is_token(&self) -> bool {
        self.uri.contains("/oauth2/v2.0/token")
    }
}

fn url_decode_form(s: &str) -> Vec<(String, String)> {
    let decode = |x: &str| {
        let x = x.replace('+', " ");
        let bytes = x.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                out.push(u8::from_str_radix(&x[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    };
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }
    pub fn empty(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    /// A fixture file of tests/fixtures/graph: `{"status", "headers", "body"}`.
    pub fn fixture(name: &str) -> Self {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/graph")
            .join(name);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let v: Value = serde_json::from_str(&text).unwrap();
        let mut r = Reply::json(v["status"].as_u64().unwrap() as u16, v["body"].clone());
        if let Some(h) = v["headers"].as_object() {
            for (k, v) in h {
                r = r.header(k, v.as_str().unwrap());
            }
        }
        r
    }
}

type Handler = dyn Fn(&Recorded) -> Option<Reply> + Send + Sync;

#[derive(Clone)]
pub struct Server {
    pub base: String,
    pub log: Arc<Mutex<Vec<Recorded>>>,
    tokens: Arc<AtomicU64>,
    /// `expires_in` of issued tokens.
    pub token_lifetime: Arc<AtomicU64>,
}

impl Server {
    /// Starts on 127.0.0.1:0 in the current runtime.
    pub async fn start(
        handler: impl Fn(&Recorded) -> Option<Reply> + Send + Sync + 'static,
    ) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = Server {
            base,
            log: Arc::default(),
            tokens: Arc::default(),
            token_lifetime: Arc::new(AtomicU64::new(3599)),
        };
        let handler: Arc<Handler> = Arc::new(handler);
        let state = server.clone();
        let app = axum::Router::new().fallback(move |req: Request<Body>| {
            let (handler, state) = (handler.clone(), state.clone());
            async move { state.answer(req, &*handler).await }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        server
    }

    async fn answer(&self, req: Request<Body>, handler: &Handler) -> Response {
        let (parts, body) = req.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap()
            .to_vec();
        let rec = Recorded {
            method: parts.method.to_string(),
            uri: parts.uri.to_string(),
            headers: parts.headers,
            body,
        };
        self.log.lock().unwrap().push(rec.clone());
        let reply = handler(&rec).unwrap_or_else(|| {
            if rec.is_token() {
                let n = self.tokens.fetch_add(1, Ordering::SeqCst) + 1;
                Reply::json(
                    200,
                    json!({"token_type": "Bearer", "expires_in": self.token_lifetime.load(Ordering::SeqCst),
                           "ext_expires_in": 3599, "access_token": format!("tok-{n}")}),
                )
            } else {
                Reply::json(404, json!({"error": {"code": "NoRoute", "message": format!("no route for {} {}", rec.method, rec.uri)}}))
            }
        });
        let mut resp = Response::builder().status(StatusCode::from_u16(reply.status).unwrap());
        for (k, v) in &reply.headers {
            resp = resp.header(k, v);
        }
        resp.body(Body::from(reply.body)).unwrap()
    }

    /// Recorded requests other than token requests.
    pub fn calls(&self) -> Vec<Recorded> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| !r.is_token())
            .cloned()
            .collect()
    }

    pub fn token_requests(&self) -> Vec<Recorded> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.is_token())
            .cloned()
            .collect()
    }

    /// The configuration `OFFBOARD_*` variables would give, pointed at this server.
    pub fn config(&self) -> Config {
        let mut cfg = Config::default();
        let env = [
            ("OFFBOARD_TENANT", "graph".to_string()),
            ("OFFBOARD_TENANT_ID", TENANT.to_string()),
            ("OFFBOARD_CLIENT_ID", CLIENT.to_string()),
            ("OFFBOARD_CLIENT_SECRET", SECRET.to_string()),
            ("OFFBOARD_LOGIN_URL", format!("{}/login", self.base)),
            ("OFFBOARD_GRAPH_URL", format!("{}/graph", self.base)),
            ("OFFBOARD_EXCHANGE_URL", format!("{}/exchange", self.base)),
            (
                "OFFBOARD_PARTNER_CENTER_URL",
                format!("{}/partner", self.base),
            ),
        ];
        cfg.apply_env(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap();
        cfg
    }

    /// Connector settings for tests: one try (no retries) unless a test sets more, and
    /// limits far above what a test sends.
    pub fn graph_config(&self) -> GraphConfig {
        let mut g = GraphConfig::from_config(&self.config()).unwrap();
        g.http.tries = 1;
        g.http.timeout = Duration::from_secs(3600);
        g.limits = unlimited();
        g
    }

    pub fn tenant(&self) -> GraphTenant {
        GraphTenant::new(self.graph_config()).unwrap()
    }
}

pub fn unlimited() -> LimiterConfig {
    let fast = Rate {
        per_second: 1e6,
        burst: 1e6,
    };
    LimiterConfig {
        directory_read: fast,
        directory_write: fast,
        outlook: fast,
        files: fast,
        exchange: fast,
        partner_center: fast,
        ..LimiterConfig::default()
    }
}

/// The Graph error body of §2.2 with a request-id.
pub fn graph_error(status: u16, code: &str, message: &str, request_id: &str) -> Reply {
    Reply::json(
        status,
        json!({"error": {"code": code, "message": message,
               "innerError": {"date": "2026-09-01T10:00:00", "request-id": request_id, "client-request-id": request_id}}}),
    )
    .header("request-id", request_id)
}
