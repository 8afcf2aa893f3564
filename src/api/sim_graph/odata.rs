//! OData query options on collections (docs/microsoft-365-api.md §2.3–2.4): `$select`, a small
//! `$filter` (`prop eq 'v'`, `startswith(prop,'v')`, joined by `and`; `ne`/`endswith` need
//! `ConsistencyLevel: eventual`), `$count`, `$top` and `$skiptoken` paging with absolute
//! `@odata.nextLink`s that keep every other query option.

use super::call::{Call, json};
use super::errors::ApiError;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};

/// The properties named by `$select`, if any.
pub fn select(c: &Call) -> Option<Vec<String>> {
    c.q("$select").map(|s| {
        s.split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect()
    })
}

/// Keeps the `@odata.*` annotations and the selected properties (or `default` without
/// `$select`; everything when `default` is `None`).
pub fn project(
    obj: Map<String, Value>,
    select: Option<&[String]>,
    default: Option<&[&str]>,
) -> Value {
    let keep = |k: &str| -> bool {
        if k.starts_with("@odata.") {
            return true;
        }
        match (select, default) {
            (Some(sel), _) => sel.iter().any(|s| s.eq_ignore_ascii_case(k)),
            (None, Some(def)) => def.contains(&k),
            (None, None) => true,
        }
    };
    Value::Object(obj.into_iter().filter(|(k, _)| keep(k)).collect())
}

/// 400 for a `$select` naming a property `known` does not have (§3.1).
pub fn check_select(c: &Call, known: &[&str], type_name: &str) -> Result<(), ApiError> {
    for p in select(c).unwrap_or_default() {
        if !known.iter().any(|k| k.eq_ignore_ascii_case(&p)) {
            return Err(c.bad_request(&format!(
                "Could not find a property named '{p}' on type 'microsoft.graph.{type_name}'."
            )));
        }
    }
    Ok(())
}

/// §2.4: `$count`, `$search`, `$orderby` (and `ne`/`endswith` filters) need
/// `ConsistencyLevel: eventual`.
pub fn check_advanced(c: &Call) -> Result<(), ApiError> {
    if c.eventual() {
        return Ok(());
    }
    if c.q("$search").is_some() {
        return Err(ApiError::graph(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
            &c.rid,
        ));
    }
    let advanced_filter = c.q("$filter").is_some_and(|f| {
        let f = f.to_ascii_lowercase();
        f.contains(" ne ") || f.contains("endswith(") || f.starts_with("not ")
    });
    if c.q("$count").is_some() || c.q("$orderby").is_some() || advanced_filter {
        return Err(unsupported(c));
    }
    Ok(())
}

pub fn unsupported(c: &Call) -> ApiError {
    ApiError::graph(
        StatusCode::BAD_REQUEST,
        "Request_UnsupportedQuery",
        "Unsupported Query.",
        &c.rid,
    )
}

/// 400 `Request_UnsupportedQuery` when any of `options` is given (for collections whose
/// docs say they do not support them).
pub fn refuse(c: &Call, options: &[&str]) -> Result<(), ApiError> {
    if options.iter().any(|o| c.q(o).is_some()) {
        return Err(unsupported(c));
    }
    Ok(())
}

/// One `$filter` clause.
enum Clause {
    Eq(String, Value),
    Ne(String, Value),
    StartsWith(String, String),
    EndsWith(String, String),
}

impl Clause {
    fn property(&self) -> &str {
        match self {
            Clause::Eq(p, _) | Clause::Ne(p, _) => p,
            Clause::StartsWith(p, _) | Clause::EndsWith(p, _) => p,
        }
    }
}

/// 400 `Request_UnsupportedQuery` for a `$filter` clause that cannot be parsed or tests a
/// property outside `allowed` (Graph's message names the property and the resource).
pub fn check_filter_properties(c: &Call, allowed: &[&str], resource: &str) -> Result<(), ApiError> {
    let Some(f) = c.q("$filter") else {
        return Ok(());
    };
    for clause in split_and(f) {
        let cl = parse_clause(&clause).ok_or_else(|| unsupported(c))?;
        let p = cl.property();
        if !allowed.iter().any(|a| a.eq_ignore_ascii_case(p)) {
            return Err(ApiError::graph(
                StatusCode::BAD_REQUEST,
                "Request_UnsupportedQuery",
                &format!(
                    "Unsupported or invalid query filter clause specified for property '{p}' of resource '{resource}'."
                ),
                &c.rid,
            ));
        }
    }
    Ok(())
}

fn literal(s: &str) -> Option<Value> {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')) {
        return Some(Value::String(inner.replace("''", "'")));
    }
    match s {
        "true" => Some(Value::Bool(true)),
        "false" => Some(Value::Bool(false)),
        "null" => Some(Value::Null),
        _ => s.parse::<i64>().ok().map(Value::from),
    }
}

fn function(clause: &str, name: &str) -> Option<(String, String)> {
    let open = clause.find('(')?;
    if !clause[..open].trim().eq_ignore_ascii_case(name) {
        return None;
    }
    let args = clause[open + 1..].trim_end().strip_suffix(')')?;
    let (prop, value) = args.split_once(',')?;
    match literal(value)? {
        Value::String(v) => Some((prop.trim().to_string(), v)),
        _ => None,
    }
}

