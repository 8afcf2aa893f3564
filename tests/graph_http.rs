//! The Graph connector's HTTP behaviour (docs/microsoft-365-api.md §2.3, §7, §8): paging to the
//! end, Retry-After honoured with paused time (decimals, dates), bounded retries, $batch with a
//! throttled item, the client-side limiter slowing down after 429s.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod graph_server;

use graph_server::{DANA, Reply, Server, graph_error};
use offboard::ids::UserId;
use offboard::tenant::graph::{Family, GraphTenant, Rate};
use offboard::tenant::{DirectoryObject, ErrorKind, Tenant};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::Instant;

fn dana() -> UserId {
    UserId::new(DANA)
}

fn user_json() -> Value {
    json!({"id": DANA, "userPrincipalName": "dana.lee@contoso.com", "displayName": "Dana Lee", "accountEnabled": true})
}

fn group(i: usize) -> Value {
    json!({"@odata.type": "#microsoft.graph.group", "id": format!("g{i}"), "displayName": format!("Group {i}"),
           "groupTypes": [], "mailEnabled": false, "securityEnabled": true})
}

fn with_retries(server: &Server, tries: u32) -> GraphTenant {
    let mut g = server.graph_config();
    g.http.tries = tries;
    GraphTenant::new(g).unwrap()
}

/// A server whose non-token answers come from `replies` in order, then `last` forever.
async fn scripted(replies: Vec<Reply>, last: Reply) -> Server {
    let next = Arc::new(AtomicUsize::new(0));
    Server::start(move |r| {
        if r.is_token() {
            return None;
        }
        let i = next.fetch_add(1, Ordering::SeqCst);
        Some(replies.get(i).cloned().unwrap_or_else(|| last.clone()))
    })
    .await
}

fn throttled(retry_after: &str) -> Reply {
    graph_error(
        429,
        "TooManyRequests",
        "Please retry again later.",
        "rid-429",
    )
    .header("Retry-After", retry_after)
}

// ---- paging (§2.3) ----

#[tokio::test]
async fn lists_follow_next_links_to_the_last_page() {
    let server = Server::start(|r| {
        if r.is_token() {
            return None;
        }
        let page = |values: Vec<Value>, next: Option<String>| {
            let mut v = json!({"value": values});
            if let Some(n) = next {
                v["@odata.nextLink"] = json!(n);
            }
            Reply::json(200, v)
        };
        let host = r.header("host").unwrap();
        let link = |token: &str| format!("http://{host}/graph/v1.0/directory/deletedItems/microsoft.graph.user?$skiptoken={token}");
        let deleted = |id: &str| json!({"id": id, "userPrincipalName": format!("{id}@contoso.com"), "displayName": id, "deletedDateTime": "2026-09-01T10:02:44Z"});
        Some(if r.uri.contains("$skiptoken=p2") {
            page(vec![deleted("u3")], Some(link("p3")))
        } else if r.uri.contains("$skiptoken=p3") {
            page(vec![deleted("u4"), deleted("u5")], None)
        } else {
            page(vec![deleted("u1"), deleted("u2")], Some(link("p2")))
        })
    })
    .await;
    let all = server.tenant().list_deleted_users().await.unwrap();
    let ids: Vec<&str> = all.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["u1", "u2", "u3", "u4", "u5"]);
    let calls = server.calls();
    assert_eq!(calls.len(), 3);
    assert!(
        calls[0]
            .uri
            .starts_with("/graph/v1.0/directory/deletedItems/microsoft.graph.user?$select=")
    );
    assert!(calls[0].uri.contains("$top=999"));
    assert!(
        calls[1].uri.ends_with("$skiptoken=p2") && calls[2].uri.ends_with("$skiptoken=p3"),
        "links followed unchanged"
    );
    assert!(calls.iter().all(|c| c.header("authorization").is_some()));
}

#[tokio::test]
async fn a_next_link_to_another_host_is_not_followed() {
    let server = Server::start(|r| {
        (!r.is_token()).then(|| Reply::json(200, json!({"value": [], "@odata.nextLink": "https://elsewhere.example/graph/v1.0/subscribedSkus?$skiptoken=x"})))
    })
    .await;
    let err = server.tenant().list_skus().await.unwrap_err();
    assert_eq!(err.code, "UnexpectedNextLink");
    assert_eq!(
        server.calls().len(),
        1,
        "the bearer token never went to the other host"
    );
}

