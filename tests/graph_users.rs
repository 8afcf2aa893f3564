//! The Graph connector's `list_users` and `count_users`: the requests it sends (path, query,
//! `ConsistencyLevel: eventual` on every page), and over HTTP against `offboard sim-graph`
//! the same answers as the in-memory simulated tenant, across pages of two (each page needs
//! the header again, or sim-graph refuses it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod graph_server;
mod sim_graph_common;

use graph_server::{Recorded, Reply as Scripted, Server as Recorder};
use offboard::config::Config;
use offboard::tenant::graph::{GraphConfig, GraphTenant};
use offboard::tenant::{User, UserQuery};
use sim_graph_common::*;

fn connector(s: &Server) -> GraphTenant {
    let base = &s.base;
    let env = [
        ("OFFBOARD_TENANT", "graph".to_string()),
        ("OFFBOARD_TENANT_ID", s.opts.tenant_id.clone()),
        ("OFFBOARD_CLIENT_ID", s.opts.client_id.clone()),
        ("OFFBOARD_CLIENT_SECRET", SECRET.to_string()),
        ("OFFBOARD_LOGIN_URL", format!("{base}/login")),
        ("OFFBOARD_GRAPH_URL", format!("{base}/graph")),
        ("OFFBOARD_EXCHANGE_URL", format!("{base}/exchange")),
        ("OFFBOARD_PARTNER_CENTER_URL", format!("{base}/partner")),
    ];
    let mut cfg = Config::default();
    cfg.apply_env(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
        .unwrap();
    GraphTenant::new(GraphConfig::from_config(&cfg).unwrap()).unwrap()
}

fn by_upn(mut users: Vec<User>) -> Vec<User> {
    users.sort_by(|a, b| a.user_principal_name.cmp(&b.user_principal_name));
    users
}

#[tokio::test]
async fn list_users_over_http_matches_the_simulated_tenant() {
    let s = start(|o| o.max_page_size = Some(2)).await;
    let graph = connector(&s);
    let queries = [
        "department=Sales,usageLocation=US",
        "department=sales",
        "accountEnabled=false",
        "country=Germany,accountEnabled=true",
        "city=New York",
        "jobTitle=Account Manager,companyName=Contoso",
        "officeLocation=Seattle 4/210",
        "companyName=O'Brien & Sons",
    ];
    let mut seen_more_than_a_page = false;
    for text in queries {
        let q = UserQuery::parse(text).unwrap();
        let over_http = by_upn(graph.list_users(&q).await.unwrap());
        let in_memory = by_upn(s.sim.list_users(&q).await.unwrap());
        assert_eq!(over_http, in_memory, "query {text}");
        assert!(over_http.iter().all(|u| q.matches(u)), "query {text}");
        seen_more_than_a_page |= over_http.len() > 2;
    }
    assert!(seen_more_than_a_page, "some query must need several pages");
    let sales_us = graph
        .list_users(&UserQuery::parse("department=Sales,usageLocation=US").unwrap())
        .await
        .unwrap();
    assert_eq!(sales_us.len(), 3);
    assert!(
        sales_us
            .iter()
            .all(|u| u.city.is_some() && u.job_title.is_some())
    );
}

#[tokio::test]
async fn count_users_over_http_matches_and_skips_deleted_users() {
    let s = start(|_| {}).await;
    let graph = connector(&s);
    let before = graph.count_users().await.unwrap();
    assert_eq!(before, s.sim.count_users().await.unwrap());
    assert!(before > 0);
    graph.delete_user(&UserId::new(SAM)).await.unwrap();
    assert_eq!(graph.count_users().await.unwrap(), before - 1);
    assert_eq!(s.sim.count_users().await.unwrap(), before - 1);
    let sales = UserQuery::parse("department=Sales").unwrap();
    let listed = graph.list_users(&sales).await.unwrap();
    assert!(listed.iter().all(|u| u.id.as_str() != SAM));
}

fn answer_directory(r: &Recorded) -> Option<Scripted> {
    if r.is_token() {
        return None;
    }
    let host = r.header("host").unwrap();
    let user = |id: &str, upn: &str| {
        json!({"id": id, "userPrincipalName": upn, "displayName": upn,
        "accountEnabled": true, "companyName": "O'Brien", "city": null})
    };
    Some(if r.uri.starts_with("/graph/v1.0/users/$count") {
        // Graph answers $count as text/plain, sometimes with a byte-order mark.
        Scripted {
            status: 200,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: "\u{feff}1234".as_bytes().to_vec(),
        }
    } else if r.uri.contains("$skiptoken=page2") {
        Scripted::json(200, json!({"value": [user("u2", "b@contoso.com")]}))
    } else {
        Scripted::json(
            200,
            json!({"@odata.count": 2, "value": [user("u1", "a@contoso.com")],
                   "@odata.nextLink": format!("http://{host}/graph/v1.0/users?$count=true&$skiptoken=page2")}),
        )
    })
}

#[tokio::test]
async fn requests_are_advanced_queries_with_the_header_on_every_page() {
    let server = Recorder::start(answer_directory).await;
    let t = server.tenant();
    let q = UserQuery::parse("companyName=O'Brien & Sons,accountEnabled=true").unwrap();
    let users = t.list_users(&q).await.unwrap();
    let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["u1", "u2"]);
    assert_eq!(users[0].company_name.as_deref(), Some("O'Brien"));
    assert_eq!(t.count_users().await.unwrap(), 1234);

    let c = server.calls();
    assert_eq!(c.len(), 3);
    // The URL parser percent-encodes `'` in queries (%27); Graph decodes it back.
    assert_eq!(
        c[0].uri,
        "/graph/v1.0/users?$filter=companyName%20eq%20%27O%27%27Brien%20%26%20Sons%27%20and%20accountEnabled%20eq%20true\
         &$select=id,userPrincipalName,displayName,mail,accountEnabled,usageLocation,onPremisesSyncEnabled,\
         assignedLicenses,licenseAssignmentStates,signInSessionsValidFromDateTime,department,jobTitle,\
         companyName,officeLocation,city,country&$top=999&$count=true"
    );
    assert_eq!(c[1].uri, "/graph/v1.0/users?$count=true&$skiptoken=page2");
    assert_eq!(c[2].uri, "/graph/v1.0/users/$count");
    for r in &c {
        assert_eq!(r.method, "GET");
        assert_eq!(
            r.header("consistencylevel").as_deref(),
            Some("eventual"),
            "{}",
            r.uri
        );
    }
}
