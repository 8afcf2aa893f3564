//! `offboard sim-graph` over real HTTP: `$batch`, every injected fault (throttled,
//! transient, applied-then-lost), the write quota, and parity: the same operations over HTTP
//! and in process leave the same tenant.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim_graph_common;

use sim_graph_common::*;
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
