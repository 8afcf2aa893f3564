//! `offboard sim-graph` over real HTTP (the server in-process on an ephemeral port, a plain
//! HTTP client): the Graph directory paths (users, recycle bin, licenses, groups,
//! subscriptions) with their documented statuses, bodies and paging.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim_graph_common;

use sim_graph_common::*;
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
