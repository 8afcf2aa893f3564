//! `memberOf` (docs/microsoft-365-api.md §3.5) with the groups' details: memberOf does not return
//! `assignedLicenses`, so the groups are read again in `$batch` requests of 20 (§7):
//! pages + ceil(groups / 20) calls instead of pages + groups.

use super::batch::BatchItem;
use super::client::{Client, invalid};
use super::limiter::Family::DirectoryRead as Read;
use super::path::{segment, user as user_path};
use super::wire::{self, GROUP_SELECT};
use crate::ids::UserId;
use crate::tenant::{DirectoryObject, ErrorKind, TenantResult};
use serde_json::Value;

impl Client {
    pub async fn member_of(&self, user: &UserId) -> TenantResult<Vec<DirectoryObject>> {
        let path = format!("{}/memberOf?$top=999", user_path(user.as_str()));
        let raw: Vec<Value> = self.graph_list(&path, Read, 2).await?;
        let mut objects: Vec<DirectoryObject> =
            raw.into_iter().filter_map(wire::directory_object).collect();
        let groups: Vec<(usize, BatchItem)> = objects
            .iter()
            .enumerate()
            .filter_map(|(i, o)| match o {
                DirectoryObject::Group(g) => Some((
                    i,
                    BatchItem::get(format!(
                        "/groups/{}?$select={GROUP_SELECT}",
                        segment(g.id.as_str())
                    )),
                )),
                DirectoryObject::DirectoryRole { .. } => None,
            })
            .collect();
        if groups.is_empty() {
            return Ok(objects);
        }
        let items: Vec<BatchItem> = groups.iter().map(|(_, item)| item.clone()).collect();
        let details = if self.cfg.batching {
            self.batch(&items, Read, 1).await?
        } else {
            let mut one_by_one = Vec::with_capacity(items.len());
            for item in &items {
                one_by_one.push(self.graph_get::<Value>(&item.url, Read, 1).await);
            }
            one_by_one
        };
        for ((i, _), detail) in groups.iter().zip(details) {
            match detail {
                Ok(v) => {
                    let g: wire::WireGroup =
                        serde_json::from_value(v).map_err(|_| invalid("group"))?;
                    objects[*i] = DirectoryObject::Group(g.into());
                }
                // Deleted since memberOf answered: keep what memberOf said.
                Err(e) if e.kind == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(objects)
    }
}
