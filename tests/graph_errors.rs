//! Every documented error response of docs/microsoft-365-api.md (fixtures in tests/fixtures/graph/)
//! comes out of the Graph connector as the right `ErrorKind`, with the service's request id in the
//! error text.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod graph_server;

use graph_server::{DANA, Reply, Server};
use offboard::ids::{DriveId, GroupId, SkuId, UserId};
use offboard::tenant::graph::GraphTenant;
use offboard::tenant::{
    AssignedLicense, AutoReply, ErrorKind, MailboxType, PartnerSubscription, Tenant, TenantResult,
};
use std::time::Duration;

const RID: &str = "e1c1b7c4-2f0e-4a49-9f1b-3d7a1c2b5e60";
const TRACE: &str = "255d1aef-8c98-452f-ac51-23d051240864";
const THROTTLE_RID: &str = "94fb3b52-452a-4535-a601-69e0a90e3aa2";
const PC_RID: &str = "5b7b3d2a-1111-4c1e-9d0a-6f1e2a3b4c5d";
const GROUP: &str = "5d1a7e02-96c4-4b3f-8e17-c2a9f0b6d4e8";
const E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";

fn dana() -> UserId {
    UserId::new(DANA)
}

fn partner_sub() -> PartnerSubscription {
    serde_json::from_value(serde_json::json!({
        "id": "d3b7c9a2-9a4b-40b2-b075-6e442909e3e7", "offerId": "CFQ7TTC0LFLZ:0002:CFQ7TTC0K8NQ",
        "quantity": 40, "commitmentEndDate": "2027-01-09T00:00:00Z", "status": "active",
        "autoRenewEnabled": true, "billingCycle": "monthly", "termDuration": "P1Y"
    }))
    .unwrap()
}

/// `case!(test name, fixture, token endpoint?, |tenant| call, expected kind pattern, id in text)`
macro_rules! case {
    ($name:ident, $fixture:literal, $on_token:expr, |$t:ident| $call:expr, $kind:pat, $id:expr) => {
        #[tokio::test]
        async fn $name() {
            let server =
                Server::start(|r| (r.is_token() == $on_token).then(|| Reply::fixture($fixture)))
                    .await;
            let $t = server.tenant();
            let err = ($call).await.map(|_| ()).expect_err("the call must fail");
            assert!(matches!(err.kind, $kind), "{:?}", err);
            assert!(err.to_string().contains($id), "request id missing: {err}");
            assert!(!err.to_string().contains(graph_server::SECRET));
        }
    };
    ($name:ident, $fixture:literal, |$t:ident| $call:expr, $kind:pat) => {
        case!($name, $fixture, false, |$t| $call, $kind, RID);
    };
}

// ---- §1.4 token endpoint ----
case!(
    token_invalid_scope_is_unauthorized,
    "token-invalid-scope.json",
    true,
    |t| t.get_user(DANA),
    ErrorKind::Unauthorized,
    TRACE
);
case!(
    token_wrong_secret_is_unauthorized,
    "token-invalid-client-secret.json",
    true,
    |t| t.get_user(DANA),
    ErrorKind::Unauthorized,
    TRACE
);
case!(
    token_expired_secret_is_unauthorized,
    "token-expired-secret.json",
    true,
    |t| t.get_user(DANA),
    ErrorKind::Unauthorized,
    TRACE
);
case!(
    token_unknown_app_is_unauthorized,
    "token-unauthorized-client.json",
    true,
    |t| t.get_user(DANA),
    ErrorKind::Unauthorized,
    TRACE
);
case!(
    token_unknown_tenant_is_unauthorized,
    "token-tenant-not-found.json",
    true,
    |t| t.get_user(DANA),
    ErrorKind::Unauthorized,
    TRACE
);
case!(
    token_bad_assertion_is_unauthorized,
    "token-bad-assertion.json",
    true,
    |t| t.get_user(DANA),
    ErrorKind::Unauthorized,
    TRACE
);
case!(
    token_expired_assertion_is_unauthorized,
    "token-assertion-expired.json",
    true,
    |t| t.get_user(DANA),
    ErrorKind::Unauthorized,
    TRACE
);

