//! Tokens of the Graph connector (docs/microsoft-365-api.md §1): client secret and certificate
//! forms, one cached token per audience renewed before expiry, one fetch for many concurrent calls,
//! a 401 renews once; configuration errors name the variable; secrets and tokens never show.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod graph_server;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use graph_server::{CLIENT, DANA, Reply, SECRET, Server, TENANT, graph_error};
use offboard::ids::UserId;
use offboard::tenant::graph::{GraphConfig, GraphTenant};
use offboard::tenant::{MailboxType, Tenant};
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::Verifier;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

fn user_json() -> Value {
    json!({"id": DANA, "userPrincipalName": "dana.lee@contoso.com", "displayName": "Dana Lee", "accountEnabled": true})
}

/// Answers every Graph user GET; Exchange with an empty result.
async fn ok_server() -> Server {
    Server::start(|r| {
        if r.is_token() {
            None
        } else if r.uri.starts_with("/exchange/") {
            Some(Reply::json(200, json!({"value": []})))
        } else {
            Some(Reply::json(200, user_json()))
        }
    })
    .await
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn secret_token_request_is_the_documented_form_and_each_service_has_its_audience() {
    let server = ok_server().await;
    let t = server.tenant();
    t.get_user(DANA).await.unwrap();
    t.get_user(DANA).await.unwrap();
    t.set_mailbox_type(&UserId::new(DANA), MailboxType::SharedMailbox)
        .await
        .unwrap();
    let tokens = server.token_requests();
    assert_eq!(tokens.len(), 2, "one token per audience, reused");
    let graph = tokens[0].form();
    assert_eq!(tokens[0].uri, format!("/login/{TENANT}/oauth2/v2.0/token"));
    assert_eq!(field(&graph, "client_id"), Some(CLIENT));
    assert_eq!(field(&graph, "client_secret"), Some(SECRET));
    assert_eq!(field(&graph, "grant_type"), Some("client_credentials"));
    assert_eq!(
        field(&graph, "scope"),
        Some(format!("{}/graph/.default", server.base).as_str())
    );
    let exo = tokens[1].form();
    assert_eq!(
        field(&exo, "scope"),
        Some(format!("{}/exchange/.default", server.base).as_str())
    );
    let calls = server.calls();
    assert_eq!(
        calls[0].header("authorization").as_deref(),
        Some("Bearer tok-1")
    );
    assert_eq!(
        calls[1].header("authorization").as_deref(),
        Some("Bearer tok-1")
    );
    assert_eq!(
        calls[2].header("authorization").as_deref(),
        Some("Bearer tok-2")
    );
    assert!(calls[0].header("client-request-id").is_some());
    assert_eq!(t.token_fetches(), [1, 1, 0]);
}

#[tokio::test]
async fn partner_center_tokens_come_from_the_partner_tenant() {
    let server = Server::start(|r| {
        (!r.is_token()).then(|| Reply::json(200, json!({
            "id": "s1", "offerId": "P:0001:A", "quantity": 5, "commitmentEndDate": "2027-01-09T00:00:00Z",
            "status": "active", "autoRenewEnabled": true, "billingCycle": "monthly", "termDuration": "P1Y"})))
    })
    .await;
    let mut cfg = server.config();
    cfg.partner_tenant_id = Some("partner.onmicrosoft.com".into());
    cfg.csp_customer_id = Some("cust-1".into());
    let mut g = GraphConfig::from_config(&cfg).unwrap();
    g.limits = graph_server::unlimited();
    let t = GraphTenant::new(g).unwrap();
    let sub = t.get_partner_subscription("s1").await.unwrap();
    assert_eq!(sub.quantity, 5);
    let token = &server.token_requests()[0];
    assert_eq!(
        token.uri,
        "/login/partner.onmicrosoft.com/oauth2/v2.0/token"
    );
    assert_eq!(
        field(&token.form(), "scope"),
        Some(format!("{}/partner/.default", server.base).as_str())
    );
    let call = &server.calls()[0];
    assert_eq!(call.uri, "/partner/v1/customers/cust-1/subscriptions/s1");
    assert!(call.header("ms-requestid").is_some() && call.header("ms-correlationid").is_some());
    assert_eq!(call.header("accept").as_deref(), Some("application/json"));
}

#[tokio::test]
async fn certificate_form_sends_a_signed_assertion_with_the_sha256_thumbprint() {
    let server = ok_server().await;
    let pem_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/graph/test-client-cert.pem");
    let mut cfg = server.config();
    cfg.client_secret = None;
    cfg.client_cert = Some(pem_path.clone());
    let mut g = GraphConfig::from_config(&cfg).unwrap();
    g.limits = graph_server::unlimited();
    GraphTenant::new(g).unwrap().get_user(DANA).await.unwrap();

    let form = server.token_requests()[0].form();
    assert_eq!(field(&form, "client_secret"), None);
    assert_eq!(
        field(&form, "client_assertion_type"),
        Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );
    let jwt = field(&form, "client_assertion").unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();

    let pem = std::fs::read_to_string(&pem_path).unwrap();
    let cert_b64: String = pem
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)
        .unwrap()
        .split("-----END CERTIFICATE-----")
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let der = STANDARD.decode(cert_b64).unwrap();
    assert_eq!(header["alg"], "PS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(
        header["x5t#S256"],
        URL_SAFE_NO_PAD.encode(Sha256::digest(&der))
    );
    assert_eq!(
        claims["aud"],
        format!("{}/login/{TENANT}/oauth2/v2.0/token", server.base)
    );
    assert_eq!(
        (claims["iss"].as_str(), claims["sub"].as_str()),
        (Some(CLIENT), Some(CLIENT))
    );
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let (nbf, exp) = (
        claims["nbf"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!(exp > nbf && exp - nbf <= 600, "at most 10 minutes");

    let key_pem = format!(
        "-----BEGIN PRIVATE KEY-----{}",
        pem.split("-----BEGIN PRIVATE KEY-----").nth(1).unwrap()
    );
    let public = rsa::PrivateKey::from_pkcs8_pem(&key_pem)
        .unwrap()
        .to_public_key();
    let verifier = rsa::pss::VerifyingKey::<Sha256>::new(public);
    let signature =
        rsa::pss::Signature::try_from(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().as_slice())
            .unwrap();
    verifier
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .expect("the assertion is signed with the certificate's key");
}

#[tokio::test(start_paused = true)]
async fn a_token_is_reused_until_shortly_before_expiry_then_renewed() {
    let server = ok_server().await;
    let t = server.tenant();
    t.get_user(DANA).await.unwrap();
    tokio::time::advance(Duration::from_secs(3000)).await;
    t.get_user(DANA).await.unwrap();
    assert_eq!(
        server.token_requests().len(),
        1,
        "still valid after 3000 s of 3599"
    );
    // Renewed 5 minutes early: from 3299 s on.
    tokio::time::advance(Duration::from_secs(300)).await;
    t.get_user(DANA).await.unwrap();
    assert_eq!(server.token_requests().len(), 2, "renewed before expiry");
    assert_eq!(
        server.calls()[2].header("authorization").as_deref(),
        Some("Bearer tok-2")
    );
}

#[tokio::test(start_paused = true)]
async fn a_second_call_after_expiry_fetches_a_new_token() {
    let server = ok_server().await;
    server.token_lifetime.store(60, Ordering::SeqCst);
    let t = server.tenant();
    t.get_user(DANA).await.unwrap();
    tokio::time::advance(Duration::from_secs(61)).await;
    t.get_user(DANA).await.unwrap();
    assert_eq!(server.token_requests().len(), 2);
}

#[tokio::test]
async fn a_hundred_concurrent_calls_share_one_token_request() {
    let server = ok_server().await;
    let t = Arc::new(server.tenant());
    let calls: Vec<_> = (0..100)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move { t.get_user(DANA).await })
        })
        .collect();
    for c in calls {
        c.await.unwrap().unwrap();
    }
    assert_eq!(server.token_requests().len(), 1);
    assert_eq!(server.calls().len(), 100);
}

