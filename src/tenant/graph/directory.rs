//! Listing and counting users (docs/microsoft-365-api.md §2.3–§2.4):
//! `GET /users?$filter=...&$count=true` and `GET /users/$count` are advanced queries, sent with
//! `ConsistencyLevel: eventual` on every page. The index behind them lags recent writes by a
//! little.

use super::client::Client;
use super::limiter::Family::DirectoryRead as Read;
use super::path::segment;
use super::wire::{self, USER_SELECT};
use crate::tenant::{ErrorKind, TenantError, TenantResult, User, UserQuery};
use reqwest::Method;

const EVENTUAL: (&str, &str) = ("ConsistencyLevel", "eventual");

impl Client {
    pub async fn list_users(&self, query: &UserQuery) -> TenantResult<Vec<User>> {
        let path = format!(
            "/users?$filter={}&$select={USER_SELECT}&$top=999&$count=true",
            segment(&query.odata_filter())
        );
        let req = self
            .graph(Method::GET, &path, Read, 2)
            .header(EVENTUAL.0, EVENTUAL.1);
        let users: Vec<wire::WireUser> = self.graph_list_request(req, "/users").await?;
        Ok(users.into_iter().map(User::from).collect())
    }

    pub async fn count_users(&self) -> TenantResult<u64> {
        let req = self
            .graph(Method::GET, "/users/$count", Read, 1)
            .header(EVENTUAL.0, EVENTUAL.1);
        let resp = self.send(&req).await?;
        parse_count(&resp.body).ok_or_else(|| {
            TenantError::new(
                ErrorKind::BadRequest,
                "InvalidResponse",
                "the service's answer to GET /users/$count is not a plain-text number",
            )
            .with_request_id(resp.request_id.clone())
        })
    }
}

/// The `text/plain` body of a `$count` request; Graph may start it with a UTF-8 BOM.
fn parse_count(body: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(body).ok()?;
    text.trim_start_matches('\u{feff}').trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parse_count;

    #[test]
    fn count_bodies() {
        assert_eq!(parse_count(b"42"), Some(42));
        assert_eq!(parse_count("\u{feff}7\r\n".as_bytes()), Some(7));
        assert_eq!(parse_count(b"{\"value\":3}"), None);
        assert_eq!(parse_count(b"-1"), None);
    }
}
