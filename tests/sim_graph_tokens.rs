//! `offboard sim-graph`'s token endpoint over real HTTP (§1): client secrets and assertions
//! accepted or refused with the documented errors, and bearer tokens checked for presence,
//! expiry and audience on every service.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim_graph_common;

use sim_graph_common::*;
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