#[tokio::test]
async fn delta_pages_carry_next_and_delta_links() {
    let server = Server::start(|r| {
        if r.is_token() {
            return None;
        }
        let host = r.header("host").unwrap();
        Some(if r.uri.contains("token=") {
            Reply::json(200, json!({"value": [{"id": "01F", "name": "q3.xlsx", "size": 3, "file": {}, "parentReference": {"id": "01R"}}],
                "@odata.deltaLink": format!("http://{host}/graph/v1.0/drives/b!x/root/delta?token=d")}))
        } else {
            Reply::json(200, json!({"value": [{"id": "01R", "name": "root", "root": {}, "folder": {"childCount": 1}}],
                "@odata.nextLink": format!("http://{host}/graph/v1.0/drives/b!x/root/delta?token=n")}))
        })
    })
    .await;
    let t = server.tenant();
    let drive = offboard::ids::DriveId::new("b!x");
    let first = t.drive_delta(&drive, None).await.unwrap();
    assert!(first.items[0].is_root && first.delta_link.is_none());
    let second = t
        .drive_delta(&drive, first.next_link.as_deref())
        .await
        .unwrap();
    assert_eq!(second.items[0].parent_id.as_deref(), Some("01R"));
    assert!(second.next_link.is_none() && second.delta_link.is_some());
    assert!(
        server.calls()[0]
            .uri
            .starts_with("/graph/v1.0/drives/b!x/root/delta?$select=")
    );
}

// ---- Retry-After and retries (§8.1) ----

#[tokio::test(start_paused = true)]
async fn retry_after_in_decimal_seconds_is_waited_exactly() {
    let server = scripted(
        vec![throttled("1.5"), throttled("0.25")],
        Reply::json(200, user_json()),
    )
    .await;
    let t = with_retries(&server, 4);
    let started = Instant::now();
    t.get_user(DANA).await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1750) && waited < Duration::from_millis(1800),
        "{waited:?}"
    );
    assert_eq!(server.calls().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn retry_after_as_an_http_date_is_honoured() {
    let at = chrono::Utc::now() + chrono::Duration::seconds(5);
    let date = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let server = scripted(vec![throttled(&date)], Reply::json(200, user_json())).await;
    let t = with_retries(&server, 3);
    let started = Instant::now();
    t.get_user(DANA).await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(3) && waited <= Duration::from_secs(6),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn transient_failures_back_off_with_jitter_within_the_cap() {
    let unavailable = graph_error(503, "serviceNotAvailable", "Service unavailable", "rid-503");
    let timeout = graph_error(504, "GatewayTimeout", "Gateway timeout", "rid-504");
    let server = scripted(vec![unavailable, timeout], Reply::json(200, user_json())).await;
    let t = with_retries(&server, 3);
    let started = Instant::now();
    t.get_user(DANA).await.unwrap();
    // Full jitter: at most 0.5 s then 1 s.
    assert!(
        started.elapsed() <= Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.calls().len(), 3);
    let ids: Vec<_> = server
        .calls()
        .iter()
        .map(|c| c.header("client-request-id"))
        .collect();
    assert!(
        ids[0].is_some() && ids.iter().all(|i| *i == ids[0]),
        "one client-request-id per logical call"
    );
}

#[tokio::test(start_paused = true)]
async fn retries_are_bounded_and_the_last_error_carries_its_request_id() {
    let server = scripted(vec![], throttled("2")).await;
    let t = with_retries(&server, 3);
    let started = Instant::now();
    let err = t.get_user(DANA).await.unwrap_err();
    assert_eq!(
        err.kind,
        ErrorKind::Throttled {
            retry_after: Some(Duration::from_secs(2))
        }
    );
    assert!(err.to_string().contains("rid-429"), "{err}");
    assert_eq!(server.calls().len(), 3);
    assert!(started.elapsed() >= Duration::from_secs(4));
}

#[tokio::test(start_paused = true)]
async fn a_long_retry_after_goes_back_to_the_engine_at_once() {
    let server = scripted(vec![], throttled("600")).await;
    let t = with_retries(&server, 5);
    let started = Instant::now();
    let err = t.get_user(DANA).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(600)));
    assert_eq!(server.calls().len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "not slept in the call"
    );
}

