//! The token endpoint (docs/microsoft-365-api.md §1.1–1.4): client credentials with a client secret
//! (form field or HTTP Basic) or a client assertion. The assertion's structure is checked — header
//! `alg` PS256/RS256 with `x5t#S256` (or `x5t`), matched against the registered certificate
//! when one is configured; `aud` = this token endpoint; `iss` = `sub` = client id; `exp` in
//! the future, `nbf` not ahead — but its signature is NOT verified. Tokens are opaque random
//! strings remembered with their audience, app, tenant and expiry.

use super::call::base_url;
use super::server::AppState;
use axum::Json;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The service a token is for (its `scope` minus `/.default`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Graph,
    Exchange,
    Partner,
}

impl Audience {
    /// `http://host/graph/.default` → Graph, and so on; `None` for anything else.
    fn from_scope(scope: &str) -> Option<Self> {
        let resource = scope.strip_suffix("/.default")?;
        let (_, last) = resource.trim_end_matches('/').rsplit_once('/')?;
        match last {
            "graph" => Some(Audience::Graph),
            "exchange" => Some(Audience::Exchange),
            "partner" => Some(Audience::Partner),
            _ => None,
        }
    }
}

/// What a token was issued for.
#[derive(Debug, Clone)]
pub struct Issued {
    pub audience: Audience,
    pub client_id: String,
    /// The tenant it was requested from (the path segment).
    pub tenant: String,
    expires: Instant,
}

/// Why a presented token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    Unknown,
    Expired,
}

/// Issued tokens. Debug shows only how many there are.
#[derive(Default)]
pub struct TokenStore {
    tokens: Mutex<HashMap<String, Issued>>,
}

impl std::fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.tokens.lock().map(|t| t.len()).unwrap_or(0);
        write!(f, "TokenStore({n} tokens)")
    }
}

impl TokenStore {
    fn issue(&self, audience: Audience, client_id: &str, tenant: &str, life: Duration) -> String {
        let token = format!("simgraph.{}", hex::encode(rand::random::<[u8; 32]>()));
        let now = Instant::now();
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if tokens.len() > 10_000 {
            tokens.retain(|_, t| t.expires > now);
        }
        tokens.insert(
            token.clone(),
            Issued {
                audience,
                client_id: client_id.to_string(),
                tenant: tenant.to_string(),
                expires: now + life,
            },
        );
        token
    }

    pub fn check(&self, token: &str) -> Result<Issued, TokenProblem> {
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let t = tokens.get(token).ok_or(TokenProblem::Unknown)?;
        if Instant::now() >= t.expires {
            return Err(TokenProblem::Expired);
        }
        Ok(t.clone())
    }
}

/// §1.4 error body.
fn error(status: StatusCode, error: &str, code: u32, text: &str) -> Response {
    let now = chrono::Utc::now();
    let timestamp = now.format("%Y-%m-%d %H:%M:%SZ").to_string();
    let trace = uuid::Uuid::now_v7().to_string();
    let correlation = uuid::Uuid::now_v7().to_string();
    let body = json!({
        "error": error,
        "error_description": format!(
            "AADSTS{code}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {timestamp}"
        ),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    (status, Json(body)).into_response()
}

fn missing(param: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900144,
        &format!("The request body must contain the following parameter: '{param}'."),
    )
}

fn invalid_client(code: u32, text: &str) -> Response {
    error(StatusCode::UNAUTHORIZED, "invalid_client", code, text)
}

/// `client_id:secret` from `Authorization: Basic`.
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get("authorization")?.to_str().ok()?;
    let raw = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let text = String::from_utf8(STANDARD.decode(raw.trim()).ok()?).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

pub async fn token(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return missing("grant_type");
    };
    let opts = &st.opts;
    if !opts.is_login_tenant(&tenant) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    match form.get("grant_type").map(String::as_str) {
        None => return missing("grant_type"),
        Some("client_credentials") => {}
        Some(g) => {
            return error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70003,
                &format!("The app requested an unsupported grant type '{g}'."),
            );
        }
    }
    let basic = basic(&headers);
    let Some(client_id) = form
        .get("client_id")
        .cloned()
        .or_else(|| basic.as_ref().map(|b| b.0.clone()))
    else {
        return missing("client_id");
    };
    if !client_id.eq_ignore_ascii_case(&opts.client_id) {
        return error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."
            ),
        );
    }
    let Some(scope) = form.get("scope") else {
        return missing("scope");
    };
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let audience = match scopes.as_slice() {
        [one] => Audience::from_scope(one),
        _ => None,
    };
    let Some(audience) = audience else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            &format!(
                "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
            ),
        );
    };
    let secret = form
        .get("client_secret")
        .cloned()
        .or_else(|| basic.map(|b| b.1));
    let checked = match (secret, form.get("client_assertion")) {
        (Some(s), _) => match &opts.client_secret {
            Some(expected) if expected.expose() == s => Ok(()),
            _ => Err(Refused(
                7000215,
                format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                ),
            )),
        },
        (None, Some(assertion)) => {
            if form.get("client_assertion_type").map(String::as_str)
                != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    900144,
                    "The request body must contain the following parameter: 'client_assertion_type'.",
                );
            }
            let base = base_url(&headers);
            let auds = [
                format!("{base}/login/{tenant}/oauth2/v2.0/token"),
                format!("{base}/login/{tenant}/v2.0"),
            ];
            check_assertion(
                assertion,
                &opts.client_id,
                &auds,
                opts.cert_thumbprint_sha256.as_deref(),
            )
        }
        (None, None) => Err(Refused(
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."
                .to_string(),
        )),
    };
    if let Err(Refused(code, text)) = checked {
        return invalid_client(code, &text);
    }
    let token = st
        .tokens
        .issue(audience, &opts.client_id, &tenant, opts.token_lifetime);
    let secs = opts.token_lifetime.as_secs();
    (
        StatusCode::OK,
        Json(json!({
            "token_type": "Bearer",
            "expires_in": secs,
            "ext_expires_in": secs,
            "access_token": token,
        })),
    )
        .into_response()
}

