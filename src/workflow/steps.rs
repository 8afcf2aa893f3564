//! Parses the `[[steps]]` of a workflow file: ids, kinds (action / wait / wait_until),
//! parameters, `when`, retry, timeout and approval.

use super::definition::{StepDef, StepKind};
use super::parse::{Defaults, parse_retry, positive_duration};
use super::reader::{Reader, is_slug};
use super::template::{check_param, check_template, compile_expr};
use crate::ids::StepId;
use crate::steps::Action;
use serde_json::Map;
use std::collections::HashMap;
use toml::de::DeTable;

const STEP_KEYS: &[&str] = &[
    "id",
    "action",
    "wait",
    "wait_until",
    "when",
    "params",
    "retry",
    "timeout",
    "approval",
];
const KIND_KEYS: &[&str] = &["action", "wait", "wait_until"];

/// Parses every step; problems go to `r`. Steps without a valid id and kind are left out
/// (the others still take part in the hazard checks).
pub(crate) fn parse_steps(
    r: &mut Reader<'_>,
    doc: &DeTable<'_>,
    defaults: &Defaults,
) -> Vec<StepDef> {
    let tables = r.tables(doc, "steps", "the workflow");
    if tables.is_empty() && !doc.contains_key("steps") {
        r.at_line(1, "the workflow has no `[[steps]]`");
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for (t, line) in tables {
        let step = parse_step(r, t, line, defaults);
        if let Some(step) = step {
            if let Some(first) = seen.get(step.id.as_str()) {
                r.at_line(
                    line,
                    format!("duplicate step id `{}` (first used at line {first}); step ids must be unique", step.id),
                );
                continue;
            }
            seen.insert(step.id.to_string(), line);
            out.push(step);
        }
    }
    out
}

fn parse_step(
    r: &mut Reader<'_>,
    t: &DeTable<'_>,
    line: usize,
    defaults: &Defaults,
) -> Option<StepDef> {
    let id = match r.string(t, "id", "the step") {
        Some((id, _)) if is_slug(&id) => Some(id),
        Some((id, id_line)) => {
            r.at_line(id_line, format!("step id `{id}` must match [a-z0-9-]+"));
            None
        }
        None => {
            if !t.contains_key("id") {
                r.at_line(line, "the step is missing `id` (e.g. id = \"disable\")");
            }
            None
        }
    };
    let whose = match &id {
        Some(id) => format!("step `{id}`"),
        None => format!("the step at line {line}"),
    };
    r.unknown_keys(t, STEP_KEYS, &whose);

    let kind = parse_kind(r, t, line, &whose);
    if t.contains_key("params")
        && matches!(
            kind,
            Some(StepKind::Wait { .. } | StepKind::WaitUntil { .. })
        )
    {
        r.at_line(
            line,
            format!("{whose} has `params`, but only action steps take parameters"),
        );
    }
    let when = r.string(t, "when", &whose).map(|(w, _)| w);
    if let Some(w) = &when
        && let Err(e) = compile_expr(w)
    {
        r.at_line(
            line,
            format!("the `when` of {whose} (`{w}`) is not a valid expression: {e}"),
        );
    }
    let retry = parse_retry(r, t, &whose, defaults.retry);
    let timeout = positive_duration(r, t, "timeout", &whose).unwrap_or(defaults.timeout);
    let requires_approval = r.boolean(t, "approval", &whose).unwrap_or(false);
    Some(StepDef {
        id: StepId::new(id?),
        kind: kind?,
        when,
        retry,
        timeout,
        requires_approval,
        line,
    })
}

fn parse_kind(r: &mut Reader<'_>, t: &DeTable<'_>, line: usize, whose: &str) -> Option<StepKind> {
    let present: Vec<&str> = KIND_KEYS
        .iter()
        .copied()
        .filter(|k| t.contains_key(*k))
        .collect();
    match present.as_slice() {
        [] => {
            r.at_line(
                line,
                format!("{whose} has none of `action`, `wait`, `wait_until`; give exactly one"),
            );
            None
        }
        ["action"] => parse_action(r, t, line, whose),
        ["wait"] => {
            positive_duration(r, t, "wait", whose).map(|duration| StepKind::Wait { duration })
        }
        ["wait_until"] => {
            let (at, _) = r.string(t, "wait_until", whose)?;
            if let Err(e) = check_template(&at) {
                r.at_line(
                    line,
                    format!("`wait_until` of {whose} (`{at}`) is not a valid template: {e}"),
                );
                return None;
            }
            Some(StepKind::WaitUntil { at })
        }
        several => {
            let names: Vec<String> = several.iter().map(|k| format!("`{k}`")).collect();
            r.at_line(
                line,
                format!(
                    "{whose} has {}; give exactly one of them",
                    names.join(" and ")
                ),
            );
            None
        }
    }
}

fn parse_action(r: &mut Reader<'_>, t: &DeTable<'_>, line: usize, whose: &str) -> Option<StepKind> {
    let (name, name_line) = r.string(t, "action", whose)?;
    let Some(action) = Action::from_name(&name) else {
        let known: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
        r.at_line(
            name_line,
            format!(
                "unknown action `{name}` in {whose}; known actions: {}",
                known.join(", ")
            ),
        );
        return None;
    };
    let mut params = Map::new();
    let mut ok = true;
    if let Some((table, _)) = r.table(t, "params", whose) {
        for (key, item) in table.iter() {
            let key_name = key.get_ref().to_string();
            if !action.params().contains(&key_name.as_str()) {
                let allowed = if action.params().is_empty() {
                    "it takes none".to_string()
                } else {
                    format!("allowed: {}", action.params().join(", "))
                };
                r.at(
                    key.span(),
                    format!("unknown parameter `{key_name}` for `{name}` in {whose}; {allowed}"),
                );
                ok = false;
                continue;
            }
            let Some(value) = r.json_value(item, whose) else {
                ok = false;
                continue;
            };
            if let Err(e) = check_param(&value) {
                r.at_line(
                    line,
                    format!("parameter `{key_name}` of {whose} is not a valid template: {e}"),
                );
                ok = false;
                continue;
            }
            params.insert(key_name, value);
        }
    }
    ok.then_some(StepKind::Action { action, params })
}
