//! How a run reads on a terminal: the summary row of a listing, and the full view of
//! `runs show` (header, steps, then the journal with each attempt's report).

use super::table::{Table, cell, time};
use serde_json::Value;
use std::fmt::Write;

pub const LIST_HEADER: [&str; 7] = [
    "ID", "WORKFLOW", "SUBJECT", "STATUS", "STEP", "UPDATED", "REASON",
];

/// The id of the step a run is at (`-` past the end).
pub fn current_step(run: &Value) -> String {
    let cursor = run["cursor"].as_u64().unwrap_or(0) as usize;
    cell(&run["steps"][cursor]["id"])
}

/// A row of `runs list`.
pub fn list_row(run: &Value) -> Vec<String> {
    vec![
        cell(&run["id"]),
        cell(&run["workflow"]),
        cell(&run["subject"]),
        cell(&run["status"]),
        current_step(run),
        time(&run["updatedAt"]),
        cell(&run["reason"]),
    ]
}

/// What a waiting run waits for, e.g. `waiting until 2030-01-01 23:59:59 (timer)`.
pub fn waiting_for(run: &Value) -> Option<String> {
    if run["status"] != "waiting" {
        return None;
    }
    let kind = run["waitReason"]["kind"].as_str().unwrap_or("timer");
    if kind == "approval" {
        return Some(format!(
            "waiting for an approval: offboard runs approve {}",
            cell(&run["id"])
        ));
    }
    Some(format!("waiting until {} ({kind})", time(&run["wakeAt"])))
}

/// `runs show` and the end of `submit --wait`: header and steps; the journal when given.
pub fn render_run(run: &Value, with_journal: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "run {}  {} v{}  {}",
        cell(&run["id"]),
        cell(&run["workflow"]),
        cell(&run["workflowVersion"]),
        cell(&run["subject"])
    );
    let _ = writeln!(
        out,
        "status {}  created {}  updated {}  event {}",
        cell(&run["status"]),
        time(&run["createdAt"]),
        time(&run["updatedAt"]),
        cell(&run["eventId"])
    );
    if let Some(w) = waiting_for(run) {
        let _ = writeln!(out, "{w}");
    }
    if run["reason"].is_string() {
        let _ = writeln!(out, "reason: {}", cell(&run["reason"]));
    }
    let mut t = Table::new(&[
        "STEP", "ACTION", "STATUS", "ATTEMPTS", "FINISHED", "MESSAGE",
    ]);
    for s in run["steps"].as_array().into_iter().flatten() {
        t.row(vec![
            cell(&s["id"]),
            cell(&s["action"]),
            cell(&s["status"]),
            cell(&s["attempts"]),
            time(&s["finishedAt"]),
            cell(&s["message"]),
        ]);
    }
    out.push('\n');
    out.push_str(&t.render());
    if with_journal {
        out.push_str(&render_journal(run));
    }
    out
}

fn render_journal(run: &Value) -> String {
    let entries = run["journal"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let mut out = String::from("\njournal:\n");
    if entries.is_empty() {
        out.push_str("  (no attempt yet)\n");
    }
    for e in entries {
        let _ = writeln!(
            out,
            "  {} #{}  {} -> {}  {}{}",
            cell(&e["step"]),
            cell(&e["attempt"]),
            time(&e["startedAt"]),
            time(&e["endedAt"]),
            cell(&e["outcome"]),
            e["message"]
                .as_str()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        );
        for part in ["observed", "changed", "verified", "output"] {
            let v = &e["report"][part];
            if !v.is_null() && v != &Value::Object(Default::default()) {
                let _ = writeln!(out, "      {part:<8} {}", compact(v, 160));
            }
        }
    }
    out
}

/// One-line JSON, cut at `max` characters.
fn compact(v: &Value, max: usize) -> String {
    let s = v.to_string();
    if s.chars().count() <= max {
        return s;
    }
    let cut: String = s.chars().take(max).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_run_shows_its_steps_wait_and_journal() {
        let run = json!({"id": "r1", "workflow": "leaver", "workflowVersion": 1,
            "subject": "a@b", "status": "waiting", "cursor": 0, "eventId": "e1",
            "createdAt": "2026-11-01T09:00:00Z", "updatedAt": "2026-11-01T09:00:01Z",
            "wakeAt": "2030-01-01T23:59:59Z", "waitReason": {"kind": "timer"},
            "steps": [{"id": "last-day", "action": "wait_until", "status": "waiting", "attempts": 1}],
            "journal": [{"step": "last-day", "attempt": 1, "startedAt": "2026-11-01T09:00:00Z",
                "outcome": "done", "report": {"observed": {"enabled": true}, "changed": {}}}]});
        let text = render_run(&run, true);
        assert!(
            text.contains("waiting until 2030-01-01 23:59:59 (timer)"),
            "{text}"
        );
        assert!(text.contains("last-day  wait_until"), "{text}");
        assert!(text.contains("observed {\"enabled\":true}"), "{text}");
        assert!(!text.contains("changed "), "{text}");
        assert_eq!(list_row(&run)[4], "last-day");
    }
}
