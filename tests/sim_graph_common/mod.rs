//! Shared helpers of the sim-graph HTTP tests: the server on an ephemeral port with the
//! example tenant, a plain HTTP client, and the example tenant's ids.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

pub use base64::Engine;
pub use base64::engine::general_purpose::URL_SAFE_NO_PAD;
pub use offboard::api::sim_graph::{SimGraphOptions, WriteQuota, serve};
pub use offboard::clock::SimClock;
pub use offboard::ids::{DriveId, GroupId, SkuId, UserId};
pub use offboard::tenant::sim::{Scenario, SimFaults, SimTenant};
pub use offboard::tenant::{AutoReply, MailboxType, Tenant};
pub use reqwest::{Method, StatusCode};
pub use serde_json::{Value, json};
pub use std::path::Path;
pub use std::time::Duration;

pub const SECRET: &str = "test-secret";
pub const DANA: &str = "3b9f6c1e-8a24-4d57-b0e3-6f2c91d4a8b5";
pub const SAM: &str = "a06d2f84-1c3b-4e9a-97d5-2b8e4f61c0d3";
pub const SID: &str = "9d1b3f5a-7c9e-4b1d-a3f5-7c9e1b3d5f49";
pub const NORA: &str = "8e0a2c4e-6a8c-4e0a-c2e4-6a8c0e2a4c7c";
pub const OTTO: &str = "0a2c4e6a-8c0e-4a2c-e4a6-8c0e2a4c6e8d";
pub const JO: &str = "4a6c8e0a-2c4e-4a6c-8e0a-2c4e6a8c0e11";
pub const FRED: &str = "7c2e4a91-3d5f-4b8a-9e1c-0f6d2b4a8c31";
pub const FINANCE: &str = "9e2b1c44-0f7d-4a6b-b1e8-7c3d5a9f2e10";
pub const POWER_BI: &str = "f8a1db68-be16-40ed-86d5-cb42ce701560";
pub const E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";
pub const CSP_SUB: &str = "d3b7c9a2-9a4b-40b2-b075-6e442909e3e7";

pub fn scenario() -> Scenario {
    SimTenant::load_scenario(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tenant.json"))
        .unwrap()
}

pub fn tenant() -> SimTenant {
    SimTenant::from_scenario(scenario(), SimClock::new()).unwrap()
}

pub struct Server {
    pub base: String,
    pub sim: SimTenant,
    pub opts: SimGraphOptions,
    pub http: reqwest::Client,
}

pub async fn start_with(sim: SimTenant, change: impl FnOnce(&mut SimGraphOptions)) -> Server {
    let mut opts = SimGraphOptions::new("contoso.com", SECRET);
    change(&mut opts);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, sim.clone(), opts.clone()));
    // reqwest is built without a default TLS crypto provider (the connector installs ring).
    offboard::tenant::graph::install_crypto_provider();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Server {
        base,
        sim,
        opts,
        http,
    }
}

pub async fn start(change: impl FnOnce(&mut SimGraphOptions)) -> Server {
    start_with(tenant(), change).await
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Server {
    pub fn token_url(&self) -> String {
        format!(
            "{}/login/{}/oauth2/v2.0/token",
            self.base, self.opts.tenant_id
        )
    }

    pub async fn token_form(&self, form: &[(&str, &str)]) -> Reply {
        let r = self
            .http
            .post(self.token_url())
            .form(form)
            .send()
            .await
            .unwrap();
        reply(r).await
    }

    /// A token for `service` (`graph`, `exchange`, `partner`) with the client secret.
    pub async fn token(&self, service: &str) -> String {
        let scope = format!("{}/{service}/.default", self.base);
        let r = self
            .token_form(&[
                ("client_id", &self.opts.client_id),
                ("scope", &scope),
                ("client_secret", SECRET),
                ("grant_type", "client_credentials"),
            ])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["access_token"].as_str().unwrap().to_string()
    }

    pub async fn call(&self, method: Method, url: &str, token: &str, body: Option<Value>) -> Reply {
        let url = if url.starts_with("http") {
            url.to_string()
        } else {
            format!("{}{url}", self.base)
        };
        let mut req = self.http.request(method, url).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        reply(req.send().await.unwrap()).await
    }

    pub async fn graph(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Reply {
        self.call(method, &format!("/graph/v1.0{path}"), token, body)
            .await
    }

    pub async fn cmdlet(&self, token: &str, name: &str, params: Value) -> Reply {
        let path = format!(
            "/exchange/adminapi/beta/{}/InvokeCommand",
            self.opts.tenant_id
        );
        let body = json!({ "CmdletInput": { "CmdletName": name, "Parameters": params } });
        self.call(Method::POST, &path, token, Some(body)).await
    }

    /// Every item of a Graph collection, following `@odata.nextLink`; also the page count.
    pub async fn all_pages(&self, path: &str, token: &str) -> (Vec<Value>, usize) {
        let mut url = format!("{}/graph/v1.0{path}", self.base);
        let (mut items, mut pages) = (Vec::new(), 0);
        loop {
            let r = self.call(Method::GET, &url, token, None).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            pages += 1;
            items.extend(r.body["value"].as_array().unwrap().iter().cloned());
            match r.body["@odata.nextLink"].as_str() {
                Some(next) => url = next.to_string(),
                None => return (items, pages),
            }
        }
    }
}

pub async fn reply(r: reqwest::Response) -> Reply {
    let status = r.status();
    let headers = r.headers().clone();
    let bytes = r.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    Reply {
        status,
        headers,
        body,
    }
}

pub fn graph_error(r: &Reply, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["error"]["code"], code, "{}", r.body);
    assert!(
        r.body["error"]["innerError"]["request-id"].is_string(),
        "{}",
        r.body
    );
    assert!(r.headers.contains_key("request-id"));
}

pub fn jwt(header: Value, claims: Value) -> String {
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    format!(
        "{}.{}.{}",
        enc(&header),
        enc(&claims),
        URL_SAFE_NO_PAD.encode(b"not-verified")
    )
}