// ---- §2.2, §3 users ----
case!(
    unknown_user_is_not_found,
    "user-not-found.json",
    |t| t.get_user(DANA),
    ErrorKind::NotFound
);
case!(
    unknown_select_property_is_bad_request,
    "user-bad-select.json",
    |t| t.get_user(DANA),
    ErrorKind::BadRequest
);
case!(
    missing_permission_is_forbidden,
    "insufficient-privileges.json",
    |t| t.get_user(DANA),
    ErrorKind::Forbidden
);
case!(
    rejected_token_is_unauthorized,
    "invalid-token.json",
    |t| t.get_user(DANA),
    ErrorKind::Unauthorized
);
case!(
    disabling_a_synced_user_is_on_premises_mastered,
    "user-on-premises-mastered.json",
    |t| t.set_account_enabled(&dana(), false),
    ErrorKind::OnPremisesMastered
);
case!(
    bad_usage_location_code_is_bad_request,
    "user-invalid-usage-location.json",
    |t| t.set_usage_location(&dana(), "XX"),
    ErrorKind::BadRequest
);
case!(
    revoke_for_unknown_user_is_not_found,
    "user-not-found.json",
    |t| t.revoke_sign_in_sessions(&dana()),
    ErrorKind::NotFound
);
case!(
    manager_of_unknown_user_is_not_found,
    "user-not-found.json",
    |t| t.get_manager(&dana()),
    ErrorKind::NotFound
);
case!(
    second_delete_is_not_found,
    "user-not-found.json",
    |t| t.delete_user(&dana()),
    ErrorKind::NotFound
);
case!(
    restore_of_a_user_not_in_the_bin_is_not_found,
    "restore-not-deleted.json",
    |t| t.restore_deleted_user(&dana()),
    ErrorKind::NotFound
);
case!(
    restore_with_a_taken_upn_is_bad_request,
    "restore-upn-conflict.json",
    |t| t.restore_deleted_user(&dana()),
    ErrorKind::BadRequest
);
case!(
    purge_of_a_purged_user_is_not_found,
    "purge-not-found.json",
    |t| t.purge_deleted_user(&dana()),
    ErrorKind::NotFound
);
case!(
    deleted_item_not_in_the_bin_is_not_found,
    "purge-not-found.json",
    |t| t.get_deleted_user(&dana()),
    ErrorKind::NotFound
);

#[tokio::test]
async fn no_manager_is_none_not_an_error() {
    let server =
        Server::start(|r| (!r.is_token()).then(|| Reply::fixture("manager-none.json"))).await;
    assert_eq!(server.tenant().get_manager(&dana()).await.unwrap(), None);
}

