//! Typed step parameters beyond strings and booleans: bounded integers (a JSON number or a
//! numeric string) and durations (`"365d"`, humantime syntax). Absent or empty = default;
//! anything else is an error that names the parameter and what it accepts.

use super::StepContext;
use serde_json::Value;
use std::time::Duration;

/// An integer parameter within `min..=max`.
pub(crate) fn int(
    ctx: &StepContext<'_>,
    name: &str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, String> {
    let bad = |shown: &str| {
        format!("parameter `{name}` is `{shown}`; it must be a whole number from {min} to {max}")
    };
    let n = match ctx.params.get(name) {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(default),
        Some(Value::String(s)) => s.trim().parse::<i64>().map_err(|_| bad(s))?,
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| bad(&n.to_string()))?,
        Some(other) => return Err(bad(&other.to_string())),
    };
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(bad(&n.to_string()))
    }
}

/// A duration parameter (`"365d"`, `"3d 12h"`); must be positive.
pub(crate) fn duration(
    ctx: &StepContext<'_>,
    name: &str,
    default: Duration,
) -> Result<Duration, String> {
    let text = match ctx.params.get(name) {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(default),
        Some(Value::String(s)) => s.trim(),
        Some(other) => {
            return Err(format!(
                "parameter `{name}` is `{other}`; it must be a duration in quotes, e.g. `\"365d\"`"
            ));
        }
    };
    match humantime::parse_duration(text) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(format!(
            "parameter `{name}` is `{text}`; it must be longer than zero"
        )),
        Err(e) => Err(format!(
            "parameter `{name}` is `{text}`, not a duration ({e}); write e.g. `365d` or `3d 12h`"
        )),
    }
}
