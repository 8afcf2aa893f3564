//! Readers of the deployment files for tests/deploy.rs: YAML and JSON as `serde_json::Value`,
//! the Dockerfile's instructions, a systemd unit's sections, `KEY=VALUE` files, and the
//! `OFFBOARD_*` names a text mentions.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

pub fn path(rel: &str) -> PathBuf {
    Path::new(ROOT).join(rel)
}

pub fn read(rel: &str) -> String {
    std::fs::read_to_string(path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every document of a YAML file.
pub fn yaml(rel: &str) -> Vec<Value> {
    let text = read(rel);
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{rel}: {e}")))
        .collect()
}

pub fn json(rel: &str) -> Value {
    serde_json::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The Dockerfile's instructions in order: (keyword in upper case, arguments), with line
/// continuations joined and comments dropped.
pub fn dockerfile(rel: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in read(rel).lines() {
        let trimmed = line.trim();
        if pending.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                pending.push_str(part);
                pending.push(' ');
            }
            None => {
                pending.push_str(trimmed);
                let (kw, args) = pending.split_once(' ').unwrap_or((&pending, ""));
                out.push((kw.to_ascii_uppercase(), args.trim().to_string()));
                pending.clear();
            }
        }
    }
    assert!(pending.is_empty(), "{rel} ends inside a continued line");
    out
}

/// The `ENV` variables of a Dockerfile (the `KEY=VALUE ...` form).
pub fn dockerfile_env(instructions: &[(String, String)]) -> BTreeMap<String, String> {
    instructions
        .iter()
        .filter(|(kw, _)| kw == "ENV")
        .flat_map(|(_, args)| args.split_whitespace())
        .map(|pair| {
            let (k, v) = pair
                .split_once('=')
                .unwrap_or_else(|| panic!("ENV `{pair}` is not KEY=VALUE"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// The single instruction `kw` (panics when it is missing or repeated in the last stage).
pub fn last(instructions: &[(String, String)], kw: &str) -> String {
    instructions
        .iter()
        .rev()
        .find(|(k, _)| k == kw)
        .map(|(_, a)| a.clone())
        .unwrap_or_else(|| panic!("the Dockerfile has no {kw}"))
}

/// A systemd unit: section → key → values in order.
pub type Unit = BTreeMap<String, BTreeMap<String, Vec<String>>>;

pub fn systemd_unit(rel: &str) -> Unit {
    let mut unit = Unit::new();
    let mut section = None::<String>;
    for (n, line) in read(rel).lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name.to_string());
            unit.entry(name.to_string()).or_default();
            continue;
        }
        let sec = section
            .clone()
            .unwrap_or_else(|| panic!("{rel}:{}: a setting before any section", n + 1));
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("{rel}:{}: `{line}` is not Key=Value", n + 1));
        unit.entry(sec)
            .or_default()
            .entry(k.trim().to_string())
            .or_default()
            .push(v.trim().to_string());
    }
    unit
}

pub fn unit_value(unit: &Unit, section: &str, key: &str) -> String {
    unit.get(section)
        .and_then(|s| s.get(key))
        .and_then(|v| v.last())
        .cloned()
        .unwrap_or_else(|| panic!("the unit has no {key}= in [{section}]"))
}

/// `KEY=VALUE` lines (an environment file); comments and blank lines skipped.
pub fn env_file(rel: &str) -> BTreeMap<String, String> {
    read(rel)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("{rel}: `{l}` is not KEY=VALUE"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Every `OFFBOARD_<NAME>` a text mentions (`OFFBOARD_*` in prose is not a name).
pub fn offboard_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("OFFBOARD_") {
        let tail = &rest[at..];
        let len = tail
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        let name = tail[..len].trim_end_matches('_');
        if name.len() > "OFFBOARD_".len() {
            names.push(name.to_string());
        }
        rest = &tail[len.max(1)..];
    }
    names
}

/// The port of a `host:port` address.
pub fn port_of(addr: &str) -> u16 {
    addr.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("`{addr}` has no port"))
}

/// Seconds of a systemd/compose duration: `60`, `60s`, `1min 30s`, `90s`.
pub fn duration(text: &str) -> std::time::Duration {
    let t = text.trim();
    match t.parse::<u64>() {
        Ok(secs) => std::time::Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(t).unwrap_or_else(|e| panic!("`{t}`: {e}")),
    }
}

/// Walks `v` along `keys` (object keys, or array indexes as numbers in text).
pub fn at<'a>(v: &'a Value, keys: &[&str]) -> &'a Value {
    keys.iter().fold(v, |v, k| match k.parse::<usize>() {
        Ok(i) if v.is_array() => &v[i],
        _ => &v[*k],
    })
}

/// The string of `v`, whether YAML wrote it as a string or a number.
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => panic!("missing value"),
        other => other.to_string(),
    }
}
