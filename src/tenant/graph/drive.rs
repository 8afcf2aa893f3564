//! OneDrive (docs/microsoft-365-api.md §6): the user's drive, delta pages (links followed
//! unchanged, only under the Graph base URL), downloads through the pre-authenticated redirect
//! without the bearer token, silent invites and an item's permissions.

use super::client::{Client, Request, invalid};
use super::errors::Service;
use super::limiter::Family::Files;
use super::paging::{RawPage, check_link};
use super::path::{segment, user as user_path};
use super::wire::{self, DELTA_SELECT};
use crate::ids::{DriveId, UserId};
use crate::tenant::{DeltaPage, Drive, DrivePermission, TenantResult};
use reqwest::Method;
use serde_json::{Value, json};

fn item_path(drive: &DriveId, item_id: &str, action: &str) -> String {
    format!(
        "/drives/{}/items/{}/{action}",
        segment(drive.as_str()),
        segment(item_id)
    )
}

impl Client {
    pub async fn get_drive(&self, user: &UserId) -> TenantResult<Drive> {
        let v: Value = self
            .graph_get(&format!("{}/drive", user_path(user.as_str())), Files, 1)
            .await?;
        wire::drive(&v, user).ok_or_else(|| invalid("drive"))
    }

    /// §6.2 one page.
    pub async fn drive_delta(
        &self,
        drive: &DriveId,
        link: Option<&str>,
    ) -> TenantResult<DeltaPage> {
        let first = format!(
            "/drives/{}/root/delta?$select={DELTA_SELECT}",
            segment(drive.as_str())
        );
        let mut req = self.graph(Method::GET, &first, Files, 1);
        if let Some(link) = link {
            check_link(link, &self.cfg.graph_base())?;
            req.url = link.to_string();
        }
        let page: RawPage = self.send(&req).await?.json()?;
        Ok(wire::delta_page(page))
    }

    /// §6.3: 302 to a pre-authenticated URL, fetched without the bearer token (two calls);
    /// a server that answers 200 with the bytes is accepted too.
    pub async fn download(&self, drive: &DriveId, item_id: &str) -> TenantResult<Vec<u8>> {
        let path = item_path(drive, item_id, "content");
        let timeout = self.cfg.http.download_timeout;
        let resp = self
            .send(&self.graph(Method::GET, &path, Files, 1).timeout(timeout))
            .await?;
        if !matches!(resp.status, 301 | 302 | 303 | 307 | 308) {
            return Ok(resp.body);
        }
        let location = resp
            .headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| invalid("download redirect"))?;
        let base = reqwest::Url::parse(&format!("{}{path}", self.cfg.graph_base()))
            .map_err(|_| invalid("download URL"))?;
        let url = base
            .join(location)
            .map_err(|_| invalid("download redirect"))?;
        let req = Request::new(Method::GET, url.to_string(), Service::Download, None)
            .family(Files, 1)
            .timeout(timeout);
        Ok(self.send(&req).await?.body)
    }

    /// §6.4 silently: sign-in required, no invitation mail.
    pub async fn invite(
        &self,
        drive: &DriveId,
        item_id: &str,
        recipient: &str,
        role: &str,
    ) -> TenantResult<DrivePermission> {
        let body = json!({
            "recipients": [{ "email": recipient }], "roles": [role],
            "requireSignIn": true, "sendInvitation": false,
        });
        let req = self
            .graph(Method::POST, &item_path(drive, item_id, "invite"), Files, 1)
            .json(body);
        let page: RawPage = self.send(&req).await?.json()?;
        page.value
            .first()
            .and_then(wire::permission)
            .ok_or_else(|| invalid("invite answer"))
    }

    /// `GET /drives/{id}/items/{item}/permissions`, all pages.
    pub async fn list_permissions(
        &self,
        drive: &DriveId,
        item_id: &str,
    ) -> TenantResult<Vec<DrivePermission>> {
        let all: Vec<Value> = self
            .graph_list(&item_path(drive, item_id, "permissions"), Files, 1)
            .await?;
        Ok(all.iter().filter_map(wire::permission).collect())
    }
}
