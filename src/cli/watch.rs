//! `submit --wait`: polls each run (about every 500 ms) until it ends and shows progress on
//! stderr. On a terminal the step list is redrawn in place; otherwise one line per change.
//! Losing the service for up to about a minute (a restart) does not end the wait.

use super::run_view::waiting_for;
use super::table::cell;
use crate::api::client::{AdminClient, ClientError};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

const POLL: Duration = Duration::from_millis(500);
/// Polls in a row that may fail to reach the service (about a minute) before giving up.
const MAX_LOST_POLLS: u32 = 120;
const ENDED: [&str; 4] = ["succeeded", "failed", "blocked", "cancelled"];

pub fn has_ended(run: &Value) -> bool {
    run["status"].as_str().is_some_and(|s| ENDED.contains(&s))
}

/// Polls until every run has ended; answers the runs as last read.
pub async fn wait_runs(client: &AdminClient, ids: &[String]) -> anyhow::Result<Vec<Value>> {
    let terminal = std::io::stderr().is_terminal();
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut drawn = 0usize;
    let mut lost = 0u32;
    loop {
        let runs = match poll(client, ids).await {
            Ok(runs) => {
                lost = 0;
                runs
            }
            // The service restarting (or a network blip) does not end the wait at once.
            Err(e @ ClientError::Unreachable { .. }) if lost < MAX_LOST_POLLS => {
                if lost == 0 {
                    eprintln!("offboard: {e}; still trying");
                }
                lost += 1;
                tokio::time::sleep(POLL).await;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if terminal {
            drawn = redraw(&runs, drawn);
        } else {
            for line in changes(&runs, &mut seen) {
                eprintln!("{} {line}", chrono::Utc::now().format("%H:%M:%S"));
            }
        }
        if runs.iter().all(has_ended) {
            return Ok(runs);
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn poll(client: &AdminClient, ids: &[String]) -> Result<Vec<Value>, ClientError> {
    let mut runs = Vec::with_capacity(ids.len());
    for id in ids {
        runs.push(client.run(id).await?);
    }
    Ok(runs)
}

/// The state lines of a run: one per step, then what it waits for or why it ended.
fn state_lines(run: &Value) -> Vec<(String, String)> {
    let wf = cell(&run["workflow"]);
    let mut out = Vec::new();
    for s in run["steps"].as_array().into_iter().flatten() {
        let mut state = cell(&s["status"]);
        if let Some(m) = s["message"].as_str() {
            state = format!("{state}: {m}");
        }
        out.push((format!("{wf}/{}", cell(&s["id"])), state));
    }
    let run_state = match (waiting_for(run), run["reason"].as_str()) {
        (Some(w), _) => w,
        (None, Some(r)) => format!("{}: {r}", cell(&run["status"])),
        (None, None) => cell(&run["status"]),
    };
    out.push((format!("{wf} run {}", cell(&run["id"])), run_state));
    out
}

/// The lines whose state changed since the last poll (all of them the first time).
fn changes(runs: &[Value], seen: &mut HashMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for run in runs {
        for (key, state) in state_lines(run) {
            let before = seen.get(&key);
            // Steps not started yet are not news; everything else is, once per change.
            let news = before != Some(&state) && !(before.is_none() && state == "pending");
            if news {
                out.push(format!("{key} {state}"));
            }
            seen.insert(key, state);
        }
    }
    out
}

/// Erases the `drawn` lines of the previous frame and draws the current one.
fn redraw(runs: &[Value], drawn: usize) -> usize {
    let (frame, lines) = frame(runs, drawn);
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(frame.as_bytes());
    let _ = err.flush();
    lines
}

/// The text of a frame (cursor up over the previous one, each line cleared before it is
/// written) and how many lines it has.
fn frame(runs: &[Value], drawn: usize) -> (String, usize) {
    let mut frame = String::new();
    if drawn > 0 {
        frame.push_str(&format!("\x1b[{drawn}A"));
    }
    let mut lines = 0;
    for run in runs {
        for (key, state) in state_lines(run) {
            frame.push_str(&format!("\x1b[2K{key:<40} {state}\n"));
            lines += 1;
        }
    }
    (frame, lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_changes_are_reported() {
        let mut seen = HashMap::new();
        let run = |s: &str, status: &str| {
            json!({"id": "r1", "workflow": "leaver", "status": status,
                "steps": [{"id": "disable", "status": s}]})
        };
        let first = changes(&[run("pending", "pending")], &mut seen);
        assert_eq!(
            first,
            Vec::<String>::new(),
            "pending at first sight is not news"
        );
        let running = changes(&[run("running", "running")], &mut seen);
        assert_eq!(
            running,
            vec!["leaver/disable running", "leaver run r1 running"]
        );
        assert!(changes(&[run("running", "running")], &mut seen).is_empty());
        let done = changes(&[run("succeeded", "succeeded")], &mut seen);
        assert_eq!(
            done,
            vec!["leaver/disable succeeded", "leaver run r1 succeeded"]
        );
        assert!(has_ended(&run("succeeded", "succeeded")));
    }

    #[test]
    fn a_frame_moves_up_over_the_previous_one() {
        let run = json!({"id": "r1", "workflow": "leaver", "status": "waiting",
            "wakeAt": "2030-01-02T00:00:00Z", "waitReason": {"kind": "timer"},
            "steps": [{"id": "last-day", "status": "waiting"}]});
        let (first, n) = frame(std::slice::from_ref(&run), 0);
        assert_eq!(n, 2);
        assert!(first.starts_with("\x1b[2Kleaver/last-day"), "{first:?}");
        assert!(
            first.contains("waiting until 2030-01-02 00:00:00 (timer)\n"),
            "{first:?}"
        );
        let (second, _) = frame(&[run], n);
        assert!(second.starts_with("\x1b[2A\x1b[2K"), "{second:?}");
    }
}
