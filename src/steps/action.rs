//! The closed set of step types. Adding a step = one file, one variant, one match arm.

use super::{StepContext, StepOutcome, StepPlan};
use super::{
    backups_expire, deleted_purge, deleted_report, groups_add, licenses_assign, licenses_remove,
    licenses_remove_plan, licenses_restore, licenses_restore_plan, licenses_swap,
    licenses_swap_plan, mailbox_convert, mailbox_revert, onedrive_backup, onedrive_grant,
    seats_reduce, seats_reduce_plan, sessions_revoke, shared_licenses, usage_set, user_await,
    user_delete, user_disable, user_enable, user_restore, user_restore_plan, user_snapshot,
};
use crate::tenant::Tenant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    UserSnapshot,
    UserDisable,
    SessionsRevoke,
    MailboxConvert,
    OnedriveBackup,
    OnedriveGrant,
    LicensesRemove,
    UserDelete,
    DeletedReport,
    DeletedPurge,
    BackupsExpire,
    SharedLicenses,
    SeatsReduce,
    UserRestore,
    UserEnable,
    LicensesRestore,
    MailboxRevert,
    UserAwait,
    UsageSet,
    LicensesAssign,
    GroupsAdd,
    LicensesSwap,
}

impl Action {
    pub const ALL: &'static [Action] = &[
        Action::UserSnapshot,
        Action::UserDisable,
        Action::SessionsRevoke,
        Action::MailboxConvert,
        Action::OnedriveBackup,
        Action::OnedriveGrant,
        Action::LicensesRemove,
        Action::UserDelete,
        Action::DeletedReport,
        Action::DeletedPurge,
        Action::BackupsExpire,
        Action::SharedLicenses,
        Action::SeatsReduce,
        Action::UserRestore,
        Action::UserEnable,
        Action::LicensesRestore,
        Action::MailboxRevert,
        Action::UserAwait,
        Action::UsageSet,
        Action::LicensesAssign,
        Action::GroupsAdd,
        Action::LicensesSwap,
    ];

    /// The name used in workflow files (`action = "licenses.remove"`).
    pub fn name(self) -> &'static str {
        match self {
            Action::UserSnapshot => "user.snapshot",
            Action::UserDisable => "user.disable",
            Action::SessionsRevoke => "sessions.revoke",
            Action::MailboxConvert => "mailbox.convert",
            Action::OnedriveBackup => "onedrive.backup",
            Action::OnedriveGrant => "onedrive.grant",
            Action::LicensesRemove => "licenses.remove",
            Action::UserDelete => "user.delete",
            Action::DeletedReport => "deleted.report",
            Action::DeletedPurge => "deleted.purge",
            Action::BackupsExpire => "backups.expire",
            Action::SharedLicenses => "shared.licenses",
            Action::SeatsReduce => "seats.reduce",
            Action::UserRestore => "user.restore",
            Action::UserEnable => "user.enable",
            Action::LicensesRestore => "licenses.restore",
            Action::MailboxRevert => "mailbox.revert",
            Action::UserAwait => "user.await",
            Action::UsageSet => "usage.set",
            Action::LicensesAssign => "licenses.assign",
            Action::GroupsAdd => "groups.add",
            Action::LicensesSwap => "licenses.swap",
        }
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == name)
    }

    /// Parameter names the step accepts (validated when a workflow is loaded).
    pub fn params(self) -> &'static [&'static str] {
        match self {
            Action::UserSnapshot => user_snapshot::PARAMS,
            Action::UserDisable => user_disable::PARAMS,
            Action::SessionsRevoke => sessions_revoke::PARAMS,
            Action::MailboxConvert => mailbox_convert::PARAMS,
            Action::OnedriveBackup => onedrive_backup::PARAMS,
            Action::OnedriveGrant => onedrive_grant::PARAMS,
            Action::LicensesRemove => licenses_remove::PARAMS,
            Action::UserDelete => user_delete::PARAMS,
            Action::DeletedReport => deleted_report::PARAMS,
            Action::DeletedPurge => deleted_purge::PARAMS,
            Action::BackupsExpire => backups_expire::PARAMS,
            Action::SharedLicenses => shared_licenses::PARAMS,
            Action::SeatsReduce => seats_reduce::PARAMS,
            Action::UserRestore => user_restore::PARAMS,
            Action::UserEnable => user_enable::PARAMS,
            Action::LicensesRestore => licenses_restore::PARAMS,
            Action::MailboxRevert => mailbox_revert::PARAMS,
            Action::UserAwait => user_await::PARAMS,
            Action::UsageSet => usage_set::PARAMS,
            Action::LicensesAssign => licenses_assign::PARAMS,
            Action::GroupsAdd => groups_add::PARAMS,
            Action::LicensesSwap => licenses_swap::PARAMS,
        }
    }

    /// Whether the step changes the tenant in a way a person would have to undo. Quarantine
    /// and approvals hold runs before the first such step.
    pub fn is_destructive(self) -> bool {
        !matches!(
            self,
            Action::UserSnapshot
                | Action::OnedriveBackup
                | Action::UserAwait
                | Action::DeletedReport
        )
    }

    /// Whether the step works on the tenant as a whole (the retention sweep's steps) rather
    /// than on the event's subject.
    pub fn is_tenant_wide(self) -> bool {
        matches!(
            self,
            Action::DeletedReport
                | Action::DeletedPurge
                | Action::BackupsExpire
                | Action::SharedLicenses
                | Action::SeatsReduce
        )
    }

    pub async fn execute(self, ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
        match self {
            Action::UserSnapshot => user_snapshot::run(ctx, tenant).await,
            Action::UserDisable => user_disable::run(ctx, tenant).await,
            Action::SessionsRevoke => sessions_revoke::run(ctx, tenant).await,
            Action::MailboxConvert => mailbox_convert::run(ctx, tenant).await,
            Action::OnedriveBackup => onedrive_backup::run(ctx, tenant).await,
            Action::OnedriveGrant => onedrive_grant::run(ctx, tenant).await,
            Action::LicensesRemove => licenses_remove::run(ctx, tenant).await,
            Action::UserDelete => user_delete::run(ctx, tenant).await,
            Action::DeletedReport => deleted_report::run(ctx, tenant).await,
            Action::DeletedPurge => deleted_purge::run(ctx, tenant).await,
            Action::BackupsExpire => backups_expire::run(ctx, tenant).await,
            Action::SharedLicenses => shared_licenses::run(ctx, tenant).await,
            Action::SeatsReduce => seats_reduce::run(ctx, tenant).await,
            Action::UserRestore => user_restore::run(ctx, tenant).await,
            Action::UserEnable => user_enable::run(ctx, tenant).await,
            Action::LicensesRestore => licenses_restore::run(ctx, tenant).await,
            Action::MailboxRevert => mailbox_revert::run(ctx, tenant).await,
            Action::UserAwait => user_await::run(ctx, tenant).await,
            Action::UsageSet => usage_set::run(ctx, tenant).await,
            Action::LicensesAssign => licenses_assign::run(ctx, tenant).await,
            Action::GroupsAdd => groups_add::run(ctx, tenant).await,
            Action::LicensesSwap => licenses_swap::run(ctx, tenant).await,
        }
    }

    /// What the step would do against `tenant` (a read-only one), from the step's own
    /// observation code. Sweep steps describe what they would examine.
    pub async fn plan(self, ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepPlan {
        match self {
            Action::UserSnapshot => user_snapshot::plan(ctx, tenant).await,
            Action::UserDisable => user_disable::plan(ctx, tenant).await,
            Action::SessionsRevoke => sessions_revoke::plan(ctx, tenant).await,
            Action::MailboxConvert => mailbox_convert::plan(ctx, tenant).await,
            Action::OnedriveBackup => onedrive_backup::plan(ctx, tenant).await,
            Action::OnedriveGrant => onedrive_grant::plan(ctx, tenant).await,
            Action::LicensesRemove => licenses_remove_plan::plan(ctx, tenant).await,
            Action::UserDelete => user_delete::plan(ctx, tenant).await,
            Action::SeatsReduce => seats_reduce_plan::plan(ctx, tenant).await,
            Action::UserRestore => user_restore_plan::plan(ctx, tenant).await,
            Action::UserEnable => user_enable::plan(ctx, tenant).await,
            Action::LicensesRestore => licenses_restore_plan::plan(ctx, tenant).await,
            Action::MailboxRevert => mailbox_revert::plan(ctx, tenant).await,
            Action::UserAwait => user_await::plan(ctx, tenant).await,
            Action::UsageSet => usage_set::plan(ctx, tenant).await,
            Action::LicensesAssign => licenses_assign::plan(ctx, tenant).await,
            Action::GroupsAdd => groups_add::plan(ctx, tenant).await,
            Action::LicensesSwap => licenses_swap_plan::plan(ctx, tenant).await,
            Action::DeletedReport => StepPlan::doing(
                "list the soft-deleted users and publish retention.warning for each near its purge date (R1, see docs/rules.md) without a verified OneDrive backup",
            ),
            Action::DeletedPurge => StepPlan::doing(
                "permanently delete the soft-deleted users whose leaver asked for a purge, once their purgeAfterDays passed and their backup is verified",
            ),
            Action::BackupsExpire => StepPlan::doing(
                "delete the OneDrive backups under the backup folder older than the retention (default 365 days)",
            ),
            Action::SharedLicenses => StepPlan::doing(
                "remove the Exchange licenses of shared mailboxes that do not need one (at most 50 GB, no archive, no hold, no forwarding, R2 in docs/rules.md)",
            ),
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
