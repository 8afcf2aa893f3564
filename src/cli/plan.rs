//! `offboard plan <TYPE> <USER> [--data k=v]...`: what an event would do, changing nothing
//! (`POST /api/v1/plan`), rendered per run and step with `+` (runs), `-` (skipped) and `x`
//! (blocked) markers, then blockers and warnings.

use super::event_build::{DEFAULT_SOURCE, cloud_event, fresh_id, parse_data};
use super::remote::{Remote, RemoteArgs, print_json};
use super::table::{cell, time};
use anyhow::Context;
use clap::Args;
use serde_json::Value;
use std::fmt::Write;

#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Event type, e.g. hr.leaver.
    #[arg(value_name = "TYPE")]
    pub event_type: String,
    /// The person (UPN or object id).
    #[arg(value_name = "USER")]
    pub user: String,
    /// A data field, as for `submit` (repeatable).
    #[arg(long = "data", value_name = "KEY=VALUE")]
    pub data: Vec<String>,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

pub async fn run(args: PlanArgs) -> anyhow::Result<()> {
    let data = parse_data(&args.data)?;
    let remote = Remote::connect(&args.remote)?;
    let event = cloud_event(
        &fresh_id(),
        DEFAULT_SOURCE,
        &args.event_type,
        &args.user,
        &data,
    );
    let body = serde_json::to_vec(&event)?;
    let plan = remote
        .client
        .plan(body.clone(), remote.sign(&body))
        .await
        .with_context(|| format!("planning {} for {}", args.event_type, args.user))?;
    if remote.json {
        return print_json(&plan);
    }
    print!("{}", render(&plan));
    Ok(())
}

fn issues(out: &mut String, indent: &str, v: &Value) {
    for b in v["blockers"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "{indent}BLOCKED {}: {}",
            cell(&b["code"]),
            cell(&b["message"])
        );
    }
    for w in v["warnings"].as_array().into_iter().flatten() {
        let _ = writeln!(out, "{indent}warning: {}", cell(w));
    }
}

fn render(plan: &Value) -> String {
    let mut out = String::new();
    let s = &plan["subject"];
    if s.is_null() {
        let _ = writeln!(
            out,
            "subject: {} (not found in the tenant)",
            cell(&plan["event"]["subject"])
        );
    } else {
        let enabled = if s["accountEnabled"] == false {
            ", disabled"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "subject: {} ({}, {}{enabled})",
            cell(&s["userPrincipalName"]),
            cell(&s["displayName"]),
            cell(&s["id"])
        );
    }
    issues(&mut out, "", plan);
    let runs = plan["runs"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if runs.is_empty() {
        let _ = writeln!(
            out,
            "no workflow would run for {}",
            cell(&plan["event"]["type"])
        );
    }
    for r in runs {
        let starts = if r["startsAt"].is_string() {
            time(&r["startsAt"])
        } else {
            "now".into()
        };
        let _ = writeln!(
            out,
            "\n{} v{}: starts {starts}",
            cell(&r["workflow"]),
            cell(&r["workflowVersion"])
        );
        for (key, label) in [("queuedBehind", "queued behind"), ("replaces", "replaces")] {
            let ids: Vec<String> = r[key].as_array().into_iter().flatten().map(cell).collect();
            if !ids.is_empty() {
                let _ = writeln!(out, "  {label}: {}", ids.join(", "));
            }
        }
        issues(&mut out, "  ", r);
        for st in r["steps"].as_array().into_iter().flatten() {
            let blocked = st["blockers"].as_array().is_some_and(|b| !b.is_empty());
            let mark = match (blocked, st["runs"] == true) {
                (true, _) => 'x',
                (false, true) => '+',
                (false, false) => '-',
            };
            let skip = st["skipReason"]
                .as_str()
                .map(|r| format!(" (skipped: {r})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {mark} {} [{}]{skip}",
                cell(&st["id"]),
                cell(&st["action"])
            );
            for d in st["does"].as_array().into_iter().flatten() {
                let _ = writeln!(out, "      {}", cell(d));
            }
            issues(&mut out, "      ", st);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn steps_are_marked_and_issues_listed() {
        let plan = json!({"event": {"id": "e", "type": "hr.leaver", "subject": "a@b"},
            "subject": {"id": "u1", "userPrincipalName": "a@b", "displayName": "A", "accountEnabled": true},
            "runs": [{"workflow": "leaver", "workflowVersion": 1, "startsAt": null,
                "queuedBehind": [], "replaces": ["r0"], "blockers": [], "warnings": ["w1"],
                "steps": [
                    {"id": "disable", "action": "user.disable", "runs": true, "skipReason": null,
                     "does": ["blocks sign-in"], "blockers": [], "warnings": []},
                    {"id": "purge", "action": "user.purge", "runs": false, "skipReason": "mailbox is shared",
                     "does": [], "blockers": [], "warnings": []},
                    {"id": "convert", "action": "mailbox.convert", "runs": true, "skipReason": null,
                     "does": [], "blockers": [{"code": "on-premises", "message": "synced"}], "warnings": []}]}],
            "blockers": [], "warnings": []});
        let text = render(&plan);
        assert!(text.contains("leaver v1: starts now"), "{text}");
        assert!(text.contains("  replaces: r0"), "{text}");
        assert!(
            text.contains("  + disable [user.disable]\n      blocks sign-in"),
            "{text}"
        );
        assert!(
            text.contains("  - purge [user.purge] (skipped: mailbox is shared)"),
            "{text}"
        );
        assert!(text.contains("  x convert"), "{text}");
        assert!(text.contains("BLOCKED on-premises: synced"), "{text}");
        assert!(text.contains("warning: w1"), "{text}");
    }
}
