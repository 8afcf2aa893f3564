//! What the Graph connector sends for each trait method (method, path, query, headers,
//! body: the contract `offboard sim-graph` serves) and how it reads the documented answers
//! (docs/microsoft-365-api.md §3–§6, §9).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod graph_server;

use graph_server::{DANA, Recorded, Reply, Server, TENANT};
use offboard::ids::{DriveId, GroupId, SkuId, UserId};
use offboard::tenant::{AssignedLicense, AutoReply, MailboxType, Tenant};
use serde_json::{Value, json};

const SAM: &str = "a06d2f84-1c3b-4e9a-97d5-2b8e4f61c0d3";
const E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";
const GROUP: &str = "5d1a7e02-96c4-4b3f-8e17-c2a9f0b6d4e8";

fn dana() -> UserId {
    UserId::new(DANA)
}

fn user(id: &str, upn: &str) -> Value {
    json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
        "id": id, "userPrincipalName": upn, "displayName": "Dana Lee", "accountEnabled": true, "usageLocation": "US",
        "mail": upn, "onPremisesSyncEnabled": null, "assignedLicenses": [{"disabledPlans": [], "skuId": E3}],
        "licenseAssignmentStates": [{"assignedByGroup": null, "disabledPlans": [], "error": "None", "skuId": E3, "state": "Active"}],
        "signInSessionsValidFromDateTime": "2026-09-01T10:00:00Z"})
}

fn answer_users(r: &Recorded) -> Option<Reply> {
    if r.is_token() {
        return None;
    }
    let path = r.uri.split('?').next().unwrap();
    Some(match (r.method.as_str(), path) {
        ("GET", p) if p.ends_with("/manager") => Reply::json(
            200,
            json!({"@odata.type": "#microsoft.graph.user", "id": SAM, "userPrincipalName": "sam.ortiz@contoso.com", "displayName": "Sam Ortiz"}),
        ),
        ("GET", p) if p.starts_with("/graph/v1.0/users/") => {
            Reply::json(200, user(DANA, "dana.lee@contoso.com"))
        }
        ("GET", p) if p.starts_with("/graph/v1.0/directory/deletedItems/") => Reply::json(
            200,
            json!({"@odata.type": "#microsoft.graph.user", "id": DANA, "userPrincipalName": "3b9f6c1e8a244d57b0e36f2c91d4a8b5dana.lee@contoso.com", "displayName": "Dana Lee", "deletedDateTime": "2026-09-01T10:02:44Z"}),
        ),
        ("PATCH" | "DELETE", _) => Reply::empty(204),
        ("POST", p) if p.ends_with("/revokeSignInSessions") => Reply::json(
            200,
            json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean", "value": true}),
        ),
        ("POST", p) if p.ends_with("/restore") => Reply::json(
            200,
            json!({"@odata.type": "#microsoft.graph.user", "id": DANA, "displayName": "Dana Lee", "userPrincipalName": "dana.lee@contoso.com"}),
        ),
        ("POST", p)
            if p.ends_with("/assignLicense") || p.ends_with("/reprocessLicenseAssignment") =>
        {
            Reply::json(200, user(DANA, "dana.lee@contoso.com"))
        }
        ("POST", p) if p.ends_with("/members/$ref") => Reply::empty(204),
        _ => Reply::json(404, json!({"error": {"code": "NoRoute", "message": r.uri}})),
    })
}

