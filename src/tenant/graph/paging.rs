//! Graph requests and paging (docs/microsoft-365-api.md §2.3): every list follows `@odata.nextLink`
//! unchanged to the last page. A link must point under the base URL it came from: the
//! bearer token is never sent elsewhere.

use super::client::{Audience, Client, Request};
use super::errors::Service;
use super::limiter::Family;
use crate::tenant::{ErrorKind, TenantError, TenantResult};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Safety net against a service that never stops paging.
const MAX_PAGES: usize = 100_000;

/// Whether `link` lies under `base` (same scheme, host and port, path below base's path).
pub fn check_link(link: &str, base: &str) -> TenantResult<()> {
    let ok = match (reqwest::Url::parse(link), reqwest::Url::parse(base)) {
        (Ok(l), Ok(b)) => {
            l.origin() == b.origin() && l.path().starts_with(b.path().trim_end_matches('/'))
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(TenantError::new(
            ErrorKind::BadRequest,
            "UnexpectedNextLink",
            format!("the service returned a next link outside {base}; not following it"),
        ))
    }
}

impl Client {
    /// A Graph request; `path` starts with `/` and is relative to `{graph}/v1.0`.
    pub fn graph(&self, method: Method, path: &str, family: Family, cost: u32) -> Request {
        let url = format!("{}{path}", self.cfg.graph_base());
        Request::new(method, url, Service::Graph, Some(Audience::Graph)).family(family, cost)
    }

    /// GET a Graph object.
    pub async fn graph_get<T: DeserializeOwned>(
        &self,
        path: &str,
        family: Family,
        cost: u32,
    ) -> TenantResult<T> {
        self.send(&self.graph(Method::GET, path, family, cost))
            .await?
            .json()
    }

    /// GET a Graph collection and every page after it.
    pub async fn graph_list<T: DeserializeOwned>(
        &self,
        path: &str,
        family: Family,
        cost: u32,
    ) -> TenantResult<Vec<T>> {
        self.graph_list_request(self.graph(Method::GET, path, family, cost), path)
            .await
    }

    /// Sends `req` and follows every `@odata.nextLink` with the same headers (§2.3:
    /// `ConsistencyLevel` is not carried into next links; resend it). `path` names the
    /// collection in errors.
    pub async fn graph_list_request<T: DeserializeOwned>(
        &self,
        mut req: Request,
        path: &str,
    ) -> TenantResult<Vec<T>> {
        let base = self.cfg.graph_base();
        let mut out = Vec::new();
        for _ in 0..MAX_PAGES {
            let resp = self.send(&req).await?;
            let page: Page<T> = resp.json()?;
            out.extend(page.value);
            match page.next_link {
                Some(link) => {
                    check_link(&link, &base)?;
                    req.url = link;
                }
                None => return Ok(out),
            }
        }
        Err(TenantError::new(
            ErrorKind::BadRequest,
            "TooManyPages",
            format!("more than {MAX_PAGES} pages at {path}"),
        ))
    }
}

/// One page of a collection.
#[derive(serde::Deserialize)]
pub struct Page<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink", default)]
    pub delta_link: Option<String>,
}

/// `Page<Value>` for callers that look at raw items.
pub type RawPage = Page<Value>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_must_stay_under_the_base() {
        let base = "https://graph.microsoft.com/v1.0";
        assert!(check_link("https://graph.microsoft.com/v1.0/users?$skiptoken=x", base).is_ok());
        assert!(check_link("https://evil.example/v1.0/users", base).is_err());
        assert!(check_link("http://graph.microsoft.com/v1.0/users", base).is_err());
        assert!(
            check_link(
                "http://127.0.0.1:8080/graph/v1.0/users",
                "http://127.0.0.1:8080/graph/v1.0"
            )
            .is_ok()
        );
        assert!(
            check_link(
                "http://127.0.0.1:8080/other/v1.0/users",
                "http://127.0.0.1:8080/graph/v1.0"
            )
            .is_err()
        );
    }
}