#[tokio::test]
async fn a_rejected_token_is_renewed_once_and_the_call_repeated() {
    let rejected = Arc::new(AtomicBool::new(false));
    let server = Server::start({
        let rejected = rejected.clone();
        move |r| {
            if r.is_token() {
                return None;
            }
            if !rejected.swap(true, Ordering::SeqCst) {
                return Some(graph_error(
                    401,
                    "InvalidAuthenticationToken",
                    "Access token has expired or is not yet valid.",
                    "rid-401",
                ));
            }
            Some(Reply::json(200, user_json()))
        }
    })
    .await;
    let t = server.tenant();
    assert_eq!(t.get_user(DANA).await.unwrap().display_name, "Dana Lee");
    assert_eq!(server.token_requests().len(), 2);
    assert_eq!(
        server.calls()[1].header("authorization").as_deref(),
        Some("Bearer tok-2")
    );
}

#[tokio::test]
async fn a_token_that_keeps_being_rejected_is_unauthorized_without_showing_it() {
    let server = Server::start(|r| {
        (!r.is_token()).then(|| {
            graph_error(
                401,
                "InvalidAuthenticationToken",
                "Access token validation failure.",
                "rid-401",
            )
        })
    })
    .await;
    let t = server.tenant();
    let err = t.get_user(DANA).await.unwrap_err();
    assert_eq!(err.kind, offboard::tenant::ErrorKind::Unauthorized);
    assert_eq!(
        server.token_requests().len(),
        2,
        "renewed once, not forever"
    );
    for shown in [err.to_string(), format!("{err:?}"), format!("{t:?}")] {
        assert!(!shown.contains("tok-"), "token shown: {shown}");
        assert!(!shown.contains(SECRET), "secret shown: {shown}");
    }
}

