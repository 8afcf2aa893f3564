//! Parses one workflow file into a [`Workflow`], reporting every problem of the file at once
//! (syntax, keys, types, durations, templates, ordering hazards), each with its line.

use super::definition::{Trigger, Workflow};
use super::reader::{Reader, is_slug};
use super::retry::{DEFAULT_TIMEOUT, RetryPolicy};
use super::steps::parse_steps;
use super::template::compile_expr;
use super::{DEFAULT_CRON, Problem, Schedule, hazards};
use crate::event::EVENT_TYPES;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::Duration;
use toml::de::DeTable;

const TOP_KEYS: &[&str] = &[
    "name",
    "version",
    "family",
    "description",
    "triggers",
    "defaults",
    "steps",
    "schedule",
    "cancels",
];
const SCHEDULE_KEYS: &[&str] = &["cron", "subject"];
const TRIGGER_KEYS: &[&str] = &["type", "when"];
const DEFAULTS_KEYS: &[&str] = &["retry", "timeout"];
pub(crate) const RETRY_KEYS: &[&str] = &["attempts", "backoff", "max_delay"];

/// Retry and timeout a step gets when it doesn't set its own.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Defaults {
    pub retry: RetryPolicy,
    pub timeout: Duration,
}

/// Parses and validates one workflow file. `Err` holds all problems, sorted by line.
pub fn parse(path: &Path, text: &str) -> Result<Workflow, Vec<Problem>> {
    let mut r = Reader::new(path, text);
    let (doc, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        for e in errors {
            let message = format!("TOML syntax error: {}", e.message().trim());
            match e.span() {
                Some(span) => r.at(span, message),
                None => r.at_line(1, message),
            }
        }
        return Err(r.problems);
    }
    let doc = doc.get_ref();
    let whose = "the workflow";
    r.unknown_keys(doc, TOP_KEYS, whose);

    let name = match r.string(doc, "name", whose) {
        Some((name, line)) => {
            if !is_slug(&name) {
                r.at_line(
                    line,
                    format!("workflow name `{name}` must match [a-z0-9-]+"),
                );
            }
            name
        }
        None => {
            if !doc.contains_key("name") {
                r.at_line(1, "missing `name` (e.g. name = \"leaver\")");
            }
            String::new()
        }
    };
    let version = match r.integer(doc, "version", whose) {
        Some((v, line)) => match u32::try_from(v) {
            Ok(v) if v >= 1 => v,
            _ => {
                r.at_line(line, format!("`version` must be an integer >= 1, not {v}"));
                0
            }
        },
        None => {
            if !doc.contains_key("version") {
                r.at_line(1, "missing `version` (an integer >= 1, e.g. version = 1)");
            }
            0
        }
    };
    let family = match r.string(doc, "family", whose) {
        Some((family, line)) => {
            if !is_slug(&family) {
                r.at_line(line, format!("family `{family}` must match [a-z0-9-]+"));
            }
            family
        }
        None => name.clone(),
    };
    let description = r
        .string(doc, "description", whose)
        .map(|(d, _)| d)
        .unwrap_or_default();
    let triggers = parse_triggers(&mut r, doc);
    let defaults = parse_defaults(&mut r, doc);
    let steps = parse_steps(&mut r, doc, &defaults);
    hazards::check(&mut r, &steps);
    let schedule = parse_schedule(&mut r, doc, &name, &triggers);
    let cancels = parse_cancels(&mut r, doc, &name);

    if !r.problems.is_empty() {
        let mut problems = r.problems;
        problems.sort_by_key(|p| p.line);
        return Err(problems);
    }
    Ok(Workflow {
        name,
        version,
        family,
        description,
        triggers,
        steps,
        schedule,
        cancels,
        hash: hex::encode(Sha256::digest(text.as_bytes())),
        source: text.to_string(),
        path: path.to_path_buf(),
    })
}

fn parse_triggers(r: &mut Reader<'_>, doc: &DeTable<'_>) -> Vec<Trigger> {
    let tables = r.tables(doc, "triggers", "the workflow");
    if tables.is_empty() && !doc.contains_key("triggers") {
        r.at_line(
            1,
            "missing `[[triggers]]`: add at least one, e.g. [[triggers]] type = \"hr.leaver\"",
        );
    }
    let mut out = Vec::new();
    for (t, line) in tables {
        let whose = format!("the trigger at line {line}");
        r.unknown_keys(t, TRIGGER_KEYS, &whose);
        let event_type = match r.string(t, "type", &whose) {
            Some((ty, _)) if EVENT_TYPES.contains(&ty.as_str()) => ty,
            Some((ty, _)) => {
                r.at_line(
                    line,
                    format!(
                        "unknown event type `{ty}` in the trigger; known types: {}",
                        EVENT_TYPES.join(", ")
                    ),
                );
                continue;
            }
            None => {
                if !t.contains_key("type") {
                    r.at_line(
                        line,
                        "the trigger is missing `type` (e.g. type = \"hr.leaver\")",
                    );
                }
                continue;
            }
        };
        let when = r.string(t, "when", &whose).map(|(w, _)| w);
        if let Some(w) = &when
            && let Err(e) = compile_expr(w)
        {
            r.at_line(
                line,
                format!("the `when` of the `{event_type}` trigger (`{w}`) is not a valid expression: {e}"),
            );
        }
        out.push(Trigger { event_type, when });
    }
    out
}