fn parse_clause(clause: &str) -> Option<Clause> {
    let clause = clause.trim();
    if let Some((p, v)) = function(clause, "startswith") {
        return Some(Clause::StartsWith(p, v));
    }
    if let Some((p, v)) = function(clause, "endswith") {
        return Some(Clause::EndsWith(p, v));
    }
    let mut parts = clause.splitn(3, ' ');
    let (prop, op, value) = (parts.next()?, parts.next()?, parts.next()?);
    let value = literal(value)?;
    match op.to_ascii_lowercase().as_str() {
        "eq" => Some(Clause::Eq(prop.to_string(), value)),
        "ne" => Some(Clause::Ne(prop.to_string(), value)),
        _ => None,
    }
}

fn prop<'a>(item: &'a Value, name: &str) -> &'a Value {
    item.as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
        .map_or(&Value::Null, |(_, v)| v)
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
        _ => a == b,
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_ascii_lowercase()
}

/// Applies `$filter` to `items`; 400 `Request_UnsupportedQuery` for what it cannot parse.
pub fn filter(c: &Call, items: Vec<Value>) -> Result<Vec<Value>, ApiError> {
    let Some(f) = c.q("$filter") else {
        return Ok(items);
    };
    let clauses: Option<Vec<Clause>> = split_and(f).iter().map(|s| parse_clause(s)).collect();
    let clauses = clauses.ok_or_else(|| unsupported(c))?;
    Ok(items
        .into_iter()
        .filter(|item| {
            clauses.iter().all(|cl| match cl {
                Clause::Eq(p, v) => same(prop(item, p), v),
                Clause::Ne(p, v) => !same(prop(item, p), v),
                Clause::StartsWith(p, v) => {
                    text(prop(item, p)).starts_with(&v.to_ascii_lowercase())
                }
                Clause::EndsWith(p, v) => text(prop(item, p)).ends_with(&v.to_ascii_lowercase()),
            })
        })
        .collect())
}

fn split_and(f: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = f;
    while let Some(i) = rest.to_ascii_lowercase().find(" and ") {
        out.push(rest[..i].to_string());
        rest = &rest[i + 5..];
    }
    out.push(rest.to_string());
    out
}

/// `$orderby=prop [asc|desc]` on string (ISO date) properties.
pub fn order(c: &Call, mut items: Vec<Value>) -> Vec<Value> {
    if let Some(o) = c.q("$orderby") {
        let mut parts = o.split_whitespace();
        let key = parts.next().unwrap_or_default().to_string();
        let desc = parts.next().is_some_and(|d| d.eq_ignore_ascii_case("desc"));
        items.sort_by(|a, b| {
            let (x, y) = (prop(a, &key).to_string(), prop(b, &key).to_string());
            if desc { y.cmp(&x) } else { x.cmp(&y) }
        });
    }
    items
}

/// The skip offset carried by `$skiptoken` (ours: hex of `skip:N`).
fn skip(c: &Call) -> Result<usize, ApiError> {
    let Some(t) = c.q("$skiptoken") else {
        return Ok(0);
    };
    hex::decode(t)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("skip:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| c.bad_request("The specified page token value has expired or is invalid."))
}

/// The absolute URL of the page at `offset`: this request's URL with every query option but
/// `$skiptoken`, plus the new one.
pub fn next_link(c: &Call, offset: usize) -> String {
    let mut q: Vec<String> = c
        .query
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken"))
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    q.push(format!(
        "$skiptoken={}",
        hex::encode(format!("skip:{offset}"))
    ));
    format!("{}{}?{}", c.base, c.path, q.join("&"))
}

/// Percent-encodes a query component, keeping `$` and the characters OData uses as is.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'~'
            | b'$'
            | b','
            | b'('
            | b')'
            | b'\''
            | b'@'
            | b':' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The requested page size: `$top` within 1..=`max` (else the documented 400), else
/// `default`; never above the server's cap.
pub fn top(c: &Call, default: usize, max: usize) -> Result<usize, ApiError> {
    let asked = match c.q("$top") {
        None => None,
        Some(t) => Some(
            t.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    c.bad_request(&format!(
                        "Invalid page size specified: '{t}'. Must be between 1 and {max} inclusive."
                    ))
                })?,
        ),
    };
    Ok(c.st.opts.page_size(asked, default, max))
}

/// One page of `items` as a Graph collection: `@odata.context`, `@odata.count` (first page,
/// with `$count=true`), `value`, and `@odata.nextLink` while more remain.
pub fn collection(
    c: &Call,
    context: &str,
    items: Vec<Value>,
    default: usize,
    max: usize,
) -> Result<Response, ApiError> {
    let size = top(c, default, max)?;
    let offset = skip(c)?;
    let total = items.len();
    let end = offset.saturating_add(size).min(total);
    let page: Vec<Value> = items
        .into_iter()
        .skip(offset)
        .take(end.saturating_sub(offset))
        .collect();
    let mut body = Map::new();
    body.insert("@odata.context".into(), Value::String(context.to_string()));
    if offset == 0
        && c.q("$count")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        body.insert("@odata.count".into(), Value::from(total));
    }
    body.insert("value".into(), Value::Array(page));
    if end < total {
        body.insert("@odata.nextLink".into(), Value::String(next_link(c, end)));
    }
    Ok(json(StatusCode::OK, Value::Object(body)))
}

/// `entitySet(a,b)` when `$select` is given, else `entitySet`.
pub fn with_select(c: &Call, entity_set: &str) -> String {
    match select(c) {
        Some(sel) if !sel.is_empty() => format!("{entity_set}({})", sel.join(",")),
        _ => entity_set.to_string(),
    }
}
