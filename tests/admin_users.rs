//! `GET /api/v1/users` and `GET /api/v1/licenses` of the admin API, served on port 0 in
//! front of a `TestEnv` engine with the example tenant: filters, refusals, the token, tenant
//! failures, and seat numbers that match the tenant's SKUs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestEnv, example_tenant, repo_workflows};
use offboard::api::admin::{AdminState, serve};
use offboard::health::Health;
use offboard::tenant::sim::SimFaults;
use offboard::tenant::{Tenant, UserQuery};
use reqwest::{Client, StatusCode};
use serde_json::Value;

const TOKEN: &str = "admin-users-secret";

struct Api {
    env: TestEnv,
    base: String,
    client: Client,
}

impl Api {
    async fn start() -> Api {
        let env = TestEnv::start(repo_workflows(), example_tenant()).await;
        let state = AdminState {
            metrics: offboard::metrics::Metrics::new(),
            engine: env.engine.clone(),
            health: Health::new(),
            event_key: None,
            admin_token: Some(TOKEN.to_string()),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(serve(listener, state, std::future::pending()));
        offboard::tenant::graph::install_crypto_provider();
        Api {
            env,
            base,
            client: Client::new(),
        }
    }

    async fn get_as(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut b = self.client.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            b = b.bearer_auth(t);
        }
        let resp = b.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{status}: body is not JSON ({e}): {text}"));
        (status, body)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.get_as(path, Some(TOKEN)).await
    }
}

fn upns(body: &Value) -> Vec<&str> {
    body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userPrincipalName"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn users_are_selected_by_every_condition_and_sorted_by_upn() {
    let api = Api::start().await;
    let (status, body) = api
        .get("/api/v1/users?department=Sales&usageLocation=US")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        upns(&body),
        [
            "dana.lee@contoso.com",
            "dylan.park@contoso.com",
            "sam.ortiz@contoso.com"
        ]
    );
    let dana = &body["users"][0];
    let keys: Vec<&String> = dana.as_object().unwrap().keys().collect();
    let mut expected = [
        "id",
        "userPrincipalName",
        "displayName",
        "accountEnabled",
        "usageLocation",
        "department",
        "jobTitle",
        "companyName",
        "officeLocation",
        "city",
        "country",
        "onPremisesSyncEnabled",
    ];
    expected.sort();
    let mut keys: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(keys, expected);
    let sim_dana = api.env.sim.user("dana.lee@contoso.com").unwrap();
    assert_eq!(dana["id"], sim_dana.id.as_str());
    assert_eq!(dana["city"].as_str(), sim_dana.city.as_deref());
    assert_eq!(dana["jobTitle"].as_str(), sim_dana.job_title.as_deref());
    assert_eq!(dana["accountEnabled"], true);
    assert_eq!(dana["onPremisesSyncEnabled"], Value::Null);

    // The same selection as the tenant makes, for several filters; percent-encoded values.
    for (query, text) in [
        ("department=sales", "department=sales"),
        (
            "city=New%20York&accountEnabled=true",
            "city=New York,accountEnabled=true",
        ),
        ("accountEnabled=false", "accountEnabled=false"),
        ("country=Narnia", "country=Narnia"),
    ] {
        let (status, body) = api.get(&format!("/api/v1/users?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let mut want: Vec<String> = api
            .env
            .sim
            .list_users(&UserQuery::parse(text).unwrap())
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.user_principal_name)
            .collect();
        want.sort();
        assert_eq!(upns(&body), want, "{query}");
    }
}

#[tokio::test]
async fn unknown_keys_and_missing_conditions_are_refused() {
    let api = Api::start().await;
    let (status, body) = api.get("/api/v1/users?Department=Sales").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "bad-filter");
    let msg = body["message"].as_str().unwrap();
    assert!(
        msg.contains("'Department'") && msg.contains("usageLocation"),
        "{msg}"
    );

    let (status, body) = api.get("/api/v1/users?accountEnabled=yes").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad-filter"))
    );
    let (status, body) = api.get("/api/v1/users?city=").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad-filter"))
    );

    for path in ["/api/v1/users", "/api/v1/users?"] {
        let (status, body) = api.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"], "missing-filter");
    }
    assert_eq!(
        api.env.sim.calls("list_users"),
        0,
        "nothing reached the tenant"
    );
}

#[tokio::test]
async fn both_endpoints_need_the_token() {
    let api = Api::start().await;
    for path in ["/api/v1/users?department=Sales", "/api/v1/licenses"] {
        let (status, body) = api.get_as(path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        let (status, _) = api.get_as(path, Some("wrong")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    assert_eq!(api.env.sim.calls("list_users"), 0);
    assert_eq!(api.env.sim.calls("list_skus"), 0);
}

#[tokio::test]
async fn tenant_failures_are_bad_gateway_with_the_services_message() {
    let api = Api::start().await;
    api.env.sim.set_faults(SimFaults {
        throttle_rate: 1.0,
        retry_after_ms: 2000,
        ..SimFaults::default()
    });
    for path in ["/api/v1/users?department=Sales", "/api/v1/licenses"] {
        let (status, body) = api.get(path).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{path}: {body}");
        assert_eq!(body["error"], "tenant-error");
        let msg = body["message"].as_str().unwrap();
        assert!(
            msg.contains("TooManyRequests") && msg.contains("retry later"),
            "{msg}"
        );
    }
}

#[tokio::test]
async fn licenses_show_the_tenants_seats() {
    let api = Api::start().await;
    let (status, body) = api.get("/api/v1/licenses").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let shown = body["licenses"].as_array().unwrap();
    let mut skus = api.env.sim.list_skus().await.unwrap();
    assert!(!skus.is_empty());
    skus.sort_by(|a, b| a.sku_part_number.cmp(&b.sku_part_number));
    assert_eq!(shown.len(), skus.len());
    for (v, s) in shown.iter().zip(&skus) {
        assert_eq!(v["skuId"], s.sku_id.as_str());
        assert_eq!(v["skuPartNumber"], s.sku_part_number.as_str());
        assert_eq!(v["capabilityStatus"], s.capability_status.as_str());
        assert_eq!(v["enabled"], s.prepaid_units.enabled);
        assert_eq!(v["suspended"], s.prepaid_units.suspended);
        assert_eq!(v["warning"], s.prepaid_units.warning);
        assert_eq!(v["consumed"], s.consumed_units);
        assert_eq!(v["free"], s.free_units());
        assert_eq!(
            v["free"].as_i64().unwrap(),
            v["enabled"].as_i64().unwrap() - v["consumed"].as_i64().unwrap()
        );
        assert_eq!(v.as_object().unwrap().len(), 8, "{v}");
    }
    let parts: Vec<&str> = shown
        .iter()
        .map(|v| v["skuPartNumber"].as_str().unwrap())
        .collect();
    let mut sorted = parts.clone();
    sorted.sort();
    assert_eq!(parts, sorted);
}
