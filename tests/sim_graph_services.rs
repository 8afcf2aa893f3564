//! `offboard sim-graph` over real HTTP: mailbox settings, Exchange InvokeCommand, OneDrive
//! and Partner Center with their documented statuses, bodies and paging.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim_graph_common;

use sim_graph_common::*;
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
