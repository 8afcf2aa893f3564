//! Templates and expressions (minijinja, lenient undefined) over the run's template context,
//! and the conversions between JSON and minijinja values.

use crate::event::CloudEvent;
use chrono::{DateTime, SecondsFormat, Utc};
use minijinja::value::{Value as JValue, ValueKind};
use minijinja::{Environment, Expression};
use serde_json::{Map, Number, Value};
use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

/// One environment for every workflow: default (lenient) undefined, no loaders.
static ENV: LazyLock<Environment<'static>> = LazyLock::new(Environment::new);

/// The context templates see: `event`, `data` (`{}` when null), `subject`, `steps`
/// (step id → output) and `now` (RFC 3339).
pub fn template_context(
    event: &CloudEvent,
    outputs: &BTreeMap<String, Value>,
    now: DateTime<Utc>,
) -> Value {
    let data = if event.data.is_null() {
        Value::Object(Map::new())
    } else {
        event.data.clone()
    };
    let steps: Map<String, Value> = outputs
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut ctx = Map::new();
    ctx.insert(
        "event".into(),
        serde_json::to_value(event).unwrap_or(Value::Null),
    );
    ctx.insert("data".into(), data);
    ctx.insert("subject".into(), Value::String(event.subject.clone()));
    ctx.insert("steps".into(), Value::Object(steps));
    ctx.insert(
        "now".into(),
        Value::String(now.to_rfc3339_opts(SecondsFormat::Secs, true)),
    );
    Value::Object(ctx)
}

/// Compiles an expression; the error text is minijinja's reason.
pub(crate) fn compile_expr(source: &str) -> Result<Expression<'static, 'static>, String> {
    ENV.compile_expression_owned(source.to_string())
        .map_err(|e| describe(&e))
}

/// Checks a template's syntax.
pub(crate) fn check_template(source: &str) -> Result<(), String> {
    ENV.template_from_str(source)
        .map(|_| ())
        .map_err(|e| describe(&e))
}

/// Variables an expression reads, as dotted paths (`data.mailbox`).
pub(crate) fn expr_variables(source: &str) -> Result<HashSet<String>, String> {
    compile_expr(source).map(|e| e.undeclared_variables(true))
}

/// Evaluates an expression to a minijinja value.
pub(crate) fn eval_expr(source: &str, ctx: &Value) -> Result<JValue, String> {
    let expr = compile_expr(source)?;
    expr.eval(to_jinja(ctx)).map_err(|e| describe(&e))
}

/// Evaluates an expression for its truthiness (undefined and none are false).
pub(crate) fn eval_truthy(source: &str, ctx: &Value) -> Result<bool, String> {
    eval_expr(source, ctx).map(|v| v.is_true())
}

/// Renders a template to text.
pub(crate) fn render(source: &str, ctx: &Value) -> Result<String, String> {
    ENV.render_str(source, to_jinja(ctx))
        .map_err(|e| describe(&e))
}

/// If `s` is exactly one `{{ expr }}`, the expression inside it.
pub(crate) fn sole_expression(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") {
        return None;
    }
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    let inner = inner.trim();
    (!inner.is_empty()).then_some(inner)
}

/// Checks a parameter value's syntax: a sole `{{ expr }}` as an expression, other strings as
/// templates, strings inside arrays and tables too.
pub(crate) fn check_param(v: &Value) -> Result<(), String> {
    match v {
        Value::String(s) => match sole_expression(s) {
            Some(e) => compile_expr(e).map(|_| ()),
            None => check_template(s),
        },
        Value::Array(items) => items.iter().try_for_each(check_param),
        Value::Object(map) => map.values().try_for_each(check_param),
        _ => Ok(()),
    }
}

