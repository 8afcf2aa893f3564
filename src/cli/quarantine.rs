//! `offboard quarantine`: the state of the mass-offboarding brake (`GET /api/v1/quarantine`)
//! as a few lines; `runs approve|cancel --quarantined` act on it.

use super::remote::{Remote, RemoteArgs, print_json};
use super::table::{cell, time};
use anyhow::Context;
use clap::Args;
use serde_json::Value;

#[derive(Args, Debug)]
pub struct QuarantineArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
}

pub async fn run(args: QuarantineArgs) -> anyhow::Result<()> {
    let remote = Remote::connect(&args.remote)?;
    let q = remote
        .client
        .quarantine()
        .await
        .context("reading the quarantine")?;
    if remote.json {
        return print_json(&q);
    }
    print!("{}", render(&q));
    Ok(())
}

fn render(q: &Value) -> String {
    let held: Vec<String> = q["held"]
        .as_array()
        .into_iter()
        .flatten()
        .map(cell)
        .collect();
    let mut out = if q["active"] == true {
        format!("quarantine: ACTIVE since {}\n", time(&q["trippedAt"]))
    } else {
        "quarantine: not active\n".to_string()
    };
    out.push_str(&format!(
        "window: since {}, {} of {} leavers\n",
        time(&q["windowStart"]),
        cell(&q["count"]),
        cell(&q["threshold"])
    ));
    out.push_str(&format!("held: {} run(s)\n", held.len()));
    for id in &held {
        out.push_str(&format!("  {id}\n"));
    }
    if !held.is_empty() {
        out.push_str("release them with `offboard runs approve --quarantined`, or `offboard runs cancel --quarantined`\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn held_runs_are_listed_with_what_to_do() {
        let text = render(&json!({"active": true, "trippedAt": "2026-11-01T09:00:00Z",
            "windowStart": "2026-11-01T08:00:00Z", "count": 12, "threshold": 10,
            "held": ["r1", "r2"]}));
        assert!(
            text.starts_with("quarantine: ACTIVE since 2026-11-01 09:00:00"),
            "{text}"
        );
        assert!(text.contains("12 of 10"), "{text}");
        assert!(text.contains("  r2\n"), "{text}");
        assert!(text.contains("--quarantined"), "{text}");
        let idle = render(
            &json!({"active": false, "trippedAt": null, "windowStart": null,
            "count": 0, "threshold": 10, "held": []}),
        );
        assert!(
            idle.contains("not active") && !idle.contains("--quarantined"),
            "{idle}"
        );
    }
}
