//! The errors the real service returns, with its codes and message texts
//! (docs/microsoft-365-api.md), built once here so every operation returns exactly the same shape.

use crate::tenant::{ErrorKind, TenantError};

pub const ON_PREM_MESSAGE: &str = "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.";

pub fn user_not_found(id_or_upn: &str) -> TenantError {
    TenantError::not_found(id_or_upn)
}

pub fn on_premises_mastered() -> TenantError {
    TenantError::new(
        ErrorKind::OnPremisesMastered,
        "Request_BadRequest",
        ON_PREM_MESSAGE,
    )
}

pub fn bad_request(message: impl Into<String>) -> TenantError {
    TenantError::new(ErrorKind::BadRequest, "Request_BadRequest", message)
}

pub fn invalid_usage_location() -> TenantError {
    TenantError::new(
        ErrorKind::InvalidUsageLocation,
        "Request_BadRequest",
        "License assignment cannot be done for user with invalid usage location.",
    )
}

pub fn no_free_seats(sku: &str) -> TenantError {
    TenantError::new(
        ErrorKind::NoFreeSeats,
        "Request_BadRequest",
        format!("Subscription with SKU {sku} does not have any available licenses."),
    )
}

pub fn invalid_license(sku: &str) -> TenantError {
    TenantError::new(
        ErrorKind::InvalidLicense,
        "Request_BadRequest",
        format!("License {sku} does not correspond to a valid company License."),
    )
}

pub fn no_corresponding_license() -> TenantError {
    TenantError::new(
        ErrorKind::NoCorrespondingLicense,
        "Request_BadRequest",
        "User does not have a corresponding license.",
    )
}

pub fn inherited_from_group() -> TenantError {
    TenantError::new(
        ErrorKind::LicenseInheritedFromGroup,
        "Request_BadRequest",
        "User license is inherited from a group membership and it cannot be removed directly from the user.",
    )
}

pub fn already_member() -> TenantError {
    TenantError::new(
        ErrorKind::AlreadyMember,
        "Request_BadRequest",
        "One or more added object references already exist for the following modified properties: 'members'.",
    )
}

pub fn not_member(user: &str) -> TenantError {
    TenantError::new(
        ErrorKind::NotMember,
        "Request_ResourceNotFound",
        format!(
            "Resource '{user}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

pub fn mail_enabled_group() -> TenantError {
    TenantError::new(
        ErrorKind::GroupNotEditable,
        "Request_BadRequest",
        "Cannot Update a mail-enabled security groups and or distribution list.",
    )
}

pub fn dynamic_group() -> TenantError {
    TenantError::new(
        ErrorKind::GroupNotEditable,
        "Request_BadRequest",
        "Insufficient privileges to complete the operation. Members of a group with dynamic membership cannot be changed directly.",
    )
}

/// Graph mailboxSettings on a user without an Exchange Online mailbox.
pub fn mailbox_not_enabled_rest() -> TenantError {
    TenantError::new(
        ErrorKind::MailboxNotEnabled,
        "MailboxNotEnabledForRESTAPI",
        "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
    )
}

/// Exchange cmdlet on a user without a mailbox (ManagementObjectNotFoundException).
pub fn mailbox_not_found_exchange(upn: &str) -> TenantError {
    TenantError::new(
        ErrorKind::MailboxNotEnabled,
        "ManagementObjectNotFoundException",
        format!(
            "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object '{upn}' couldn't be found on 'AM0PR01A001DC01.EURPR01A001.PROD.OUTLOOK.COM'."
        ),
    )
}

pub fn drive_not_found() -> TenantError {
    TenantError::new(
        ErrorKind::DriveNotFound,
        "ResourceNotFound",
        "User's mysite not found.",
    )
}

pub fn item_not_found() -> TenantError {
    TenantError::new(
        ErrorKind::NotFound,
        "itemNotFound",
        "The resource could not be found.",
    )
}

pub fn invalid_request(message: impl Into<String>) -> TenantError {
    TenantError::new(ErrorKind::BadRequest, "invalidRequest", message)
}

// ---- Partner Center (§9.2) ----
// docs/microsoft-365-api.md marks the error codes and texts of these cases UNCONFIRMED: the numeric
// codes and the wording below are ours, in Partner Center's shape (numeric `code`, a
// `description`). Only the kinds matter to callers.

/// Our code for "no such subscription for this customer" (UNCONFIRMED).
pub const PC_NOT_FOUND: &str = "800002";
/// Our code for a decrease after the cancellation window (UNCONFIRMED).
pub const PC_REDUCTION_WINDOW_CLOSED: &str = "800051";
/// Our code for any other rejected PATCH (UNCONFIRMED).
pub const PC_BAD_REQUEST: &str = "800000";

/// 404: Partner Center does not know the subscription (e.g. a web-direct one, R14).
pub fn partner_not_found(id: &str) -> TenantError {
    TenantError::new(
        ErrorKind::NotFound,
        PC_NOT_FOUND,
        format!(
            "Subscription {id} was not found for this customer. Web-direct subscriptions are not managed in Partner Center; change their seats in the Microsoft 365 admin center."
        ),
    )
}

/// 400: a decrease after `cancellationAllowedUntilDate` (R15).
pub fn reduction_window_closed(id: &str, until: chrono::DateTime<chrono::Utc>) -> TenantError {
    TenantError::new(
        ErrorKind::ReductionWindowClosed,
        PC_REDUCTION_WINDOW_CLOSED,
        format!(
            "The quantity of subscription {id} can only be decreased until {until} (168 hours after purchase or renewal). Schedule the decrease for the renewal with scheduledNextTermInstructions instead."
        ),
    )
}

/// 400: any other PATCH Partner Center refuses.
pub fn partner_bad_request(message: impl Into<String>) -> TenantError {
    TenantError::new(ErrorKind::BadRequest, PC_BAD_REQUEST, message)
}
