//! `offboard sim-graph` over real HTTP: the server runs in-process on an ephemeral port and a
//! plain HTTP client checks tokens, one call per service path with its documented status and
//! body, paging, `$batch`, every fault kind, the write quota, and that the tenant ends in the
//! same state as the in-process simulated tenant after the same operations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use offboard::api::sim_graph::{SimGraphOptions, WriteQuota, serve};
use offboard::clock::SimClock;
use offboard::ids::{DriveId, GroupId, SkuId, UserId};
use offboard::tenant::sim::{Scenario, SimFaults, SimTenant};
use offboard::tenant::{AutoReply, MailboxType, Tenant};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const SECRET: &str = "test-secret";
const DANA: &str = "3b9f6c1e-8a24-4d57-b0e3-6f2c91d4a8b5";
const SAM: &str = "a06d2f84-1c3b-4e9a-97d5-2b8e4f61c0d3";
const SID: &str = "9d1b3f5a-7c9e-4b1d-a3f5-7c9e1b3d5f49";
const NORA: &str = "8e0a2c4e-6a8c-4e0a-c2e4-6a8c0e2a4c7c";
const OTTO: &str = "0a2c4e6a-8c0e-4a2c-e4a6-8c0e2a4c6e8d";
const JO: &str = "4a6c8e0a-2c4e-4a6c-8e0a-2c4e6a8c0e11";
const FRED: &str = "7c2e4a91-3d5f-4b8a-9e1c-0f6d2b4a8c31";
const FINANCE: &str = "9e2b1c44-0f7d-4a6b-b1e8-7c3d5a9f2e10";
const POWER_BI: &str = "f8a1db68-be16-40ed-86d5-cb42ce701560";
const E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";
const CSP_SUB: &str = "d3b7c9a2-9a4b-40b2-b075-6e442909e3e7";

fn scenario() -> Scenario {
    SimTenant::load_scenario(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tenant.json"))
        .unwrap()
}

fn tenant() -> SimTenant {
    SimTenant::from_scenario(scenario(), SimClock::new()).unwrap()
}

struct Server {
    base: String,
    sim: SimTenant,
    opts: SimGraphOptions,
    http: reqwest::Client,
}

async fn start_with(sim: SimTenant, change: impl FnOnce(&mut SimGraphOptions)) -> Server {
    let mut opts = SimGraphOptions::new("contoso.com", SECRET);
    change(&mut opts);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, sim.clone(), opts.clone()));
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

async fn start(change: impl FnOnce(&mut SimGraphOptions)) -> Server {
    start_with(tenant(), change).await
}

struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Server {
    fn token_url(&self) -> String {
        format!(
            "{}/login/{}/oauth2/v2.0/token",
            self.base, self.opts.tenant_id
        )
    }

    async fn token_form(&self, form: &[(&str, &str)]) -> Reply {
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
    async fn token(&self, service: &str) -> String {
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

    async fn call(&self, method: Method, url: &str, token: &str, body: Option<Value>) -> Reply {
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

    async fn graph(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Reply {
        self.call(method, &format!("/graph/v1.0{path}"), token, body)
            .await
    }

    async fn cmdlet(&self, token: &str, name: &str, params: Value) -> Reply {
        let path = format!(
            "/exchange/adminapi/beta/{}/InvokeCommand",
            self.opts.tenant_id
        );
        let body = json!({ "CmdletInput": { "CmdletName": name, "Parameters": params } });
        self.call(Method::POST, &path, token, Some(body)).await
    }

    /// Every item of a Graph collection, following `@odata.nextLink`; also the page count.
    async fn all_pages(&self, path: &str, token: &str) -> (Vec<Value>, usize) {
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

async fn reply(r: reqwest::Response) -> Reply {
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

fn graph_error(r: &Reply, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["error"]["code"], code, "{}", r.body);
    assert!(
        r.body["error"]["innerError"]["request-id"].is_string(),
        "{}",
        r.body
    );
    assert!(r.headers.contains_key("request-id"));
}

fn jwt(header: Value, claims: Value) -> String {
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    format!(
        "{}.{}.{}",
        enc(&header),
        enc(&claims),
        URL_SAFE_NO_PAD.encode(b"not-verified")
    )
}

// ---- tokens (§1) ----

#[tokio::test]
async fn token_endpoint_answers_secrets_and_refuses_with_documented_errors() {
    let s = start(|_| {}).await;
    let scope = format!("{}/graph/.default", s.base);
    let ok = s
        .token_form(&[
            ("client_id", &s.opts.client_id),
            ("scope", &scope),
            ("client_secret", SECRET),
            ("grant_type", "client_credentials"),
        ])
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body["token_type"], "Bearer");
    assert_eq!(ok.body["expires_in"], 3599);
    assert!(ok.body["access_token"].as_str().unwrap().len() > 32);

    let basic = s
        .http
        .post(s.token_url())
        .basic_auth(&s.opts.client_id, Some(SECRET))
        .form(&[
            ("scope", scope.as_str()),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::OK);

    let wrong = s
        .token_form(&[
            ("client_id", &s.opts.client_id),
            ("scope", &scope),
            ("client_secret", "nope"),
            ("grant_type", "client_credentials"),
        ])
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body["error"], "invalid_client");
    assert_eq!(wrong.body["error_codes"], json!([7000215]));
    assert!(
        wrong.body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS7000215:")
    );
    for k in ["timestamp", "trace_id", "correlation_id"] {
        assert!(wrong.body[k].is_string(), "{k}");
    }
    assert!(!wrong.body.to_string().contains("nope"));

    let app = s
        .token_form(&[
            ("client_id", "00000000-0000-0000-0000-000000000000"),
            ("scope", &scope),
            ("client_secret", SECRET),
            ("grant_type", "client_credentials"),
        ])
        .await;
    assert_eq!(
        (app.status, app.body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unauthorized_client"))
    );
    assert_eq!(app.body["error_codes"], json!([700016]));

    let bad_scope = s
        .token_form(&[
            ("client_id", &s.opts.client_id),
            ("scope", "https://example.org/.default"),
            ("client_secret", SECRET),
            ("grant_type", "client_credentials"),
        ])
        .await;
    assert_eq!(
        (bad_scope.status, bad_scope.body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );
    assert_eq!(bad_scope.body["error_codes"], json!([70011]));

    let other_tenant = s
        .http
        .post(format!("{}/login/fabrikam.com/oauth2/v2.0/token", s.base))
        .form(&[
            ("client_id", s.opts.client_id.as_str()),
            ("scope", scope.as_str()),
            ("client_secret", SECRET),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap();
    let other_tenant = reply(other_tenant).await;
    assert_eq!(other_tenant.body["error_codes"], json!([90002]));
}

#[tokio::test]
async fn client_assertions_are_checked_for_structure_audience_issuer_and_expiry() {
    let s = start(|o| o.cert_thumbprint_sha256 = Some("thumb256".into())).await;
    let scope = format!("{}/graph/.default", s.base);
    let now = chrono::Utc::now().timestamp();
    let id = s.opts.client_id.clone();
    let header = json!({ "alg": "PS256", "typ": "JWT", "x5t#S256": "thumb256" });
    let claims = json!({ "aud": s.token_url(), "iss": id, "sub": id, "jti": "1", "nbf": now, "exp": now + 600 });
    let ask = |assertion: String| {
        let scope = scope.clone();
        let id = id.clone();
        let s = &s;
        async move {
            s.token_form(&[
                ("client_id", id.as_str()),
                ("scope", scope.as_str()),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion.as_str()),
                ("grant_type", "client_credentials"),
            ])
            .await
        }
    };
    assert_eq!(
        ask(jwt(header.clone(), claims.clone())).await.status,
        StatusCode::OK
    );

    let codes = |r: Reply| (r.status, r.body["error_codes"][0].as_u64().unwrap_or(0));
    let mut expired = claims.clone();
    expired["exp"] = json!(now - 10);
    assert_eq!(
        codes(ask(jwt(header.clone(), expired)).await),
        (StatusCode::UNAUTHORIZED, 700024)
    );
    let mut aud = claims.clone();
    aud["aud"] = json!("https://login.microsoftonline.com/x/oauth2/v2.0/token");
    assert_eq!(
        codes(ask(jwt(header.clone(), aud)).await),
        (StatusCode::UNAUTHORIZED, 50027)
    );
    let mut iss = claims.clone();
    iss["iss"] = json!("someone-else");
    assert_eq!(
        codes(ask(jwt(header.clone(), iss)).await),
        (StatusCode::UNAUTHORIZED, 700021)
    );
    let other_cert = json!({ "alg": "PS256", "typ": "JWT", "x5t#S256": "other" });
    assert_eq!(
        codes(ask(jwt(other_cert, claims.clone())).await),
        (StatusCode::UNAUTHORIZED, 700027)
    );
    let no_thumb = json!({ "alg": "PS256", "typ": "JWT" });
    assert_eq!(
        codes(ask(jwt(no_thumb, claims.clone())).await),
        (StatusCode::UNAUTHORIZED, 50027)
    );
    assert_eq!(
        codes(ask("not-a-jwt".into()).await),
        (StatusCode::UNAUTHORIZED, 50027)
    );
}

#[tokio::test]
async fn tokens_are_checked_for_presence_expiry_and_audience() {
    let s = start(|_| {}).await;
    let path = format!("/users/{DANA}");
    let none = s.graph(Method::GET, &path, "", None).await;
    graph_error(
        &none,
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
    );
    let forged = s.graph(Method::GET, &path, "forged", None).await;
    graph_error(
        &forged,
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
    );
    let exchange = s.token("exchange").await;
    let wrong = s.graph(Method::GET, &path, &exchange, None).await;
    graph_error(
        &wrong,
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
    );
    assert!(
        wrong.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("audience")
    );
    let graph = s.token("graph").await;
    assert_eq!(
        s.graph(Method::GET, &path, &graph, None).await.status,
        StatusCode::OK
    );
    let pc = s
        .call(
            Method::GET,
            &format!(
                "/partner/v1/customers/{}/subscriptions/{CSP_SUB}",
                s.opts.tenant_id
            ),
            &graph,
            None,
        )
        .await;
    assert_eq!(pc.status, StatusCode::UNAUTHORIZED);

    let short = start(|o| o.token_lifetime = Duration::ZERO).await;
    let t = short.token("graph").await;
    let expired = short.graph(Method::GET, &path, &t, None).await;
    graph_error(
        &expired,
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
    );
    assert!(
        expired.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

// ---- Graph: users, directory (§3) ----

#[tokio::test]
async fn users_get_patch_revoke_manager_and_member_of() {
    let s = start(|o| o.max_page_size = Some(2)).await;
    let t = s.token("graph").await;
    let plain = s
        .graph(Method::GET, "/users/dana.lee@contoso.com", &t, None)
        .await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(plain.body["id"], DANA);
    assert!(
        plain.body.get("accountEnabled").is_none(),
        "not in the default set"
    );
    assert!(
        plain.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#users/$entity")
    );
    let sel = s
        .graph(
            Method::GET,
            &format!(
                "/users/{DANA}?$select=id,accountEnabled,assignedLicenses,licenseAssignmentStates"
            ),
            &t,
            None,
        )
        .await;
    assert_eq!(sel.body["accountEnabled"], true);
    assert_eq!(sel.body["licenseAssignmentStates"][0]["error"], "None");
    assert!(sel.body.get("displayName").is_none());
    assert!(
        sel.body["@odata.context"]
            .as_str()
            .unwrap()
            .contains("users(id,accountEnabled,")
    );
    graph_error(
        &s.graph(
            Method::GET,
            &format!("/users/{DANA}?$select=shoeSize"),
            &t,
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "Request_BadRequest",
    );
    graph_error(
        &s.graph(Method::GET, "/users/nobody@contoso.com", &t, None)
            .await,
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
    );

    let patch = s
        .graph(
            Method::PATCH,
            &format!("/users/{DANA}"),
            &t,
            Some(json!({ "accountEnabled": false })),
        )
        .await;
    assert_eq!(
        (patch.status, &patch.body),
        (StatusCode::NO_CONTENT, &Value::Null)
    );
    assert!(!s.sim.user(DANA).unwrap().account_enabled);
    let synced = s
        .graph(
            Method::PATCH,
            &format!("/users/{SID}"),
            &t,
            Some(json!({ "accountEnabled": false })),
        )
        .await;
    graph_error(&synced, StatusCode::BAD_REQUEST, "Request_BadRequest");
    assert!(
        synced.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("on-premises mastered")
    );
    let loc = s
        .graph(
            Method::PATCH,
            &format!("/users/{JO}"),
            &t,
            Some(json!({ "usageLocation": "DE" })),
        )
        .await;
    assert_eq!(loc.status, StatusCode::NO_CONTENT);
    assert_eq!(
        s.sim.user(JO).unwrap().usage_location.as_deref(),
        Some("DE")
    );

    let revoke = s
        .graph(
            Method::POST,
            &format!("/users/{DANA}/revokeSignInSessions"),
            &t,
            None,
        )
        .await;
    assert_eq!(
        (revoke.status, &revoke.body["value"]),
        (StatusCode::OK, &json!(true))
    );

    let manager = s
        .graph(Method::GET, &format!("/users/{DANA}/manager"), &t, None)
        .await;
    assert_eq!(
        (manager.status, &manager.body["id"]),
        (StatusCode::OK, &json!(SAM))
    );
    assert_eq!(manager.body["@odata.type"], "#microsoft.graph.user");
    let none = s
        .graph(Method::GET, &format!("/users/{NORA}/manager"), &t, None)
        .await;
    graph_error(&none, StatusCode::NOT_FOUND, "Request_ResourceNotFound");
    assert!(
        none.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Resource 'manager' does not exist")
    );

    let (items, pages) = s
        .all_pages(
            &format!("/users/{DANA}/memberOf?$select=id,displayName"),
            &t,
        )
        .await;
    let expected = s.sim.member_of(&UserId::new(DANA)).await.unwrap();
    assert_eq!(items.len(), expected.len());
    assert!(pages >= 2, "paged by 2: {pages}");
    assert!(
        items
            .iter()
            .all(|i| i["@odata.type"].is_string() && i["id"].is_string())
    );
    let (top1, pages1) = s
        .all_pages(&format!("/users/{DANA}/memberOf?$top=1"), &t)
        .await;
    assert_eq!((top1.len(), pages1), (expected.len(), expected.len()));
    graph_error(
        &s.graph(
            Method::GET,
            &format!("/users/{DANA}/memberOf?$top=0"),
            &t,
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "Request_BadRequest",
    );
    graph_error(
        &s.graph(
            Method::GET,
            &format!("/users/{DANA}/memberOf?$count=true"),
            &t,
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "Request_UnsupportedQuery",
    );
}

#[tokio::test]
async fn delete_restore_and_purge_through_the_recycle_bin() {
    let s = start(|_| {}).await;
    let t = s.token("graph").await;
    let del = s
        .graph(Method::DELETE, &format!("/users/{FRED}"), &t, None)
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    graph_error(
        &s.graph(Method::DELETE, &format!("/users/{FRED}"), &t, None)
            .await,
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
    );
    let got = s
        .graph(
            Method::GET,
            &format!("/directory/deletedItems/{FRED}"),
            &t,
            None,
        )
        .await;
    assert_eq!(
        (got.status, &got.body["@odata.type"]),
        (StatusCode::OK, &json!("#microsoft.graph.user"))
    );
    assert!(got.body["deletedDateTime"].as_str().unwrap().ends_with('Z'));
    let (deleted, _) = s.all_pages("/directory/deletedItems/microsoft.graph.user?$select=id,userPrincipalName,deletedDateTime", &t).await;
    assert!(deleted.iter().any(|d| d["id"] == FRED));
    let filtered = s
        .graph(
            Method::GET,
            &format!("/directory/deletedItems/microsoft.graph.user?$filter=id eq '{FRED}'"),
            &t,
            None,
        )
        .await;
    assert_eq!(filtered.body["value"].as_array().unwrap().len(), 1);
    let counted = s.call(Method::GET, "/graph/v1.0/directory/deletedItems/microsoft.graph.user?$count=true&$orderby=deletedDateTime desc", &t, None).await;
    assert_eq!(
        counted.status,
        StatusCode::BAD_REQUEST,
        "needs ConsistencyLevel"
    );
    let eventual = s
        .http
        .get(format!("{}/graph/v1.0/directory/deletedItems/microsoft.graph.user?$count=true&$orderby=deletedDateTime desc", s.base))
        .bearer_auth(&t)
        .header("ConsistencyLevel", "eventual")
        .send()
        .await
        .unwrap();
    let eventual = reply(eventual).await;
    assert_eq!(
        eventual.body["@odata.count"].as_u64(),
        Some(deleted.len() as u64)
    );
    graph_error(
        &s.graph(Method::GET, "/directory/deletedItems", &t, None)
            .await,
        StatusCode::BAD_REQUEST,
        "Request_BadRequest",
    );

    let restored = s
        .graph(
            Method::POST,
            &format!("/directory/deletedItems/{FRED}/restore"),
            &t,
            None,
        )
        .await;
    assert_eq!(
        (restored.status, &restored.body["id"]),
        (StatusCode::OK, &json!(FRED))
    );
    assert!(s.sim.user(FRED).is_some());
    graph_error(
        &s.graph(
            Method::POST,
            &format!("/directory/deletedItems/{FRED}/restore"),
            &t,
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
    );

    s.graph(Method::DELETE, &format!("/users/{FRED}"), &t, None)
        .await;
    let purge = s
        .graph(
            Method::DELETE,
            &format!("/directory/deletedItems/{FRED}"),
            &t,
            None,
        )
        .await;
    assert_eq!(purge.status, StatusCode::NO_CONTENT);
    graph_error(
        &s.graph(
            Method::DELETE,
            &format!("/directory/deletedItems/{FRED}"),
            &t,
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
    );
}

// ---- Graph: licenses, groups, subscriptions (§4) ----

#[tokio::test]
async fn licenses_groups_and_subscriptions() {
    let s = start(|_| {}).await;
    let t = s.token("graph").await;
    let skus = s.graph(Method::GET, "/subscribedSkus", &t, None).await;
    assert_eq!(skus.status, StatusCode::OK);
    let e3 = skus.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["skuPartNumber"] == "SPE_E3")
        .unwrap()
        .clone();
    assert_eq!(e3["id"], format!("{}_{E3}", s.opts.tenant_id));
    assert!(e3["prepaidUnits"]["enabled"].is_number() && e3["consumedUnits"].is_number());

    let filtered = s
        .graph(
            Method::GET,
            "/subscribedSkus?$filter=skuPartNumber eq 'SPE_E3'",
            &t,
            None,
        )
        .await;
    graph_error(
        &filtered,
        StatusCode::BAD_REQUEST,
        "Request_UnsupportedQuery",
    );
    let path = format!("/users/{DANA}/assignLicense");
    let missing = s
        .graph(Method::POST, &path, &t, Some(json!({ "addLicenses": [] })))
        .await;
    graph_error(&missing, StatusCode::BAD_REQUEST, "Request_BadRequest");
    assert!(
        missing.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("removeLicenses")
    );
    let removed = s
        .graph(
            Method::POST,
            &path,
            &t,
            Some(json!({ "addLicenses": [], "removeLicenses": [POWER_BI] })),
        )
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    assert_eq!(removed.body["id"], DANA);
    assert!(
        removed.body["assignedLicenses"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["skuId"] != POWER_BI)
    );
    let again = s
        .graph(
            Method::POST,
            &path,
            &t,
            Some(json!({ "addLicenses": [], "removeLicenses": [POWER_BI] })),
        )
        .await;
    graph_error(&again, StatusCode::BAD_REQUEST, "Request_BadRequest");
    assert_eq!(
        again.body["error"]["message"],
        "User does not have a corresponding license."
    );
    let no_location = s.graph(Method::POST, &format!("/users/{JO}/assignLicense"), &t, Some(json!({ "addLicenses": [{ "skuId": E3, "disabledPlans": [] }], "removeLicenses": [] }))).await;
    assert_eq!(
        no_location.body["error"]["message"],
        "License assignment cannot be done for user with invalid usage location."
    );
    let reprocess = s
        .graph(
            Method::POST,
            &format!("/users/{DANA}/reprocessLicenseAssignment"),
            &t,
            None,
        )
        .await;
    assert_eq!(reprocess.status, StatusCode::OK);
    let details = s
        .graph(
            Method::GET,
            &format!("/users/{DANA}/licenseDetails"),
            &t,
            None,
        )
        .await;
    assert_eq!(details.body["value"][0]["skuPartNumber"], "SPE_E3");

    let group = s
        .graph(
            Method::GET,
            &format!("/groups/{FINANCE}?$select=id,displayName,assignedLicenses"),
            &t,
            None,
        )
        .await;
    assert_eq!(
        (group.status, &group.body["displayName"]),
        (StatusCode::OK, &json!("Finance Team"))
    );
    let member =
        json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{NORA}") });
    let add = s
        .graph(
            Method::POST,
            &format!("/groups/{FINANCE}/members/$ref"),
            &t,
            Some(member.clone()),
        )
        .await;
    assert_eq!(add.status, StatusCode::NO_CONTENT);
    let twice = s
        .graph(
            Method::POST,
            &format!("/groups/{FINANCE}/members/$ref"),
            &t,
            Some(member),
        )
        .await;
    graph_error(&twice, StatusCode::BAD_REQUEST, "Request_BadRequest");
    assert!(
        twice.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already exist")
    );
    let rm = s
        .graph(
            Method::DELETE,
            &format!("/groups/{FINANCE}/members/{NORA}/$ref"),
            &t,
            None,
        )
        .await;
    assert_eq!(rm.status, StatusCode::NO_CONTENT);
    graph_error(
        &s.graph(
            Method::DELETE,
            &format!("/groups/{FINANCE}/members/{NORA}/$ref"),
            &t,
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
    );

    let group_license = json!({ "addLicenses": [{ "skuId": POWER_BI, "disabledPlans": [] }], "removeLicenses": [] });
    let accepted = s
        .graph(
            Method::POST,
            &format!("/groups/{FINANCE}/assignLicense"),
            &t,
            Some(group_license),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
    assert!(accepted.headers.contains_key("location"));
    let finance = s.sim.get_group(&GroupId::new(FINANCE)).await.unwrap();
    assert!(
        finance
            .assigned_licenses
            .iter()
            .any(|l| l.sku_id.as_str() == POWER_BI)
    );

    let subs = s
        .graph(Method::GET, "/directory/subscriptions", &t, None)
        .await;
    assert_eq!(subs.status, StatusCode::OK);
    let csp = subs.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["commerceSubscriptionId"] == CSP_SUB)
        .unwrap()
        .clone();
    assert_eq!(
        (csp["skuPartNumber"].as_str(), csp["totalLicenses"].as_i64()),
        (Some("SPE_E3"), Some(50))
    );
}

// ---- mail: Graph mailboxSettings (§5.1–5.2) and Exchange InvokeCommand (§5.4–5.5) ----

#[tokio::test]
async fn mailbox_settings_read_and_patch() {
    let s = start(|_| {}).await;
    let t = s.token("graph").await;
    let get = s
        .graph(
            Method::GET,
            &format!("/users/{DANA}/mailboxSettings"),
            &t,
            None,
        )
        .await;
    assert_eq!(
        (get.status, &get.body["userPurpose"]),
        (StatusCode::OK, &json!("user"))
    );
    assert!(get.body["automaticRepliesSetting"]["status"].is_string());
    let body = json!({ "automaticRepliesSetting": { "status": "AlwaysEnabled", "externalAudience": "all", "internalReplyMessage": "<p>gone</p>", "externalReplyMessage": "<p>gone</p>" } });
    let patch = s
        .graph(
            Method::PATCH,
            &format!("/users/{DANA}/mailboxSettings"),
            &t,
            Some(body),
        )
        .await;
    assert_eq!(patch.status, StatusCode::OK, "{}", patch.body);
    assert_eq!(
        patch.body["automaticRepliesSetting"]["status"],
        "alwaysEnabled"
    );
    let reply = s.sim.get_auto_reply(&UserId::new(DANA)).await.unwrap();
    assert_eq!(
        (reply.status.as_str(), reply.internal_reply_message.as_str()),
        ("alwaysEnabled", "<p>gone</p>")
    );
    let sub = s
        .graph(
            Method::GET,
            &format!("/users/{DANA}/mailboxSettings/automaticRepliesSetting"),
            &t,
            None,
        )
        .await;
    assert_eq!(sub.body["status"], "alwaysEnabled");
    let none = s
        .graph(
            Method::GET,
            &format!("/users/{JO}/mailboxSettings"),
            &t,
            None,
        )
        .await;
    graph_error(&none, StatusCode::NOT_FOUND, "MailboxNotEnabledForRESTAPI");
}

#[tokio::test]
async fn exchange_cmdlets_through_invoke_command() {
    let s = start(|o| o.max_page_size = Some(1)).await;
    let t = s.token("exchange").await;
    let get = s
        .cmdlet(
            &t,
            "Get-Mailbox",
            json!({ "Identity": "dana.lee@contoso.com" }),
        )
        .await;
    assert_eq!(get.status, StatusCode::OK, "{}", get.body);
    let mb = &get.body["value"][0];
    assert_eq!(
        (
            mb["RecipientTypeDetails"].as_str(),
            mb["ExternalDirectoryObjectId"].as_str()
        ),
        (Some("UserMailbox"), Some(DANA))
    );
    assert!(
        get.body["@odata.context"]
            .as_str()
            .unwrap()
            .contains("Exchange.GenericHashTable")
    );
    assert!(get.headers.contains_key("request-id"));

    let stats = s
        .cmdlet(&t, "Get-MailboxStatistics", json!({ "Identity": DANA }))
        .await;
    assert!(
        stats.body["value"][0]["TotalItemSize"]
            .as_str()
            .unwrap()
            .ends_with(" bytes)")
    );

    let set = s
        .cmdlet(
            &t,
            "Set-Mailbox",
            json!({ "Identity": DANA, "Type": "Shared" }),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(
        s.sim.mailbox(DANA).unwrap().recipient_type_details,
        MailboxType::SharedMailbox
    );
    let again = s
        .cmdlet(
            &t,
            "Set-Mailbox",
            json!({ "Identity": DANA, "Type": "Shared" }),
        )
        .await;
    assert!(
        again.body["@adminapi.warnings"][0]
            .as_str()
            .unwrap()
            .contains("no settings")
    );
    let hide = s.cmdlet(&t, "Set-Mailbox", json!({ "Identity": DANA, "HiddenFromAddressListsEnabled": true, "ForwardingSmtpAddress": "smtp:sam.ortiz@contoso.com" })).await;
    assert_eq!(hide.status, StatusCode::OK, "{}", hide.body);
    let m = s.sim.mailbox(DANA).unwrap();
    assert!(m.hidden_from_address_lists_enabled && m.forwarding_smtp_address.is_some());
    let clear = s
        .cmdlet(
            &t,
            "Set-Mailbox",
            json!({ "Identity": DANA, "ForwardingSmtpAddress": null }),
        )
        .await;
    assert_eq!(clear.status, StatusCode::OK);
    assert!(
        s.sim
            .mailbox(DANA)
            .unwrap()
            .forwarding_smtp_address
            .is_none()
    );

    let add = s.cmdlet(&t, "Add-MailboxPermission", json!({ "Identity": DANA, "User": "nora.vidal@contoso.com", "AccessRights": ["FullAccess"], "InheritanceType": "All", "AutoMapping": true })).await;
    assert_eq!(
        (add.status, &add.body["value"][0]["AccessRights"]),
        (StatusCode::OK, &json!(["FullAccess"]))
    );
    let perms = s
        .cmdlet(&t, "Get-MailboxPermission", json!({ "Identity": DANA }))
        .await;
    assert!(
        perms.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["User"] == "nora.vidal@contoso.com")
    );
    let rm = s.cmdlet(&t, "Remove-MailboxPermission", json!({ "Identity": DANA, "User": "nora.vidal@contoso.com", "AccessRights": ["FullAccess"], "Confirm": false })).await;
    assert_eq!(rm.status, StatusCode::OK);

    let missing = s
        .cmdlet(
            &t,
            "Get-Mailbox",
            json!({ "Identity": "jo.new@contoso.com" }),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.body["error"]["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|")
    );
    let unknown = s
        .cmdlet(&t, "Remove-Mailbox", json!({ "Identity": DANA }))
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);

    // Listing, one per page: POST the same body to each @odata.nextLink.
    let body = json!({ "CmdletInput": { "CmdletName": "Get-Mailbox", "Parameters": { "RecipientTypeDetails": "UserMailbox", "ResultSize": "Unlimited" } } });
    let mut url = format!(
        "{}/exchange/adminapi/beta/{}/InvokeCommand",
        s.base, s.opts.tenant_id
    );
    let mut seen = Vec::new();
    loop {
        let r = s.call(Method::POST, &url, &t, Some(body.clone())).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        seen.extend(
            r.body["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["ExternalDirectoryObjectId"].clone()),
        );
        match r.body["@odata.nextLink"].as_str() {
            Some(n) => url = n.to_string(),
            None => break,
        }
    }
    let expected = s
        .sim
        .list_mailboxes(MailboxType::UserMailbox)
        .await
        .unwrap();
    assert!(expected.len() > 1);
    assert_eq!(seen.len(), expected.len());
}

// ---- OneDrive (§6) ----

#[tokio::test]
async fn drive_delta_download_invite_and_permissions() {
    let sim = tenant();
    sim.set_delta_page_size(2);
    let s = start_with(sim, |_| {}).await;
    let t = s.token("graph").await;
    let drive = s
        .graph(Method::GET, &format!("/users/{DANA}/drive"), &t, None)
        .await;
    assert_eq!(
        (drive.status, &drive.body["driveType"]),
        (StatusCode::OK, &json!("business"))
    );
    let drive_id = drive.body["id"].as_str().unwrap().to_string();
    graph_error(
        &s.graph(Method::GET, &format!("/users/{OTTO}/drive"), &t, None)
            .await,
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
    );

    let mut url = format!("{}/graph/v1.0/drives/{drive_id}/root/delta", s.base);
    let (mut items, mut pages) = (Vec::new(), 0);
    let delta_link = loop {
        let r = s.call(Method::GET, &url, &t, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        pages += 1;
        items.extend(r.body["value"].as_array().unwrap().iter().cloned());
        assert!(
            r.body.get("@odata.nextLink").is_some() != r.body.get("@odata.deltaLink").is_some()
        );
        match r.body["@odata.nextLink"].as_str() {
            Some(n) => url = n.to_string(),
            None => break r.body["@odata.deltaLink"].as_str().unwrap().to_string(),
        }
    };
    assert!(pages >= 2 && items.iter().any(|i| i["root"].is_object()));
    let changes = s.call(Method::GET, &delta_link, &t, None).await;
    assert_eq!(changes.body["value"], json!([]));
    let gone = s
        .graph(
            Method::GET,
            &format!("/drives/{drive_id}/root/delta?token=bogus"),
            &t,
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::GONE);
    assert!(gone.headers.contains_key("location"));

    let file = items
        .iter()
        .find(|i| i["file"].is_object())
        .unwrap()
        .clone();
    let item = file["id"].as_str().unwrap();
    let content = s
        .graph(
            Method::GET,
            &format!("/drives/{drive_id}/items/{item}/content"),
            &t,
            None,
        )
        .await;
    assert_eq!(content.status, StatusCode::FOUND);
    let location = content.headers["location"].to_str().unwrap().to_string();
    let bytes = s
        .http
        .get(&location)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let size = file["size"].as_u64().unwrap();
    assert_eq!(bytes.to_vec(), offboard::tenant::sim::content(item, size));
    assert_eq!(
        file["file"]["hashes"]["sha256Hash"]
            .as_str()
            .unwrap()
            .to_ascii_lowercase(),
        offboard::tenant::sim::content_sha256(item, size)
    );
    let part = s
        .http
        .get(&location)
        .header("Range", "bytes=0-9")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes().await.unwrap().len(), 10.min(size as usize));
    assert_eq!(s.sim.downloads(&DriveId::new(&drive_id), item), 1);

    let invite = json!({ "recipients": [{ "email": "sam.ortiz@contoso.com" }], "roles": ["write"], "requireSignIn": true, "sendInvitation": false });
    let inv = s
        .graph(
            Method::POST,
            &format!("/drives/{drive_id}/items/{item}/invite"),
            &t,
            Some(invite),
        )
        .await;
    assert_eq!(inv.status, StatusCode::OK, "{}", inv.body);
    assert_eq!(inv.body["value"][0]["roles"], json!(["write"]));
    assert_eq!(
        inv.body["value"][0]["grantedToV2"]["user"]["email"],
        "sam.ortiz@contoso.com"
    );
    let perms = s
        .graph(
            Method::GET,
            &format!("/drives/{drive_id}/items/{item}/permissions"),
            &t,
            None,
        )
        .await;
    assert_eq!(perms.body["value"].as_array().unwrap().len(), 1);
    graph_error(
        &s.graph(
            Method::GET,
            &format!("/drives/{drive_id}/items/nope/permissions"),
            &t,
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "itemNotFound",
    );
}

// ---- Partner Center (§9.2) ----

#[tokio::test]
async fn partner_center_get_and_patch_with_its_headers_and_errors() {
    let s = start(|_| {}).await;
    let t = s.token("partner").await;
    let path = format!(
        "/partner/v1/customers/{}/subscriptions/{CSP_SUB}",
        s.opts.tenant_id
    );
    let get = s.call(Method::GET, &path, &t, None).await;
    assert_eq!(get.status, StatusCode::OK, "{}", get.body);
    assert_eq!(get.headers["ms-contract-version"], "v1");
    assert!(
        get.headers.contains_key("ms-requestid") && get.headers.contains_key("ms-correlationid")
    );
    let mut sub = get.body.clone();
    let quantity = sub["quantity"].as_i64().unwrap();
    sub["quantity"] = json!(quantity + 5);
    let patch = s.call(Method::PATCH, &path, &t, Some(sub)).await;
    assert_eq!(
        (patch.status, patch.body["quantity"].as_i64()),
        (StatusCode::OK, Some(quantity + 5))
    );
    assert_eq!(
        s.sim.partner_subscription(CSP_SUB).unwrap().quantity,
        quantity + 5
    );
    let direct = s
        .call(
            Method::GET,
            &format!(
                "/partner/v1/customers/{}/subscriptions/b9d1f3a5-c7e9-4b1d-a3f5-c7e9b1d3f5a7",
                s.opts.tenant_id
            ),
            &t,
            None,
        )
        .await;
    assert_eq!(direct.status, StatusCode::NOT_FOUND);
    assert!(direct.body["code"].is_number() && direct.body["source"] == "PartnerFD");
    let other = s
        .call(
            Method::GET,
            &format!("/partner/v1/customers/fabrikam.com/subscriptions/{CSP_SUB}"),
            &t,
            None,
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
}

// ---- $batch (§7) ----

#[tokio::test]
async fn batch_runs_items_with_dependencies_and_refuses_more_than_twenty() {
    let s = start(|_| {}).await;
    let t = s.token("graph").await;
    let body = json!({ "requests": [
        { "id": "1", "method": "PATCH", "url": format!("/users/{DANA}"), "headers": { "Content-Type": "application/json" }, "body": { "accountEnabled": false } },
        { "id": "2", "method": "POST", "url": format!("/users/{DANA}/revokeSignInSessions"), "dependsOn": ["1"] },
        { "id": "3", "method": "GET", "url": format!("/users/{DANA}/memberOf?$select=id,displayName") },
        { "id": "4", "method": "GET", "url": "/users/nobody@contoso.com" },
        { "id": "5", "method": "GET", "url": "/users/nobody@contoso.com/manager", "dependsOn": ["4"] },
        { "id": "6", "method": "GET", "url": "/directory/deletedItems/microsoft.graph.user?$filter=userPrincipalName eq 'x'" },
    ]});
    let r = s.graph(Method::POST, "/$batch", &t, Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let by_id = |id: &str| {
        r.body["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(
        (by_id("1")["status"].as_u64(), &by_id("1")["body"]),
        (Some(204), &Value::Null)
    );
    assert_eq!(by_id("2")["body"]["value"], true);
    assert!(by_id("3")["body"]["value"].is_array());
    assert_eq!(by_id("4")["status"], 404);
    assert_eq!(by_id("5")["status"], 424);
    assert_eq!(
        by_id("6")["status"],
        200,
        "spaces in an item URL are accepted"
    );
    assert!(!s.sim.user(DANA).unwrap().account_enabled);

    let many: Vec<Value> = (0..21)
        .map(|i| json!({ "id": i.to_string(), "method": "GET", "url": format!("/users/{DANA}") }))
        .collect();
    let too_many = s
        .graph(
            Method::POST,
            "/$batch",
            &t,
            Some(json!({ "requests": many })),
        )
        .await;
    graph_error(&too_many, StatusCode::BAD_REQUEST, "BadRequest");
    let no_type = json!({ "requests": [{ "id": "1", "method": "PATCH", "url": format!("/users/{DANA}"), "body": { "accountEnabled": true } }] });
    assert_eq!(
        s.graph(Method::POST, "/$batch", &t, Some(no_type))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn batch_items_are_throttled_one_by_one_with_retry_after() {
    let s = start(|o| {
        o.faults = SimFaults {
            throttle_rate: 1.0,
            retry_after_ms: 1500,
            ..SimFaults::default()
        };
    })
    .await;
    let t = s.token("graph").await;
    let requests: Vec<Value> = (1..=3)
        .map(|i| json!({ "id": i.to_string(), "method": "GET", "url": format!("/users/{DANA}") }))
        .collect();
    let r = s
        .graph(
            Method::POST,
            "/$batch",
            &t,
            Some(json!({ "requests": requests })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    for item in r.body["responses"].as_array().unwrap() {
        assert_eq!(item["status"], 429);
        assert_eq!(item["headers"]["Retry-After"], "1.5");
        assert_eq!(item["body"]["error"]["code"], "TooManyRequests");
    }
}

// ---- faults and the write quota (§8) ----

#[tokio::test]
async fn throttling_and_transient_faults_change_nothing() {
    let s = start(|o| {
        o.faults = SimFaults {
            throttle_rate: 1.0,
            retry_after_ms: 250,
            ..SimFaults::default()
        }
    })
    .await;
    let t = s.token("graph").await;
    let r = s
        .graph(
            Method::PATCH,
            &format!("/users/{DANA}"),
            &t,
            Some(json!({ "accountEnabled": false })),
        )
        .await;
    graph_error(&r, StatusCode::TOO_MANY_REQUESTS, "TooManyRequests");
    assert_eq!(r.headers["retry-after"], "0.25");
    assert_eq!(r.body["error"]["innerError"]["status"], "429");
    assert!(s.sim.user(DANA).unwrap().account_enabled);
    let ex = s.token("exchange").await;
    assert_eq!(
        s.cmdlet(&ex, "Get-Mailbox", json!({ "Identity": DANA }))
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );

    let s = start(|o| {
        o.faults = SimFaults {
            transient_rate: 1.0,
            retry_after_ms: 2000,
            ..SimFaults::default()
        }
    })
    .await;
    let t = s.token("graph").await;
    let first = s
        .graph(
            Method::PATCH,
            &format!("/users/{DANA}"),
            &t,
            Some(json!({ "accountEnabled": false })),
        )
        .await;
    assert_eq!(
        (first.status, first.headers["retry-after"].to_str().unwrap()),
        (StatusCode::SERVICE_UNAVAILABLE, "2")
    );
    let second = s
        .graph(
            Method::PATCH,
            &format!("/users/{DANA}"),
            &t,
            Some(json!({ "accountEnabled": false })),
        )
        .await;
    assert_eq!(second.status, StatusCode::GATEWAY_TIMEOUT);
    // Exchange's front door fails without cmdlet `details`: the status decides.
    let ex = s.token("exchange").await;
    let third = s
        .cmdlet(&ex, "Get-Mailbox", json!({ "Identity": DANA }))
        .await;
    assert_eq!(third.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(third.body["error"]["details"].is_null(), "{}", third.body);
    assert!(s.sim.user(DANA).unwrap().account_enabled);
}

#[tokio::test]
async fn lost_responses_are_applied_then_dropped_or_answered_504() {
    let s = start(|o| {
        o.faults = SimFaults {
            lost_response_rate: 1.0,
            ..SimFaults::default()
        }
    })
    .await;
    let t = s.token("graph").await;
    let dropped = s
        .http
        .patch(format!("{}/graph/v1.0/users/{DANA}", s.base))
        .bearer_auth(&t)
        .json(&json!({ "accountEnabled": false }))
        .send()
        .await;
    assert!(dropped.is_err(), "the connection is dropped: {dropped:?}");
    assert!(
        !s.sim.user(DANA).unwrap().account_enabled,
        "but the change happened"
    );
    let gateway = s
        .graph(
            Method::PATCH,
            &format!("/users/{JO}"),
            &t,
            Some(json!({ "usageLocation": "FR" })),
        )
        .await;
    graph_error(&gateway, StatusCode::GATEWAY_TIMEOUT, "GatewayTimeout");
    assert_eq!(
        s.sim.user(JO).unwrap().usage_location.as_deref(),
        Some("FR")
    );
    // A failed call is not "lost": its error comes through.
    let synced = s
        .graph(
            Method::PATCH,
            &format!("/users/{SID}"),
            &t,
            Some(json!({ "accountEnabled": false })),
        )
        .await;
    assert_eq!(synced.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn write_quota_refuses_directory_writes_until_the_window_frees() {
    let s = start(|o| {
        o.write_quota = Some(WriteQuota {
            limit: 3,
            window: Duration::from_secs(60),
        })
    })
    .await;
    let t = s.token("graph").await;
    for enabled in [false, true, false] {
        let r = s
            .graph(
                Method::PATCH,
                &format!("/users/{DANA}"),
                &t,
                Some(json!({ "accountEnabled": enabled })),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
    }
    let over = s
        .graph(
            Method::PATCH,
            &format!("/users/{DANA}"),
            &t,
            Some(json!({ "accountEnabled": true })),
        )
        .await;
    graph_error(&over, StatusCode::TOO_MANY_REQUESTS, "TooManyRequests");
    let wait: f64 = over.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0.0 && wait <= 60.0, "{wait}");
    assert_eq!(
        over.headers["x-ms-throttle-information"],
        "WriteLimitExceeded"
    );
    assert!(
        !s.sim.user(DANA).unwrap().account_enabled,
        "the refused write did not happen"
    );
    // Reads and other services' writes are not directory writes.
    assert_eq!(
        s.graph(Method::GET, &format!("/users/{DANA}"), &t, None)
            .await
            .status,
        StatusCode::OK
    );
    let reply = json!({ "automaticRepliesSetting": { "status": "disabled" } });
    assert_eq!(
        s.graph(
            Method::PATCH,
            &format!("/users/{DANA}/mailboxSettings"),
            &t,
            Some(reply)
        )
        .await
        .status,
        StatusCode::OK
    );
    // Inside a batch, each write is refused on its own.
    let batch = json!({ "requests": [{ "id": "1", "method": "POST", "url": format!("/users/{DANA}/revokeSignInSessions") }] });
    let r = s.graph(Method::POST, "/$batch", &t, Some(batch)).await;
    assert_eq!(r.body["responses"][0]["status"], 429);
}

// ---- parity with the in-process simulated tenant ----

#[tokio::test]
async fn the_same_operations_leave_the_same_tenant_as_in_process() {
    let local = tenant();
    let s = start(|_| {}).await;
    let (g, ex, pc) = (
        s.token("graph").await,
        s.token("exchange").await,
        s.token("partner").await,
    );
    let dana = UserId::new(DANA);

    // In process.
    local.set_account_enabled(&dana, false).await.unwrap();
    local.revoke_sign_in_sessions(&dana).await.unwrap();
    local
        .remove_group_member(&GroupId::new(FINANCE), &dana)
        .await
        .unwrap();
    local
        .set_mailbox_type(&dana, MailboxType::SharedMailbox)
        .await
        .unwrap();
    local
        .set_forwarding(&dana, Some("smtp:sam.ortiz@contoso.com"))
        .await
        .unwrap();
    local
        .add_mailbox_full_access(&dana, "sam.ortiz@contoso.com")
        .await
        .unwrap();
    let reply = AutoReply {
        status: "alwaysEnabled".into(),
        external_audience: "all".into(),
        internal_reply_message: "bye".into(),
        external_reply_message: "bye".into(),
    };
    local.set_auto_reply(&dana, &reply).await.unwrap();
    local
        .assign_license(&dana, &[], &[SkuId::new(POWER_BI)])
        .await
        .unwrap();
    local
        .set_usage_location(&UserId::new(JO), "DE")
        .await
        .unwrap();
    local.delete_user(&UserId::new(FRED)).await.unwrap();
    let mut sub = local.get_partner_subscription(CSP_SUB).await.unwrap();
    sub.quantity += 3;
    local.update_partner_subscription(&sub).await.unwrap();

    // Over HTTP.
    let ok = |r: Reply| assert!(r.status.is_success(), "{} {}", r.status, r.body);
    ok(s.graph(
        Method::PATCH,
        &format!("/users/{DANA}"),
        &g,
        Some(json!({ "accountEnabled": false })),
    )
    .await);
    ok(s.graph(
        Method::POST,
        &format!("/users/{DANA}/revokeSignInSessions"),
        &g,
        None,
    )
    .await);
    ok(s.graph(
        Method::DELETE,
        &format!("/groups/{FINANCE}/members/{DANA}/$ref"),
        &g,
        None,
    )
    .await);
    ok(s.cmdlet(
        &ex,
        "Set-Mailbox",
        json!({ "Identity": DANA, "Type": "Shared" }),
    )
    .await);
    ok(s.cmdlet(
        &ex,
        "Set-Mailbox",
        json!({ "Identity": DANA, "ForwardingSmtpAddress": "smtp:sam.ortiz@contoso.com" }),
    )
    .await);
    ok(s.cmdlet(&ex, "Add-MailboxPermission", json!({ "Identity": DANA, "User": "sam.ortiz@contoso.com", "AccessRights": ["FullAccess"] })).await);
    let patch = json!({ "automaticRepliesSetting": { "status": "alwaysEnabled", "externalAudience": "all", "internalReplyMessage": "bye", "externalReplyMessage": "bye" } });
    ok(s.graph(
        Method::PATCH,
        &format!("/users/{DANA}/mailboxSettings"),
        &g,
        Some(patch),
    )
    .await);
    ok(s.graph(
        Method::POST,
        &format!("/users/{DANA}/assignLicense"),
        &g,
        Some(json!({ "addLicenses": [], "removeLicenses": [POWER_BI] })),
    )
    .await);
    ok(s.graph(
        Method::PATCH,
        &format!("/users/{JO}"),
        &g,
        Some(json!({ "usageLocation": "DE" })),
    )
    .await);
    ok(s.graph(Method::DELETE, &format!("/users/{FRED}"), &g, None)
        .await);
    let path = format!(
        "/partner/v1/customers/{}/subscriptions/{CSP_SUB}",
        s.opts.tenant_id
    );
    let mut remote = s.call(Method::GET, &path, &pc, None).await.body;
    remote["quantity"] = json!(remote["quantity"].as_i64().unwrap() + 3);
    ok(s.call(Method::PATCH, &path, &pc, Some(remote)).await);

    assert_eq!(s.sim.fingerprint(), local.fingerprint());
}
