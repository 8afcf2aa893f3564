//! Reading mailboxes (docs/microsoft-365-api.md §5.5): `Get-Mailbox` plus `Get-MailboxStatistics`
//! for the size (R2: over 50 GB a shared mailbox keeps needing a license).

use super::client::Client;
use super::exchange::{self, recipient_type_details};
use crate::ids::UserId;
use crate::tenant::{ErrorKind, Mailbox, MailboxType, TenantError, TenantResult};
use serde_json::{Value, json};
use std::sync::Arc;

/// Statistics calls in flight at once while listing mailboxes.
const STATISTICS_AT_ONCE: usize = 4;

impl Client {
    /// `Get-MailboxStatistics`: the mailbox size in bytes.
    async fn mailbox_size(&self, identity: &str) -> TenantResult<u64> {
        let stats = self
            .invoke("Get-MailboxStatistics", json!({ "Identity": identity }))
            .await?;
        Ok(stats.values.first().map_or(0, exchange::item_size_bytes))
    }

    /// Two cmdlets: `Get-Mailbox`, then `Get-MailboxStatistics`.
    pub async fn get_mailbox(&self, user: &UserId) -> TenantResult<Mailbox> {
        let found = self
            .invoke("Get-Mailbox", json!({ "Identity": user.as_str() }))
            .await?;
        let first = found.values.first().ok_or_else(|| {
            TenantError::new(
                ErrorKind::MailboxNotEnabled,
                "ManagementObjectNotFoundException",
                format!("The specified mailbox {user} doesn't exist."),
            )
        })?;
        let size = self.mailbox_size(user.as_str()).await?;
        exchange::mailbox(first, size)
    }

    /// `Get-Mailbox -RecipientTypeDetails <kind> -ResultSize Unlimited` (all pages), then
    /// `Get-MailboxStatistics` per mailbox, four at a time: pages + n calls.
    pub async fn list_mailboxes(self: &Arc<Self>, kind: MailboxType) -> TenantResult<Vec<Mailbox>> {
        let name = recipient_type_details(kind);
        let found = self
            .invoke(
                "Get-Mailbox",
                json!({ "RecipientTypeDetails": name, "ResultSize": "Unlimited" }),
            )
            .await?;
        let wanted: Vec<Value> = found
            .values
            .into_iter()
            .filter(|v| v.get("RecipientTypeDetails").and_then(Value::as_str) == Some(name))
            .collect();
        let semaphore = Arc::new(tokio::sync::Semaphore::new(STATISTICS_AT_ONCE));
        let mut tasks = tokio::task::JoinSet::new();
        for (i, v) in wanted.iter().enumerate() {
            let Some(id) = v
                .get("ExternalDirectoryObjectId")
                .and_then(Value::as_str)
                .map(str::to_string)
            else {
                continue;
            };
            let (client, semaphore) = (self.clone(), semaphore.clone());
            tasks.spawn(async move {
                let _permit = semaphore.acquire_owned().await;
                (i, client.mailbox_size(&id).await)
            });
        }
        let mut sizes = vec![None; wanted.len()];
        while let Some(joined) = tasks.join_next().await {
            let (i, size) = joined.map_err(|e| {
                TenantError::transient(format!("a mailbox statistics task failed: {e}"))
            })?;
            match size {
                Ok(s) => sizes[i] = Some(s),
                // Gone between the two cmdlets: not a mailbox of this kind any more.
                Err(e) if matches!(e.kind, ErrorKind::MailboxNotEnabled | ErrorKind::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        wanted
            .iter()
            .zip(sizes)
            .filter_map(|(v, size)| size.map(|s| exchange::mailbox(v, s)))
            .collect()
    }
}