#[tokio::test(start_paused = true)]
async fn permanent_errors_are_not_retried() {
    let server = scripted(vec![], Reply::fixture("license-no-corresponding.json")).await;
    let t = with_retries(&server, 5);
    let err = t
        .assign_license(&dana(), &[], &[offboard::ids::SkuId::new("s")])
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NoCorrespondingLicense);
    assert_eq!(server.calls().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn partner_center_retries_keep_their_ms_request_id() {
    let sub = json!({"id": "s1", "offerId": "P:0001:A", "quantity": 5, "commitmentEndDate": "2027-01-09T00:00:00Z",
        "status": "active", "autoRenewEnabled": true, "billingCycle": "monthly", "termDuration": "P1Y"});
    let busy =
        Reply::json(503, json!({"code": 503, "description": "busy"})).header("Retry-After", "1");
    let server = scripted(vec![busy], Reply::json(200, sub.clone())).await;
    let t = with_retries(&server, 3);
    let parsed = serde_json::from_value(sub).unwrap();
    t.update_partner_subscription(&parsed).await.unwrap();
    t.get_partner_subscription("s1").await.unwrap();
    let ids: Vec<_> = server
        .calls()
        .iter()
        .map(|c| c.header("ms-requestid").unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(
        ids[0], ids[1],
        "same MS-RequestId on the retry of one PATCH"
    );
    assert_ne!(ids[1], ids[2], "a new one for the next logical call");
    assert_eq!(server.calls()[0].method, "PATCH");
    assert_eq!(server.calls()[0].json()["quantity"], 5);
}

// ---- $batch (§7) ----

fn batch_server(
    groups: usize,
    throttle_once: Option<&'static str>,
) -> impl Fn(&graph_server::Recorded) -> Option<Reply> + Send + Sync + 'static {
    let throttled_already = Arc::new(std::sync::atomic::AtomicBool::new(false));
    move |r| {
        if r.is_token() {
            return None;
        }
        if r.uri.contains("/memberOf") {
            let mut values: Vec<Value> = (0..groups).map(group).collect();
            values.push(json!({"@odata.type": "#microsoft.graph.directoryRole", "id": "r1", "displayName": "Helpdesk Administrator", "roleTemplateId": "t1"}));
            return Some(Reply::json(200, json!({"value": values})));
        }
        assert_eq!(r.uri, "/graph/v1.0/$batch");
        let requests = r.json()["requests"].as_array().unwrap().clone();
        assert!(requests.len() <= 20, "at most 20 per batch");
        let responses: Vec<Value> = requests
            .iter()
            .map(|q| {
                let url = q["url"].as_str().unwrap();
                assert_eq!(q["method"], "GET");
                let gid = url.trim_start_matches("/groups/").split('?').next().unwrap().to_string();
                if Some(gid.as_str()) == throttle_once && !throttled_already.swap(true, Ordering::SeqCst) {
                    return json!({"id": q["id"], "status": 429, "headers": {"Retry-After": "2", "Content-Type": "application/json"},
                        "body": {"error": {"code": "TooManyRequests", "message": "Please retry again later."}}});
                }
                json!({"id": q["id"], "status": 200, "headers": {"Content-Type": "application/json"},
                    "body": {"id": gid, "displayName": "from batch", "groupTypes": [], "assignedLicenses": [{"skuId": "sku-1", "disabledPlans": []}]}})
            })
            .rev() // the order of responses is not guaranteed
            .collect();
        Some(Reply::json(200, json!({"responses": responses})))
    }
}

#[tokio::test(start_paused = true)]
async fn member_of_reads_group_details_in_batches_and_retries_only_the_throttled_item() {
    let server = Server::start(batch_server(3, Some("g1"))).await;
    let t = with_retries(&server, 4);
    let started = Instant::now();
    let objects = t.member_of(&dana()).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited the item's Retry-After"
    );
    let groups: Vec<_> = objects
        .iter()
        .filter_map(|o| match o {
            DirectoryObject::Group(g) => Some(g),
            DirectoryObject::DirectoryRole { .. } => None,
        })
        .collect();
    assert_eq!(groups.len(), 3);
    assert!(
        groups
            .iter()
            .all(|g| g.display_name == "from batch" && g.assigned_licenses.len() == 1)
    );
    assert_eq!(objects.len(), 4, "the directory role stays");
    let batches: Vec<_> = server
        .calls()
        .into_iter()
        .filter(|c| c.uri.ends_with("$batch"))
        .collect();
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[0].json()["requests"].as_array().unwrap().len(), 3);
    let second = batches[1].json()["requests"].as_array().unwrap().clone();
    assert_eq!(second.len(), 1, "only the throttled item again");
    assert!(
        second[0]["url"]
            .as_str()
            .unwrap()
            .starts_with("/groups/g1?$select=")
    );
}

#[tokio::test]
async fn more_than_twenty_groups_take_several_batches() {
    let server = Server::start(batch_server(45, None)).await;
    let objects = server.tenant().member_of(&dana()).await.unwrap();
    assert_eq!(objects.len(), 46);
    let sizes: Vec<usize> = server
        .calls()
        .iter()
        .filter(|c| c.uri.ends_with("$batch"))
        .map(|c| c.json()["requests"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [20, 20, 5]);
}

// ---- the client-side limiter (§8.2) ----

#[tokio::test(start_paused = true)]
async fn the_limiter_slows_down_after_429s() {
    let ok = Reply::empty(204);
    let mut replies = vec![ok.clone(); 10];
    replies.push(throttled("0"));
    let server = scripted(replies, ok).await;
    let mut g = server.graph_config();
    g.http.tries = 3;
    g.limits.directory_write = Rate {
        per_second: 10.0,
        burst: 1.0,
    };
    let t = GraphTenant::new(g).unwrap();
    let writes = |n: usize| {
        let t = t.clone();
        async move {
            let started = Instant::now();
            for _ in 0..n {
                t.set_account_enabled(&dana(), false).await.unwrap();
            }
            started.elapsed()
        }
    };
    let before = writes(10).await;
    assert!(t.current_rate(Family::DirectoryWrite) == 10.0);
    writes(1).await; // throttled once, then retried
    let slowed = t.current_rate(Family::DirectoryWrite);
    assert!(slowed <= 5.5, "halved after the 429: {slowed}");
    let after = writes(10).await;
    assert!(
        after > before + before / 2,
        "slower after a 429: {before:?} then {after:?}"
    );
    assert!(
        t.current_rate(Family::DirectoryWrite) > slowed,
        "recovering with successes"
    );
}
