//! OneDrive (docs/microsoft-365-api.md §6.1–6.4): the user's drive, delta with `@odata.nextLink` /
//! `@odata.deltaLink` paging (the simulated tenant's page size; 410 Gone for a token it
//! cannot honour), content download as 302 to a pre-authenticated URL (`/download/{key}`,
//! fetched without `Authorization`, valid 5 minutes, `Range` supported), invite and
//! permissions.

use super::call::{Call, json, parse_body};
use super::errors::ApiError;
use super::odata;
use super::server::{AppState, g};
use crate::ids::DriveId;
use crate::tenant::{DeltaPage, DriveItem, DrivePermission, Tenant};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(&g("/users/{id}/drive"), get(get_drive))
        .route(&g("/drives/{drive}/root/delta"), get(delta))
        .route(&g("/drives/{drive}/items/{item}/content"), get(content))
        .route(&g("/drives/{drive}/items/{item}/invite"), post(invite))
        .route(
            &g("/drives/{drive}/items/{item}/permissions"),
            get(permissions),
        )
}

/// Downloaded contents waiting at their pre-authenticated URL.
#[derive(Default)]
pub struct Downloads {
    files: HashMap<String, (Instant, Bytes)>,
}

impl std::fmt::Debug for Downloads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Downloads({} waiting)", self.files.len())
    }
}

const DOWNLOAD_VALID: Duration = Duration::from_secs(300);

impl Downloads {
    fn put(&mut self, bytes: Vec<u8>) -> String {
        let now = Instant::now();
        self.files
            .retain(|_, (at, _)| now.duration_since(*at) < DOWNLOAD_VALID);
        let key = hex::encode(rand::random::<[u8; 16]>());
        self.files.insert(key.clone(), (now, Bytes::from(bytes)));
        key
    }

    fn get(&self, key: &str) -> Option<Bytes> {
        self.files
            .get(key)
            .filter(|(at, _)| at.elapsed() < DOWNLOAD_VALID)
            .map(|(_, b)| b.clone())
    }
}

async fn get_drive(c: Call, Path(id): Path<String>) -> Result<Response, ApiError> {
    let user = c.user_id(&id);
    let d = c.st.tenant.get_drive(&user).await.map_err(|e| c.err(e))?;
    let owner = c.st.tenant.user(d.owner.as_str());
    let total: u64 = 1 << 40;
    Ok(json(
        StatusCode::OK,
        json!({
            "@odata.context": c.context("drives/$entity"),
            "id": d.id,
            "driveType": "business",
            "name": "OneDrive",
            "webUrl": d.web_url,
            "owner": { "user": {
                "id": d.owner,
                "displayName": owner.map(|u| u.display_name),
            }},
            "quota": {
                "deleted": 0,
                "remaining": total.saturating_sub(d.quota_used),
                "state": "normal",
                "total": total,
                "used": d.quota_used,
            },
        }),
    ))
}

fn item_json(drive: &DriveId, i: &DriveItem) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("id".into(), json!(i.id));
    if !(i.deleted) {
        m.insert("name".into(), json!(i.name));
    }
    let mut parent = json!({ "driveId": drive, "driveType": "business" });
    if let Some(p) = &i.parent_id {
        parent["id"] = json!(p);
    }
    m.insert("parentReference".into(), parent);
    if i.is_root {
        m.insert("root".into(), json!({}));
    }
    if i.is_folder {
        m.insert("folder".into(), json!({}));
    } else {
        m.insert("size".into(), json!(i.size));
        let mut hashes = serde_json::Map::new();
        if let Some(h) = &i.hashes.quick_xor_hash {
            hashes.insert("quickXorHash".into(), json!(h));
        }
        if let Some(h) = &i.hashes.sha256_hash {
            hashes.insert("sha256Hash".into(), json!(h.to_ascii_uppercase()));
        }
        m.insert(
            "file".into(),
            json!({ "mimeType": "application/octet-stream", "hashes": hashes }),
        );
    }
    if i.deleted {
        m.insert("deleted".into(), json!({ "state": "deleted" }));
    }
    Value::Object(m)
}

/// The simulated tenant's `token=` out of one of its links.
fn token_of(link: &str) -> Option<&str> {
    link.split("token=")
        .nth(1)
        .map(|t| t.split('&').next().unwrap_or(t))
}