// ---- §4 licenses and groups ----
async fn remove_e3(t: &GraphTenant) -> TenantResult<()> {
    t.assign_license(&dana(), &[], &[SkuId::new(E3)]).await
}
async fn add_e3(t: &GraphTenant) -> TenantResult<()> {
    let add = [AssignedLicense {
        sku_id: SkuId::new(E3),
        disabled_plans: vec![],
    }];
    t.assign_license(&dana(), &add, &[]).await
}
case!(
    license_without_usage_location,
    "license-invalid-usage-location.json",
    |t| add_e3(&t),
    ErrorKind::InvalidUsageLocation
);
case!(
    license_without_free_seats,
    "license-no-free-seats.json",
    |t| add_e3(&t),
    ErrorKind::NoFreeSeats
);
case!(
    license_the_tenant_does_not_own,
    "license-invalid-sku.json",
    |t| add_e3(&t),
    ErrorKind::InvalidLicense
);
case!(
    removing_an_absent_license_is_no_corresponding_license,
    "license-no-corresponding.json",
    |t| remove_e3(&t),
    ErrorKind::NoCorrespondingLicense
);
case!(
    removing_a_group_license_is_inherited_from_group,
    "license-inherited.json",
    |t| remove_e3(&t),
    ErrorKind::LicenseInheritedFromGroup
);
case!(
    license_for_unknown_user_is_not_found,
    "user-not-found.json",
    |t| remove_e3(&t),
    ErrorKind::NotFound
);
case!(
    license_without_permission_is_forbidden,
    "insufficient-privileges.json",
    |t| remove_e3(&t),
    ErrorKind::Forbidden
);
case!(
    adding_a_member_twice_is_already_member,
    "member-already-exists.json",
    |t| t.add_group_member(&GroupId::new(GROUP), &dana()),
    ErrorKind::AlreadyMember
);
case!(
    adding_an_unknown_object_is_not_found,
    "member-reference-not-found.json",
    |t| t.add_group_member(&GroupId::new(GROUP), &dana()),
    ErrorKind::NotFound
);
case!(
    adding_to_a_synced_group_is_on_premises_mastered,
    "group-on-premises-mastered.json",
    |t| t.add_group_member(&GroupId::new(GROUP), &dana()),
    ErrorKind::OnPremisesMastered
);
case!(
    adding_to_a_mail_enabled_group_is_not_editable,
    "group-mail-enabled.json",
    |t| t.add_group_member(&GroupId::new(GROUP), &dana()),
    ErrorKind::GroupNotEditable
);
case!(
    adding_to_a_dynamic_group_is_not_editable,
    "group-dynamic.json",
    |t| t.add_group_member(&GroupId::new(GROUP), &dana()),
    ErrorKind::GroupNotEditable
);
case!(
    removing_a_non_member_404_is_not_member,
    "member-remove-not-member-404.json",
    |t| t.remove_group_member(&GroupId::new(GROUP), &dana()),
    ErrorKind::NotMember
);
case!(
    removing_a_non_member_400_is_not_member,
    "member-remove-not-member-400.json",
    |t| t.remove_group_member(&GroupId::new(GROUP), &dana()),
    ErrorKind::NotMember
);
case!(
    unknown_group_is_not_found,
    "user-not-found.json",
    |t| t.get_group(&GroupId::new(GROUP)),
    ErrorKind::NotFound
);

// ---- §5 mail ----
case!(
    no_mailbox_for_rest_is_mailbox_not_enabled,
    "mailbox-not-enabled-rest.json",
    |t| t.get_auto_reply(&dana()),
    ErrorKind::MailboxNotEnabled
);
case!(
    rest_not_supported_is_mailbox_not_enabled,
    "mailbox-rest-not-supported.json",
    |t| t.get_auto_reply(&dana()),
    ErrorKind::MailboxNotEnabled
);
case!(
    application_access_policy_is_forbidden,
    "mailbox-access-denied.json",
    |t| t.get_auto_reply(&dana()),
    ErrorKind::Forbidden
);
case!(
    invalid_mailbox_user_is_not_found,
    "mailbox-invalid-user.json",
    |t| t.get_auto_reply(&dana()),
    ErrorKind::NotFound
);
case!(
    invalid_time_settings_is_bad_request,
    "mailbox-invalid-time-settings.json",
    |t| t.set_auto_reply(&dana(), &AutoReply::disabled()),
    ErrorKind::BadRequest
);
case!(
    exchange_object_not_found_is_mailbox_not_enabled,
    "exo-object-not-found.json",
    |t| t.get_mailbox(&dana()),
    ErrorKind::MailboxNotEnabled
);
case!(
    exchange_mailbox_does_not_exist_is_mailbox_not_enabled,
    "exo-mailbox-does-not-exist.json",
    |t| t.set_mailbox_type(&dana(), MailboxType::SharedMailbox),
    ErrorKind::MailboxNotEnabled
);
case!(
    exchange_unknown_trustee_is_not_found,
    "exo-trustee-not-found.json",
    |t| t.add_mailbox_full_access(&dana(), "nobody@contoso.com"),
    ErrorKind::NotFound
);
case!(
    exchange_synced_attribute_is_on_premises_mastered,
    "exo-on-premises.json",
    |t| t.set_hidden_from_address_lists(&dana(), true),
    ErrorKind::OnPremisesMastered
);

#[tokio::test]
async fn exchange_errors_keep_the_exception_and_its_text() {
    let server =
        Server::start(|r| (!r.is_token()).then(|| Reply::fixture("exo-object-not-found.json")))
            .await;
    let err = server.tenant().get_mailbox(&dana()).await.unwrap_err();
    assert_eq!(err.code, "ManagementObjectNotFoundException");
    assert!(err.message.contains("couldn't be found on"), "{err}");
}