#[test]
fn secrets_never_show_in_debug_of_the_configuration() {
    let mut cfg = offboard::config::Config::default();
    let env = [
        ("OFFBOARD_TENANT_ID", TENANT),
        ("OFFBOARD_CLIENT_ID", CLIENT),
        ("OFFBOARD_CLIENT_SECRET", SECRET),
        ("OFFBOARD_ADMIN_TOKEN", "admin-token-value"),
    ];
    cfg.apply_env(|k| {
        env.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .unwrap();
    let g = GraphConfig::from_config(&cfg).unwrap();
    for shown in [
        format!("{cfg:?}"),
        format!("{g:?}"),
        format!("{:?}", GraphTenant::new(g.clone()).unwrap()),
    ] {
        assert!(
            !shown.contains(SECRET) && !shown.contains("admin-token-value"),
            "{shown}"
        );
    }
    let pem =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/graph/test-client-cert.pem");
    cfg.client_secret = None;
    cfg.client_cert = Some(pem.clone());
    let g = GraphConfig::from_config(&cfg).unwrap();
    let key_line = std::fs::read_to_string(&pem)
        .unwrap()
        .lines()
        .rev()
        .nth(1)
        .unwrap()
        .to_string();
    assert!(!format!("{g:?}").contains(&key_line));
}

#[test]
fn configuration_errors_name_the_variable() {
    let base = [
        ("OFFBOARD_TENANT_ID", TENANT.to_string()),
        ("OFFBOARD_CLIENT_ID", CLIENT.to_string()),
        ("OFFBOARD_CLIENT_SECRET", SECRET.to_string()),
    ];
    let build = |drop: &str, extra: &[(&str, &str)]| {
        let mut cfg = offboard::config::Config::default();
        cfg.apply_env(|k| {
            extra
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
                .or_else(|| {
                    base.iter()
                        .find(|(n, _)| *n == k && *n != drop)
                        .map(|(_, v)| v.clone())
                })
        })
        // a URL without a scheme is refused when the configuration loads
        .map_err(|e| e.to_string())
        .and_then(|()| GraphTenant::from_config(&cfg).map_err(|e| e.to_string()))
        .map(|_| ())
        .unwrap_err()
    };
    assert!(build("OFFBOARD_TENANT_ID", &[]).contains("OFFBOARD_TENANT_ID"));
    assert!(build("OFFBOARD_CLIENT_ID", &[]).contains("OFFBOARD_CLIENT_ID"));
    let no_credential = build("OFFBOARD_CLIENT_SECRET", &[]);
    assert!(
        no_credential.contains("OFFBOARD_CLIENT_SECRET")
            && no_credential.contains("OFFBOARD_CLIENT_CERT")
    );
    assert!(
        build("", &[("OFFBOARD_GRAPH_URL", "graph.microsoft.us")]).contains("OFFBOARD_GRAPH_URL")
    );
    assert!(build("", &[("OFFBOARD_CLIENT_CERT", "/nonexistent.pem")]).contains("only one"));
    let missing_file = build(
        "OFFBOARD_CLIENT_SECRET",
        &[("OFFBOARD_CLIENT_CERT", "/nonexistent.pem")],
    );
    assert!(
        missing_file.contains("OFFBOARD_CLIENT_CERT") && missing_file.contains("/nonexistent.pem")
    );
}

#[test]
fn national_cloud_urls_come_from_the_environment() {
    let mut cfg = offboard::config::Config::default();
    let env = [
        ("OFFBOARD_TENANT_ID", TENANT),
        ("OFFBOARD_CLIENT_ID", CLIENT),
        ("OFFBOARD_CLIENT_SECRET", SECRET),
        ("OFFBOARD_LOGIN_URL", "https://login.microsoftonline.us/"),
        ("OFFBOARD_GRAPH_URL", "https://graph.microsoft.us"),
        ("OFFBOARD_EXCHANGE_URL", "https://outlook.office365.us"),
    ];
    cfg.apply_env(|k| {
        env.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .unwrap();
    let g = GraphConfig::from_config(&cfg).unwrap();
    assert_eq!(
        g.token_url(TENANT),
        format!("https://login.microsoftonline.us/{TENANT}/oauth2/v2.0/token")
    );
    assert_eq!(g.graph_base(), "https://graph.microsoft.us/v1.0");
    assert_eq!(
        g.invoke_command_url(),
        format!("https://outlook.office365.us/adminapi/beta/{TENANT}/InvokeCommand")
    );
    assert_eq!(
        g.partner_center_url,
        "https://api.partnercenter.microsoft.com"
    );
    assert_eq!(
        (g.partner_tenant_id.as_str(), g.csp_customer_id.as_str()),
        (TENANT, TENANT)
    );
}