/// §6.2: pages until a `@odata.deltaLink`; links carry the simulated tenant's token.
async fn delta(c: Call, Path(drive): Path<String>) -> Result<Response, ApiError> {
    let drive = DriveId::new(drive);
    let base = format!("{}/graph/v1.0/drives/{drive}/root/delta", c.base);
    let link = c.q("token").map(|t| format!("{base}?token={t}"));
    let page: DeltaPage = match c.st.tenant.drive_delta(&drive, link.as_deref()).await {
        Ok(p) => p,
        Err(e) if e.code == "resyncRequired" => {
            return Err(c.err(e).with_header("location", base));
        }
        Err(e) => return Err(c.err(e)),
    };
    let relink = |l: &str| token_of(l).map(|t| format!("{base}?token={t}"));
    let mut body = json!({
        "@odata.context": c.context("Collection(driveItem)"),
        "value": page.items.iter().map(|i| item_json(&drive, i)).collect::<Vec<_>>(),
    });
    if let Some(next) = page.next_link.as_deref().and_then(relink) {
        body["@odata.nextLink"] = json!(next);
    }
    if let Some(d) = page.delta_link.as_deref().and_then(relink) {
        body["@odata.deltaLink"] = json!(d);
    }
    Ok(json(StatusCode::OK, body))
}

/// §6.3: 302 to the pre-authenticated download URL.
async fn content(
    c: Call,
    Path((drive, item)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let bytes =
        c.st.tenant
            .download(&DriveId::new(drive), &item)
            .await
            .map_err(|e| c.err(e))?;
    let key =
        c.st.downloads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .put(bytes);
    let location = format!("{}/download/{key}", c.base);
    Ok((
        StatusCode::FOUND,
        [(header::LOCATION, location)],
        Body::empty(),
    )
        .into_response())
}

/// The pre-authenticated URL: no `Authorization`; `Range: bytes=a-b` gives 206.
pub async fn download(
    State(st): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    let found = st
        .downloads
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key);
    let Some(bytes) = found else {
        return (
            StatusCode::NOT_FOUND,
            "The download URL has expired or is unknown.",
        )
            .into_response();
    };
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| {
            let len = bytes.len();
            let start: usize = a.parse().ok()?;
            let end: usize = if b.is_empty() {
                len.checked_sub(1)?
            } else {
                b.parse::<usize>().ok()?.min(len.checked_sub(1)?)
            };
            (start <= end).then_some((start, end))
        });
    let len = bytes.len();
    match range {
        Some((start, end)) => (
            StatusCode::PARTIAL_CONTENT,
            [
                (header::CONTENT_TYPE, "application/octet-stream".to_string()),
                (header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}")),
            ],
            bytes.slice(start..=end),
        )
            .into_response(),
        None => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/octet-stream".to_string())],
            bytes,
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InviteBody {
    #[serde(default)]
    recipients: Vec<Recipient>,
    #[serde(default)]
    roles: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    email: Option<String>,
    object_id: Option<String>,
    alias: Option<String>,
}

fn permission_json(c: &Call, p: &DrivePermission) -> Value {
    let user = c.st.tenant.user(&p.granted_to);
    let who = json!({
        "id": user.as_ref().map(|u| u.id.clone()),
        "displayName": user.as_ref().map_or_else(|| p.granted_to.clone(), |u| u.display_name.clone()),
        "email": p.granted_to,
    });
    json!({
        "id": p.id,
        "roles": p.roles,
        "grantedTo": { "user": who },
        "grantedToV2": { "user": who },
        "invitation": { "email": p.granted_to, "signInRequired": true },
    })
}

/// §6.4: one permission per recipient and role; 200 with the collection.
async fn invite(
    c: Call,
    Path((drive, item)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: InviteBody = parse_body(&c, &body)?;
    let invalid = |m: &str| ApiError::graph(StatusCode::BAD_REQUEST, "invalidRequest", m, &c.rid);
    if body.recipients.is_empty() || body.roles.is_empty() {
        return Err(invalid("Invite needs at least one recipient and one role."));
    }
    let drive = DriveId::new(drive);
    let mut out = Vec::new();
    for r in &body.recipients {
        let email = match (&r.email, &r.object_id, &r.alias) {
            (Some(e), _, _) => e.clone(),
            (None, Some(id), _) => {
                c.st.tenant
                    .user(id)
                    .map(|u| u.user_principal_name)
                    .ok_or_else(|| invalid(&format!("Recipient '{id}' was not found.")))?
            }
            (None, None, Some(a)) => a.clone(),
            (None, None, None) => {
                return Err(invalid("A recipient needs email, objectId or alias."));
            }
        };
        for role in &body.roles {
            let p =
                c.st.tenant
                    .invite(&drive, &item, &email, role)
                    .await
                    .map_err(|e| c.err(e))?;
            out.push(permission_json(&c, &p));
        }
    }
    Ok(json(
        StatusCode::OK,
        json!({ "@odata.context": c.context("Collection(permission)"), "value": out }),
    ))
}

async fn permissions(
    c: Call,
    Path((drive, item)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let perms =
        c.st.tenant
            .list_permissions(&DriveId::new(drive.clone()), &item)
            .await
            .map_err(|e| c.err(e))?;
    let value: Vec<Value> = perms.iter().map(|p| permission_json(&c, p)).collect();
    let context = c.context(&format!("drives('{drive}')/items('{item}')/permissions"));
    odata::collection(&c, &context, value, 100, 999)
}