/// Renders one parameter value. `None` means "drop it" (the expression gave null/undefined).
pub(crate) fn render_param(v: &Value, ctx: &Value) -> Result<Option<Value>, String> {
    match v {
        Value::String(s) => match sole_expression(s) {
            Some(e) => {
                let out = from_jinja(&eval_expr(e, ctx)?)?;
                Ok((!out.is_null()).then_some(out))
            }
            None => render(s, ctx).map(|t| Some(Value::String(t))),
        },
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(render_param(item, ctx)?.unwrap_or(Value::Null));
            }
            Ok(Some(Value::Array(out)))
        }
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, item) in map {
                if let Some(r) = render_param(item, ctx)? {
                    out.insert(k.clone(), r);
                }
            }
            Ok(Some(Value::Object(out)))
        }
        other => Ok(Some(other.clone())),
    }
}

fn describe(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(d) => format!("{} ({d})", e.kind()),
        None => e.kind().to_string(),
    }
}

/// JSON → minijinja.
pub(crate) fn to_jinja(v: &Value) -> JValue {
    match v {
        Value::Null => JValue::from(()),
        Value::Bool(b) => JValue::from(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                JValue::from(i)
            } else if let Some(u) = n.as_u64() {
                JValue::from(u)
            } else {
                JValue::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => JValue::from(s.as_str()),
        Value::Array(items) => items.iter().map(to_jinja).collect(),
        Value::Object(map) => {
            let m: BTreeMap<String, JValue> =
                map.iter().map(|(k, v)| (k.clone(), to_jinja(v))).collect();
            JValue::from(m)
        }
    }
}

/// minijinja → JSON. Undefined and none become null.
pub(crate) fn from_jinja(v: &JValue) -> Result<Value, String> {
    Ok(match v.kind() {
        ValueKind::Undefined | ValueKind::None => Value::Null,
        ValueKind::Bool => Value::Bool(v.is_true()),
        ValueKind::Number => {
            if let Some(i) = v.as_i64() {
                Value::from(i)
            } else {
                let f = f64::try_from(v.clone()).map_err(|e| describe(&e))?;
                Number::from_f64(f).map_or(Value::Null, Value::Number)
            }
        }
        ValueKind::String => Value::String(v.as_str().unwrap_or_default().to_string()),
        ValueKind::Seq | ValueKind::Iterable => {
            let iter = v.try_iter().map_err(|e| describe(&e))?;
            Value::Array(iter.map(|x| from_jinja(&x)).collect::<Result<_, _>>()?)
        }
        ValueKind::Map => {
            let mut out = Map::new();
            for key in v.try_iter().map_err(|e| describe(&e))? {
                let item = v.get_item(&key).map_err(|e| describe(&e))?;
                out.insert(key.to_string(), from_jinja(&item)?);
            }
            Value::Object(out)
        }
        ValueKind::Invalid => return Err(format!("invalid value: {v}")),
        _ => Value::String(v.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trips_through_minijinja() {
        let v = json!({"a": [1, 2.5, "x", true, null], "b": {"c": -3}});
        assert_eq!(from_jinja(&to_jinja(&v)).unwrap(), v);
    }

    #[test]
    fn sole_expression_is_recognised_only_for_one_whole_expression() {
        assert_eq!(sole_expression("{{ data.x }}"), Some("data.x"));
        assert_eq!(sole_expression("{{- data.x -}}"), Some("data.x"));
        assert_eq!(sole_expression("a {{ x }}"), None);
        assert_eq!(sole_expression("{{ a }} {{ b }}"), None);
        assert_eq!(sole_expression("{{}}"), None);
    }

    #[test]
    fn syntax_errors_are_reported() {
        assert!(compile_expr("data.x ==").is_err());
        assert!(check_template("{{ data.x").is_err());
        assert!(check_template("{% if %}").is_err());
        assert!(check_template("plain {{ data.x }}").is_ok());
    }

    #[test]
    fn variables_are_dotted_paths() {
        let vars = expr_variables("data.mailbox == 'shared' and not data.onedrive").unwrap();
        let mut vars: Vec<_> = vars.into_iter().collect();
        vars.sort();
        assert_eq!(vars, vec!["data.mailbox", "data.onedrive"]);
    }
}