fn segment(s: &str) -> Option<Value> {
    let s = s.trim_end_matches('=');
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).ok()?).ok()
}

/// An assertion refused with `invalid_client`: the AADSTS code and the text.
#[derive(Debug)]
struct Refused(u32, String);

/// §1.2 structure checks of a client assertion (no signature verification).
fn check_assertion(
    jwt: &str,
    client_id: &str,
    auds: &[String],
    thumbprint: Option<&str>,
) -> Result<(), Refused> {
    let malformed =
        |what: &str| Refused(50027, format!("JWT token is invalid or malformed: {what}."));
    let parts: Vec<&str> = jwt.split('.').collect();
    let [h, p, sig] = parts.as_slice() else {
        return Err(malformed("not three dot-separated parts"));
    };
    if sig.is_empty() {
        return Err(malformed("no signature"));
    }
    let header = segment(h)
        .filter(Value::is_object)
        .ok_or_else(|| malformed("bad header"))?;
    let claims = segment(p)
        .filter(Value::is_object)
        .ok_or_else(|| malformed("bad payload"))?;
    match header["alg"].as_str() {
        Some("PS256" | "RS256") => {}
        _ => return Err(malformed("header alg must be PS256 or RS256")),
    }
    let s256 = header["x5t#S256"].as_str();
    if s256.is_none() && header["x5t"].as_str().is_none() {
        return Err(malformed("header has neither x5t#S256 nor x5t"));
    }
    if let Some(expected) = thumbprint
        && s256 != Some(expected)
    {
        return Err(Refused(700027, "The certificate with identifier used to sign the client assertion is not registered on application.".to_string()));
    }
    let aud_ok = |a: &str| {
        auds.iter()
            .any(|x| x.eq_ignore_ascii_case(a.trim_end_matches('/')))
    };
    let aud_matches = match &claims["aud"] {
        Value::String(a) => aud_ok(a),
        Value::Array(v) => v.iter().filter_map(Value::as_str).any(aud_ok),
        _ => false,
    };
    if !aud_matches {
        return Err(malformed(&format!(
            "aud must be the token endpoint {}",
            auds.first().map(String::as_str).unwrap_or_default()
        )));
    }
    if claims["iss"].as_str() != Some(client_id) || claims["sub"].as_str() != Some(client_id) {
        return Err(Refused(
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter."
                .to_string(),
        ));
    }
    let now = chrono::Utc::now().timestamp();
    let exp = claims["exp"].as_i64().ok_or_else(|| malformed("no exp"))?;
    let nbf_ahead = claims["nbf"].as_i64().is_some_and(|nbf| nbf > now + 300);
    if exp <= now || nbf_ahead {
        return Err(Refused(
            700024,
            "Client assertion is not within its valid time range.".to_string(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_name_the_service_by_its_prefix() {
        assert_eq!(
            Audience::from_scope("http://127.0.0.1:9/graph/.default"),
            Some(Audience::Graph)
        );
        assert_eq!(
            Audience::from_scope("http://h/exchange/.default"),
            Some(Audience::Exchange)
        );
        assert_eq!(
            Audience::from_scope("http://h/partner/.default"),
            Some(Audience::Partner)
        );
        assert_eq!(Audience::from_scope("http://h/graph"), None);
        assert_eq!(
            Audience::from_scope("https://graph.microsoft.com/.default"),
            None
        );
    }

    #[test]
    fn expired_tokens_are_told_apart_from_unknown_ones() {
        let s = TokenStore::default();
        let t = s.issue(Audience::Graph, "app", "t", Duration::ZERO);
        assert_eq!(s.check(&t).unwrap_err(), TokenProblem::Expired);
        assert_eq!(s.check("nope").unwrap_err(), TokenProblem::Unknown);
        let t = s.issue(Audience::Exchange, "app", "t", Duration::from_secs(60));
        assert_eq!(s.check(&t).unwrap().audience, Audience::Exchange);
        assert!(!format!("{s:?}").contains(&t));
    }
}