/// `[schedule]`: `cron` (default daily) and `subject` (default the workflow name). The
/// events it fires have the type of the workflow's only trigger.
fn parse_schedule(
    r: &mut Reader<'_>,
    doc: &DeTable<'_>,
    name: &str,
    triggers: &[Trigger],
) -> Option<Schedule> {
    let (t, line) = r.table(doc, "schedule", "the workflow")?;
    let whose = "[schedule]";
    r.unknown_keys(t, SCHEDULE_KEYS, whose);
    let cron = match r.string(t, "cron", whose) {
        Some((c, cline)) => {
            if let Err(e) = Schedule::check(&c) {
                r.at_line(
                    cline,
                    format!("`cron` in [schedule] (`{c}`) is not a valid cron expression: {e}"),
                );
            }
            c
        }
        None => DEFAULT_CRON.to_string(),
    };
    let subject = r
        .string(t, "subject", whose)
        .map(|(s, _)| s)
        .unwrap_or_else(|| name.to_string());
    let event_type = match triggers {
        [one] => one.event_type.clone(),
        _ => {
            r.at_line(
                line,
                "a workflow with [schedule] must have exactly one [[triggers]]: the type of the events the schedule fires",
            );
            String::new()
        }
    };
    if !event_type.is_empty()
        && let Err(why) = crate::event::subject_kind(&event_type, &subject)
    {
        r.at_line(
            line,
            format!("`subject` in [schedule] (`{subject}`) would be refused: {why}"),
        );
    }
    Some(Schedule {
        cron,
        subject,
        event_type,
        line,
    })
}

/// `cancels = ["leaver"]`: workflow names (not this one).
fn parse_cancels(r: &mut Reader<'_>, doc: &DeTable<'_>, name: &str) -> Vec<String> {
    let Some(item) = doc.get("cancels") else {
        return Vec::new();
    };
    let line = r.line(item.span().start);
    let Some(arr) = item.get_ref().as_array() else {
        r.at_line(
            line,
            "`cancels` must be a list of workflow names, e.g. cancels = [\"leaver\"]",
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for v in arr.iter() {
        match v.get_ref().as_str() {
            Some(s) if is_slug(s) && s != name => out.push(s.to_string()),
            Some(s) if s == name => r.at_line(
                line,
                format!("a workflow cannot cancel itself (`{s}` in `cancels`)"),
            ),
            _ => r.at_line(
                line,
                "`cancels` must be a list of workflow names ([a-z0-9-]+)",
            ),
        }
    }
    out
}

fn parse_defaults(r: &mut Reader<'_>, doc: &DeTable<'_>) -> Defaults {
    let mut defaults = Defaults {
        retry: RetryPolicy::default(),
        timeout: DEFAULT_TIMEOUT,
    };
    let Some((t, _)) = r.table(doc, "defaults", "the workflow") else {
        return defaults;
    };
    let whose = "[defaults]";
    r.unknown_keys(t, DEFAULTS_KEYS, whose);
    defaults.retry = parse_retry(r, t, whose, defaults.retry);
    if let Some(timeout) = positive_duration(r, t, "timeout", whose) {
        defaults.timeout = timeout;
    }
    defaults
}

/// Reads an optional `retry = { ... }` of `table`, overriding the fields of `base` it sets.
pub(crate) fn parse_retry(
    r: &mut Reader<'_>,
    table: &DeTable<'_>,
    whose: &str,
    base: RetryPolicy,
) -> RetryPolicy {
    let Some((t, line)) = r.table(table, "retry", whose) else {
        return base;
    };
    let whose = format!("the `retry` of {whose}");
    r.unknown_keys(t, RETRY_KEYS, &whose);
    let mut policy = base;
    if let Some((n, line)) = r.integer(t, "attempts", &whose) {
        match u32::try_from(n) {
            Ok(n) if n >= 1 => policy.attempts = n,
            _ => r.at_line(line, format!("`attempts` in {whose} must be >= 1, not {n}")),
        }
    }
    if let Some(d) = positive_duration(r, t, "backoff", &whose) {
        policy.backoff = d;
    }
    if let Some(d) = positive_duration(r, t, "max_delay", &whose) {
        policy.max_delay = d;
    }
    if policy.max_delay < policy.backoff {
        r.at_line(
            line,
            format!(
                "in {whose}, `max_delay` ({}) is shorter than `backoff` ({})",
                humantime::format_duration(policy.max_delay),
                humantime::format_duration(policy.backoff)
            ),
        );
    }
    policy
}

/// A duration that must be greater than zero.
pub(crate) fn positive_duration(
    r: &mut Reader<'_>,
    table: &DeTable<'_>,
    key: &str,
    whose: &str,
) -> Option<Duration> {
    let d = r.duration(table, key, whose)?;
    if d.is_zero() {
        let line = table.get(key).map_or(1, |i| r.line(i.span().start));
        r.at_line(line, format!("`{key}` in {whose} must be longer than zero"));
        return None;
    }
    Some(d)
}