#[tokio::test]
async fn user_calls_use_the_documented_paths_and_bodies() {
    let server = Server::start(answer_users).await;
    let t = server.tenant();
    let u = t.get_user("dana.lee@contoso.com").await.unwrap();
    assert_eq!(
        (
            u.id.as_str(),
            u.usage_location.as_deref(),
            u.direct_skus().len()
        ),
        (DANA, Some("US"), 1)
    );
    assert!(u.sign_in_sessions_valid_from.is_some());
    t.get_user("ext_x#EXT#@contoso.onmicrosoft.com")
        .await
        .unwrap();
    t.set_account_enabled(&dana(), false).await.unwrap();
    t.set_usage_location(&dana(), "GB").await.unwrap();
    t.revoke_sign_in_sessions(&dana()).await.unwrap();
    assert_eq!(
        t.get_manager(&dana())
            .await
            .unwrap()
            .unwrap()
            .user_principal_name,
        "sam.ortiz@contoso.com"
    );
    t.delete_user(&dana()).await.unwrap();
    let deleted = t.get_deleted_user(&dana()).await.unwrap();
    assert_eq!(
        deleted.deleted_date_time.to_rfc3339(),
        "2026-09-01T10:02:44+00:00"
    );
    assert_eq!(
        t.restore_deleted_user(&dana()).await.unwrap().id.as_str(),
        DANA
    );
    t.purge_deleted_user(&dana()).await.unwrap();

    let c = server.calls();
    let line = |r: &Recorded| format!("{} {}", r.method, r.uri);
    assert_eq!(
        line(&c[0]),
        "GET /graph/v1.0/users/dana.lee@contoso.com?$select=id,userPrincipalName,displayName,mail,accountEnabled,usageLocation,onPremisesSyncEnabled,assignedLicenses,licenseAssignmentStates,signInSessionsValidFromDateTime,department,jobTitle,companyName,officeLocation,city,country"
    );
    assert!(
        c[1].uri
            .starts_with("/graph/v1.0/users/ext_x%23EXT%23@contoso.onmicrosoft.com?")
    );
    assert_eq!(line(&c[2]), format!("PATCH /graph/v1.0/users/{DANA}"));
    assert_eq!(c[2].json(), json!({"accountEnabled": false}));
    assert_eq!(
        c[2].header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(c[3].json(), json!({"usageLocation": "GB"}));
    assert_eq!(
        line(&c[4]),
        format!("POST /graph/v1.0/users/{DANA}/revokeSignInSessions")
    );
    assert!(
        c[5].uri
            .starts_with(&format!("/graph/v1.0/users/{DANA}/manager?$select="))
    );
    assert_eq!(line(&c[6]), format!("DELETE /graph/v1.0/users/{DANA}"));
    assert_eq!(
        line(&c[7]),
        format!("GET /graph/v1.0/directory/deletedItems/{DANA}")
    );
    assert_eq!(
        line(&c[8]),
        format!("POST /graph/v1.0/directory/deletedItems/{DANA}/restore")
    );
    assert!(
        c[9].uri
            .starts_with(&format!("/graph/v1.0/users/{DANA}?$select=")),
        "re-read after restore"
    );
    assert_eq!(
        line(&c[10]),
        format!("DELETE /graph/v1.0/directory/deletedItems/{DANA}")
    );
}

#[tokio::test]
async fn license_and_group_calls_use_the_documented_paths_and_bodies() {
    let server = Server::start(|r| {
        if r.uri.starts_with("/graph/v1.0/groups/") && r.method == "GET" {
            return Some(Reply::json(200, json!({"id": GROUP, "displayName": "Licensing - M365 E3", "groupTypes": [], "mailEnabled": false,
                "securityEnabled": true, "onPremisesSyncEnabled": null, "membershipRule": null, "assignedLicenses": [{"skuId": E3, "disabledPlans": []}]})));
        }
        if r.uri.starts_with("/graph/v1.0/subscribedSkus") {
            return Some(Reply::json(200, json!({"value": [{"id": format!("{TENANT}_{E3}"), "accountId": TENANT, "appliesTo": "User",
                "capabilityStatus": "Enabled", "consumedUnits": 48, "prepaidUnits": {"enabled": 50, "suspended": 0, "warning": 0, "lockedOut": 0},
                "servicePlans": [{"servicePlanId": "efb87545-963c-4e0d-99df-69c6916d9eb0", "servicePlanName": "EXCHANGE_S_ENTERPRISE", "provisioningStatus": "Success", "appliesTo": "User"}],
                "skuId": E3, "skuPartNumber": "SPE_E3", "subscriptionIds": ["2c8d1f0e-77a1-4e5b-9c3d-6a0b2e4f8d19"]}]})));
        }
        if r.uri.starts_with("/graph/v1.0/directory/subscriptions") {
            return Some(Reply::json(200, json!({"value": [{"id": "2c8d1f0e-77a1-4e5b-9c3d-6a0b2e4f8d19", "commerceSubscriptionId": "a3c9e1f7-0b2d-4e6a-8c4f-1d3e5b7a9c20",
                "createdDateTime": "2025-01-10T00:00:00Z", "isTrial": false, "nextLifecycleDateTime": "2027-01-10T00:00:00Z", "ownerType": "Company",
                "serviceStatus": [], "skuId": E3, "skuPartNumber": "SPE_E3", "status": "Enabled", "totalLicenses": 50}]})));
        }
        answer_users(r)
    })
    .await;
    let t = server.tenant();
    let skus = t.list_skus().await.unwrap();
    assert_eq!((skus[0].free_units(), skus[0].has_exchange()), (2, true));
    let subs = t.list_subscriptions().await.unwrap();
    assert_eq!((subs[0].total_licenses, subs[0].is_enabled()), (50, true));
    let add = [AssignedLicense {
        sku_id: SkuId::new(E3),
        disabled_plans: vec![],
    }];
    t.assign_license(
        &dana(),
        &add,
        &[SkuId::new("cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46")],
    )
    .await
    .unwrap();
    t.reprocess_license_assignment(&dana()).await.unwrap();
    let g = t.get_group(&GroupId::new(GROUP)).await.unwrap();
    assert_eq!(g.assigned_licenses.len(), 1);
    t.add_group_member(&GroupId::new(GROUP), &dana())
        .await
        .unwrap();
    t.remove_group_member(&GroupId::new(GROUP), &dana())
        .await
        .unwrap();

    let c = server.calls();
    assert_eq!(c[0].uri, "/graph/v1.0/subscribedSkus");
    assert_eq!(c[1].uri, "/graph/v1.0/directory/subscriptions");
    assert_eq!(
        (c[2].method.as_str(), c[2].uri.as_str()),
        (
            "POST",
            format!("/graph/v1.0/users/{DANA}/assignLicense").as_str()
        )
    );
    assert_eq!(
        c[2].json(),
        json!({"addLicenses": [{"skuId": E3, "disabledPlans": []}], "removeLicenses": ["cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"]})
    );
    assert_eq!(
        c[3].uri,
        format!("/graph/v1.0/users/{DANA}/reprocessLicenseAssignment")
    );
    assert!(
        c[4].uri
            .starts_with(&format!("/graph/v1.0/users/{DANA}?$select=")),
        "re-read after reprocess"
    );
    assert_eq!(
        c[5].uri,
        format!(
            "/graph/v1.0/groups/{GROUP}?$select=id,displayName,groupTypes,mailEnabled,securityEnabled,onPremisesSyncEnabled,membershipRule,assignedLicenses"
        )
    );
    assert_eq!(c[6].uri, format!("/graph/v1.0/groups/{GROUP}/members/$ref"));
    assert_eq!(
        c[6].json(),
        json!({"@odata.id": format!("{}/graph/v1.0/directoryObjects/{DANA}", server.base)})
    );
    assert_eq!(
        (c[7].method.as_str(), c[7].uri.as_str()),
        (
            "DELETE",
            format!("/graph/v1.0/groups/{GROUP}/members/{DANA}/$ref").as_str()
        )
    );
}

fn exchange(r: &Recorded) -> Option<Reply> {
    if r.is_token() {
        return None;
    }
    if !r.uri.starts_with("/exchange/") {
        return answer_users(r);
    }
    let body = r.json();
    let cmdlet = body["CmdletInput"]["CmdletName"]
        .as_str()
        .unwrap()
        .to_string();
    let host = r.header("host").unwrap();
    let mailbox = |id: &str, kind: &str| {
        json!({"Identity": id, "ExternalDirectoryObjectId": id, "PrimarySmtpAddress": format!("{id}@contoso.com"),
        "RecipientTypeDetails": kind, "ForwardingSmtpAddress": null, "LitigationHoldEnabled": false, "ArchiveStatus": "Active", "HiddenFromAddressListsEnabled": true})
    };
    Some(match cmdlet.as_str() {
        "Get-Mailbox" if body["CmdletInput"]["Parameters"]["ResultSize"] == "Unlimited" => {
            if r.uri.contains("skip=1") {
                Reply::json(200, json!({"value": [mailbox("m2", "SharedMailbox")]}))
            } else {
                Reply::json(
                    200,
                    json!({"value": [mailbox("m1", "SharedMailbox")],
                    "@odata.nextLink": format!("http://{host}/exchange/adminapi/beta/{TENANT}/InvokeCommand?skip=1")}),
                )
            }
        }
        "Get-Mailbox" => Reply::json(200, json!({"value": [mailbox(DANA, "UserMailbox")]})),
        "Get-MailboxStatistics" => Reply::json(
            200,
            json!({"value": [{"TotalItemSize": "1.5 GB (1,610,612,736 bytes)"}]}),
        ),
        "Get-MailboxPermission" => Reply::json(
            200,
            json!({"value": [
            {"User": "NT AUTHORITY\\SELF", "AccessRights": ["FullAccess", "ReadPermission"], "IsInherited": false, "Deny": false},
            {"User": "sam.ortiz@contoso.com", "AccessRights": ["FullAccess"], "IsInherited": false, "Deny": false}]}),
        ),
        _ => Reply::json(
            200,
            json!({"value": [], "@adminapi.warnings": ["The command completed successfully but no settings of 'dana.lee' have been modified."]}),
        ),
    })
}

#[tokio::test]
async fn exchange_cmdlets_go_through_invoke_command() {
    let server = Server::start(exchange).await;
    let t = server.tenant();
    let m = t.get_mailbox(&dana()).await.unwrap();
    assert_eq!(
        (
            m.recipient_type_details,
            m.total_item_size_bytes,
            m.archive_active
        ),
        (MailboxType::UserMailbox, 1_610_612_736, true)
    );
    assert!(m.license_required_reason().is_some(), "archive");
    let shared = t.list_mailboxes(MailboxType::SharedMailbox).await.unwrap();
    assert_eq!(
        shared
            .iter()
            .map(|m| m.user_id.as_str())
            .collect::<Vec<_>>(),
        ["m1", "m2"]
    );
    t.set_mailbox_type(&dana(), MailboxType::SharedMailbox)
        .await
        .unwrap();
    t.set_hidden_from_address_lists(&dana(), true)
        .await
        .unwrap();
    t.set_forwarding(&dana(), Some("smtp:sam.ortiz@contoso.com"))
        .await
        .unwrap();
    t.set_forwarding(&dana(), None).await.unwrap();
    let perms = t.get_mailbox_permissions(&dana()).await.unwrap();
    assert_eq!(perms[1].user, "sam.ortiz@contoso.com");
    t.add_mailbox_full_access(&dana(), "sam.ortiz@contoso.com")
        .await
        .unwrap();
    t.remove_mailbox_full_access(&dana(), "sam.ortiz@contoso.com")
        .await
        .unwrap();

    let c = server.calls();
    let url = format!("/exchange/adminapi/beta/{TENANT}/InvokeCommand");
    for call in &c {
        assert_eq!(call.method, "POST");
        assert!(call.uri.starts_with(&url));
        assert_eq!(
            call.header("x-anchormailbox").unwrap(),
            format!("APP:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{TENANT}")
        );
        assert_eq!(
            call.header("prefer").as_deref(),
            Some("odata.maxpagesize=1000")
        );
    }
    let input = |i: usize| c[i].json()["CmdletInput"].clone();
    assert_eq!(
        input(0),
        json!({"CmdletName": "Get-Mailbox", "Parameters": {"Identity": DANA}})
    );
    assert_eq!(
        input(1),
        json!({"CmdletName": "Get-MailboxStatistics", "Parameters": {"Identity": DANA}})
    );
    assert_eq!(
        input(2),
        json!({"CmdletName": "Get-Mailbox", "Parameters": {"RecipientTypeDetails": "SharedMailbox", "ResultSize": "Unlimited"}})
    );
    assert_eq!(
        c[3].uri,
        format!("{url}?skip=1"),
        "next page POSTed to the nextLink"
    );
    assert_eq!(input(3), input(2), "with the same body");
    let rest: Vec<Value> = c[6..]
        .iter()
        .map(|r| r.json()["CmdletInput"].clone())
        .collect();
    assert_eq!(
        rest[0],
        json!({"CmdletName": "Set-Mailbox", "Parameters": {"Identity": DANA, "Type": "Shared"}})
    );
    assert_eq!(
        rest[1],
        json!({"CmdletName": "Set-Mailbox", "Parameters": {"Identity": DANA, "HiddenFromAddressListsEnabled": true}})
    );
    assert_eq!(
        rest[2],
        json!({"CmdletName": "Set-Mailbox", "Parameters": {"Identity": DANA, "ForwardingSmtpAddress": "smtp:sam.ortiz@contoso.com"}})
    );
    assert_eq!(
        rest[3],
        json!({"CmdletName": "Set-Mailbox", "Parameters": {"Identity": DANA, "ForwardingSmtpAddress": null}})
    );
    assert_eq!(
        rest[4],
        json!({"CmdletName": "Get-MailboxPermission", "Parameters": {"Identity": DANA}})
    );
    assert_eq!(
        rest[5],
        json!({"CmdletName": "Add-MailboxPermission", "Parameters": {"Identity": DANA, "User": "sam.ortiz@contoso.com",
        "AccessRights": ["FullAccess"], "InheritanceType": "All", "AutoMapping": true}})
    );
    assert_eq!(
        rest[6],
        json!({"CmdletName": "Remove-MailboxPermission", "Parameters": {"Identity": DANA, "User": "sam.ortiz@contoso.com",
        "AccessRights": ["FullAccess"], "InheritanceType": "All", "Confirm": false}})
    );
}

#[tokio::test]
async fn mailbox_settings_and_onedrive_calls_use_the_documented_paths() {
    let server = Server::start(|r| {
        if r.is_token() {
            return None;
        }
        let host = r.header("host").unwrap();
        let path = r.uri.split('?').next().unwrap().to_string();
        Some(match (r.method.as_str(), path.as_str()) {
            ("GET", p) if p.ends_with("/automaticRepliesSetting") => Reply::json(200, json!({"status": "AlwaysEnabled", "externalAudience": "ContactsOnly", "internalReplyMessage": "<p>gone</p>", "externalReplyMessage": ""})),
            ("PATCH", p) if p.ends_with("/mailboxSettings") => Reply::json(200, r.json()),
            ("GET", p) if p.ends_with("/drive") => Reply::json(200, json!({"id": "b!t18F8y", "driveType": "business", "webUrl": "https://contoso-my.sharepoint.com/personal/dana",
                "owner": {"user": {"id": DANA, "displayName": "Dana Lee"}}, "quota": {"used": 64017299, "total": 1_099_511_627_776_u64}})),
            ("GET", p) if p.ends_with("/content") => Reply::empty(302).header("Location", &format!("http://{host}/download/file?tempauth=secret-download-token")),
            ("GET", "/download/file") => Reply { status: 200, headers: vec![], body: b"file bytes".to_vec() },
            ("POST", p) if p.ends_with("/invite") => Reply::json(200, json!({"value": [{"id": "perm1", "roles": ["write"],
                "grantedToV2": {"user": {"id": SAM, "displayName": "Sam Ortiz", "email": "sam.ortiz@contoso.com"}}, "invitation": {"email": "sam.ortiz@contoso.com", "signInRequired": true}}]})),
            ("GET", p) if p.ends_with("/permissions") => Reply::json(200, json!({"value": [{"id": "perm1", "roles": ["write"], "grantedTo": {"user": {"email": "sam.ortiz@contoso.com"}}}]})),
            _ => Reply::json(404, json!({"error": {"code": "itemNotFound", "message": r.uri}})),
        })
    })
    .await;
    let t = server.tenant();
    let reply = t.get_auto_reply(&dana()).await.unwrap();
    assert_eq!(
        (reply.status.as_str(), reply.external_audience.as_str()),
        ("alwaysEnabled", "contactsOnly")
    );
    let set = AutoReply {
        status: "scheduled".into(),
        external_audience: "all".into(),
        internal_reply_message: "in".into(),
        external_reply_message: "out".into(),
    };
    t.set_auto_reply(&dana(), &set).await.unwrap();
    let drive = t.get_drive(&dana()).await.unwrap();
    assert_eq!(
        (drive.id.as_str(), drive.quota_used, drive.owner.as_str()),
        ("b!t18F8y", 64017299, DANA)
    );
    assert_eq!(
        t.download(&DriveId::new("b!t18F8y"), "01F").await.unwrap(),
        b"file bytes"
    );
    let p = t
        .invite(
            &DriveId::new("b!t18F8y"),
            "01D",
            "sam.ortiz@contoso.com",
            "write",
        )
        .await
        .unwrap();
    assert_eq!(
        (p.id.as_str(), p.granted_to.as_str()),
        ("perm1", "sam.ortiz@contoso.com")
    );
    assert_eq!(
        t.list_permissions(&DriveId::new("b!t18F8y"), "01D")
            .await
            .unwrap(),
        vec![p]
    );

    let c = server.calls();
    assert_eq!(
        c[0].uri,
        format!("/graph/v1.0/users/{DANA}/mailboxSettings/automaticRepliesSetting")
    );
    assert_eq!(
        (c[1].method.as_str(), c[1].uri.as_str()),
        (
            "PATCH",
            format!("/graph/v1.0/users/{DANA}/mailboxSettings").as_str()
        )
    );
    assert_eq!(
        c[1].json(),
        json!({"automaticRepliesSetting": {"status": "scheduled", "externalAudience": "all", "internalReplyMessage": "in", "externalReplyMessage": "out"}})
    );
    assert_eq!(c[2].uri, format!("/graph/v1.0/users/{DANA}/drive"));
    assert_eq!(c[3].uri, "/graph/v1.0/drives/b!t18F8y/items/01F/content");
    assert!(c[3].header("authorization").is_some());
    assert_eq!(c[4].uri, "/download/file?tempauth=secret-download-token");
    assert!(
        c[4].header("authorization").is_none(),
        "the pre-authenticated URL gets no bearer token"
    );
    assert_eq!(c[5].uri, "/graph/v1.0/drives/b!t18F8y/items/01D/invite");
    assert_eq!(
        c[5].json(),
        json!({"recipients": [{"email": "sam.ortiz@contoso.com"}], "roles": ["write"], "requireSignIn": true, "sendInvitation": false})
    );
    assert_eq!(
        c[6].uri,
        "/graph/v1.0/drives/b!t18F8y/items/01D/permissions"
    );
}

#[tokio::test]
async fn a_failed_download_does_not_show_the_pre_authenticated_url() {
    let server = Server::start(|r| {
        if r.is_token() {
            return None;
        }
        Some(Reply::empty(302).header(
            "Location",
            "http://127.0.0.1:1/download?tempauth=secret-download-token",
        ))
    })
    .await;
    let err = server
        .tenant()
        .download(&DriveId::new("b!x"), "01F")
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert!(
        !format!("{err} {err:?}").contains("secret-download-token"),
        "{err}"
    );
}