// ---- §6 OneDrive ----
case!(
    onedrive_never_provisioned_is_drive_not_found,
    "drive-mysite-not-found.json",
    |t| t.get_drive(&dana()),
    ErrorKind::DriveNotFound
);
case!(
    onedrive_url_unresolved_is_drive_not_found,
    "drive-mysite-url.json",
    |t| t.get_drive(&dana()),
    ErrorKind::DriveNotFound
);
case!(
    unknown_item_download_is_not_found,
    "drive-item-not-found.json",
    |t| t.download(&DriveId::new("b!x"), "01F"),
    ErrorKind::NotFound
);
case!(
    delta_resync_is_bad_request,
    "drive-delta-resync.json",
    |t| t.drive_delta(&DriveId::new("b!x"), None),
    ErrorKind::BadRequest
);
case!(
    invalid_invite_is_bad_request,
    "drive-invite-invalid.json",
    |t| t.invite(
        &DriveId::new("b!x"),
        "01F",
        "sam.ortiz@contoso.com",
        "write"
    ),
    ErrorKind::BadRequest
);
case!(
    denied_invite_is_forbidden,
    "drive-invite-denied.json",
    |t| t.invite(
        &DriveId::new("b!x"),
        "01F",
        "sam.ortiz@contoso.com",
        "write"
    ),
    ErrorKind::Forbidden
);

// ---- §8.1 throttling and transient faults (one try: the connector's retries are off) ----
async fn retry_after_of(fixture: &'static str, id: &str) -> ErrorKind {
    let server = Server::start(move |r| (!r.is_token()).then(|| Reply::fixture(fixture))).await;
    let err = server.tenant().get_user(DANA).await.unwrap_err();
    assert!(err.to_string().contains(id), "{err}");
    err.kind
}

#[tokio::test]
async fn throttled_is_throttled_with_its_retry_after() {
    let kind = retry_after_of("throttled.json", THROTTLE_RID).await;
    assert_eq!(
        kind,
        ErrorKind::Throttled {
            retry_after: Some(Duration::from_secs(3))
        }
    );
}

#[tokio::test]
async fn service_unavailable_is_transient_with_decimal_retry_after() {
    let kind = retry_after_of("service-unavailable.json", RID).await;
    assert_eq!(
        kind,
        ErrorKind::Transient {
            retry_after: Some(Duration::from_millis(2128))
        }
    );
}

case!(
    gateway_timeout_is_transient,
    "gateway-timeout.json",
    |t| t.list_skus(),
    ErrorKind::Transient { retry_after: None }
);

// ---- §9.2 Partner Center ----
case!(
    partner_out_of_licenses_is_bad_request,
    "partner-out-of-licenses.json",
    false,
    |t| t.update_partner_subscription(&partner_sub()),
    ErrorKind::BadRequest,
    PC_RID
);
case!(
    partner_unknown_subscription_is_not_found,
    "partner-not-found.json",
    false,
    |t| t.get_partner_subscription("d3b7c9a2-9a4b-40b2-b075-6e442909e3e7"),
    ErrorKind::NotFound,
    PC_RID
);
case!(
    partner_decrease_after_the_window_is_reduction_window_closed,
    "partner-reduction-window-closed.json",
    false,
    |t| t.update_partner_subscription(&partner_sub()),
    ErrorKind::ReductionWindowClosed,
    PC_RID
);

#[tokio::test]
async fn exchange_details_without_the_pipe_form_use_the_error_code() {
    let body = serde_json::json!({"error": {"code": "InvalidOperationException", "message": "Error executing cmdlet",
        "details": [{"code": "Client", "target": "", "message": "The action 'Set-Mailbox', 'HiddenFromAddressListsEnabled', can't be performed on the object because the object is being synchronized from your on-premises organization."}]}});
    let server = Server::start(move |r| {
        (!r.is_token()).then(|| Reply::json(400, body.clone()).header("request-id", RID))
    })
    .await;
    let err = server
        .tenant()
        .set_hidden_from_address_lists(&dana(), true)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::OnPremisesMastered);
    assert_eq!(err.code, "InvalidOperationException");
}
