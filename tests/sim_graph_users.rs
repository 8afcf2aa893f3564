//! The sim-graph users collection over real HTTP (docs/microsoft-365-api.md §2.3–§2.4): `$filter`
//! on directory attributes, `$select`, `$top` paging with the header resent, `$count` only with
//! `ConsistencyLevel: eventual`, and `GET /users/$count` as plain text.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim_graph_common;

use sim_graph_common::*;

impl Server {
    /// GET under `/graph/v1.0` (or an absolute next link), with or without the header.
    async fn advanced(&self, path_or_url: &str, token: &str, eventual: bool) -> (Reply, String) {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            format!("{}/graph/v1.0{path_or_url}", self.base)
        };
        let mut req = self.http.get(url).bearer_auth(token);
        if eventual {
            req = req.header("ConsistencyLevel", "eventual");
        }
        let r = req.send().await.unwrap();
        let (status, headers) = (r.status(), r.headers().clone());
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        (
            Reply {
                status,
                headers,
                body,
            },
            text,
        )
    }
}

fn upns(items: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = items
        .iter()
        .map(|u| u["userPrincipalName"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn filter_select_and_paging_follow_the_documented_shapes() {
    let s = start(|_| {}).await;
    let t = s.token("graph").await;
    let path = "/users?$filter=department eq 'Sales' and usageLocation eq 'US'&$select=id,userPrincipalName,department&$top=2&$count=true";
    let (first, _) = s.advanced(path, &t, true).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["@odata.count"], 3);
    let page1 = first.body["value"].as_array().unwrap().clone();
    assert_eq!(page1.len(), 2);
    for u in &page1 {
        let keys: Vec<&String> = u.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 3, "only the selected properties: {u}");
        assert_eq!(u["department"], "Sales");
    }
    assert!(
        first.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#users(id,userPrincipalName,department)")
    );
    let next = first.body["@odata.nextLink"].as_str().unwrap().to_string();
    // The next link keeps $count=true, so it too needs the header (§2.3: resend it).
    let (refused, _) = s.advanced(&next, &t, false).await;
    graph_error(
        &refused,
        StatusCode::BAD_REQUEST,
        "Request_UnsupportedQuery",
    );
    let (second, _) = s.advanced(&next, &t, true).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert!(second.body.get("@odata.count").is_none(), "first page only");
    assert!(second.body.get("@odata.nextLink").is_none());
    let mut all = page1;
    all.extend(second.body["value"].as_array().unwrap().iter().cloned());
    assert_eq!(
        upns(&all),
        [
            "dana.lee@contoso.com",
            "dylan.park@contoso.com",
            "sam.ortiz@contoso.com"
        ]
    );
}

#[tokio::test]
async fn filter_compares_strings_case_insensitively_and_booleans_bare() {
    let s = start(|_| {}).await;
    let t = s.token("graph").await;
    let (sales, _) = s
        .advanced(
            "/users?$filter=department eq 'sales'&$select=userPrincipalName",
            &t,
            false,
        )
        .await;
    assert_eq!(sales.status, StatusCode::OK, "{}", sales.body);
    let sales = upns(sales.body["value"].as_array().unwrap());
    assert_eq!(sales.len(), 6, "{sales:?}");
    assert!(sales.contains(&"jo.new@contoso.com".to_string()));

    let (disabled, _) = s
        .advanced("/users?$filter=accountEnabled eq false", &t, false)
        .await;
    assert_eq!(
        upns(disabled.body["value"].as_array().unwrap()),
        ["info@contoso.com"]
    );
    let (quoted, _) = s
        .advanced("/users?$filter=companyName eq 'O''Brien'", &t, false)
        .await;
    assert_eq!(quoted.status, StatusCode::OK, "{}", quoted.body);
    assert_eq!(quoted.body["value"], json!([]));
    let (by_upn, _) = s
        .advanced(
            "/users?$filter=userPrincipalName eq 'Nora.Vidal@contoso.com'&$select=id",
            &t,
            false,
        )
        .await;
    assert_eq!(by_upn.body["value"], json!([{ "id": NORA }]));
}

#[tokio::test]
async fn unsupported_queries_are_refused() {
    let s = start(|_| {}).await;
    let t = s.token("graph").await;
    let (count, _) = s.advanced("/users?$count=true", &t, false).await;
    graph_error(&count, StatusCode::BAD_REQUEST, "Request_UnsupportedQuery");
    let (prop, _) = s
        .advanced("/users?$filter=shoeSize eq '42'", &t, false)
        .await;
    graph_error(&prop, StatusCode::BAD_REQUEST, "Request_UnsupportedQuery");
    assert!(
        prop.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'shoeSize'")
    );
    let (top, _) = s.advanced("/users?$top=1000", &t, false).await;
    graph_error(&top, StatusCode::BAD_REQUEST, "Request_BadRequest");
    let (sel, _) = s.advanced("/users?$select=shoeSize", &t, false).await;
    graph_error(&sel, StatusCode::BAD_REQUEST, "Request_BadRequest");
}

#[tokio::test]
async fn count_segment_is_plain_text_and_skips_deleted_users() {
    let s = start(|_| {}).await;
    let t = s.token("graph").await;
    let (refused, _) = s.advanced("/users/$count", &t, false).await;
    graph_error(&refused, StatusCode::BAD_REQUEST, "Request_BadRequest");
    assert_eq!(
        refused.body["error"]["message"],
        "$count is not currently supported."
    );
    let (ok, text) = s.advanced("/users/$count", &t, true).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(
        ok.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let before: u64 = text.trim().parse().unwrap();
    let (listed, _) = s.advanced("/users?$top=999", &t, false).await;
    assert_eq!(
        listed.body["value"].as_array().unwrap().len() as u64,
        before,
        "the collection and $count agree"
    );

    s.sim.delete_user(&UserId::new(NORA)).await.unwrap();
    let (_, text) = s.advanced("/users/$count", &t, true).await;
    assert_eq!(text.trim().parse::<u64>().unwrap(), before - 1);
    let (gone, _) = s
        .advanced(
            "/users?$filter=userPrincipalName eq 'nora.vidal@contoso.com'",
            &t,
            false,
        )
        .await;
    assert_eq!(gone.body["value"], json!([]));
}
