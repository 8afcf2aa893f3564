//! `offboard submit <TYPE> [USER]`: builds a CloudEvent, signs it when an event key is
//! configured, posts it to the admin API; `--wait` follows its runs to the end. With
//! `--from-file` or `--filter` it submits one event per user (see `bulk`).

use super::bulk;
use super::event_build::{DEFAULT_SOURCE, cloud_event, fresh_id, parse_data};
use super::remote::{Remote, RemoteArgs, print_json};
use super::run_view::render_run;
use super::table::cell;
use super::watch::wait_runs;
use anyhow::{Context, bail};
use clap::Args;
use serde_json::Value;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct SubmitArgs {
    /// Event type, e.g. hr.leaver, hr.joiner, hr.mover, hr.restore.
    #[arg(value_name = "TYPE")]
    pub event_type: String,
    /// The person (UPN or object id); not with --from-file or --filter.
    #[arg(value_name = "USER")]
    pub user: Option<String>,
    /// A data field, e.g. lastWorkingDay=2026-12-31 (JSON values are typed; repeatable).
    #[arg(long = "data", value_name = "KEY=VALUE")]
    pub data: Vec<String>,
    /// Event id (default: a fresh UUIDv7); resubmitting an id is answered as a duplicate.
    #[arg(long)]
    pub id: Option<String>,
    /// Event source URI.
    #[arg(long, default_value = DEFAULT_SOURCE)]
    pub source: String,
    /// Follow the run(s) until they end; exit 0 only if all succeeded.
    #[arg(long)]
    pub wait: bool,
    /// Bulk: one account (UPN or object id) per line; `#` comments and blank lines ignored.
    #[arg(long, value_name = "FILE", conflicts_with = "filter")]
    pub from_file: Option<PathBuf>,
    /// Bulk: every tenant user matching all of these, e.g. department=Sales,usageLocation=US.
    #[arg(long, value_name = "KEY=VALUE,...")]
    pub filter: Option<String>,
    /// Bulk: event ids are <batch-id>/<user>; reuse it to resume without duplicates.
    #[arg(long)]
    pub batch_id: Option<String>,
    /// Bulk: really submit (without it, bulk refuses and says how many users it would affect).
    #[arg(long)]
    pub yes: bool,
    /// Bulk: list the users and submit nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

impl SubmitArgs {
    pub fn is_bulk(&self) -> bool {
        self.from_file.is_some() || self.filter.is_some()
    }
}

pub async fn run(args: SubmitArgs) -> anyhow::Result<()> {
    let data = parse_data(&args.data)?;
    let remote = Remote::connect(&args.remote)?;
    if args.is_bulk() {
        if args.user.is_some() || args.wait || args.id.is_some() {
            bail!(
                "USER, --id and --wait are for one event; with --from-file or --filter each user gets an event <batch-id>/<user>"
            );
        }
        return bulk::run(&remote, &args, &data).await;
    }
    if args.dry_run || args.yes || args.batch_id.is_some() {
        bail!("--dry-run, --yes and --batch-id are for bulk submissions (--from-file or --filter)");
    }
    let Some(user) = args
        .user
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    else {
        bail!(
            "give the USER the event is about (UPN or object id), or --from-file / --filter for many"
        );
    };
    let id = args.id.clone().unwrap_or_else(fresh_id);
    let event = cloud_event(&id, &args.source, &args.event_type, user, &data);
    let body = serde_json::to_vec(&event)?;
    let answer = remote
        .client
        .submit_event(body.clone(), remote.sign(&body))
        .await
        .with_context(|| format!("submitting {} for {user}", args.event_type))?;
    let runs: Vec<String> = answer["runs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_string))
        .collect();
    if let Some(note) = answer["note"].as_str() {
        eprintln!("offboard: note: {note}");
    }
    if !args.wait {
        if remote.json {
            return print_json(&answer);
        }
        println!("{}", describe(&answer, &runs));
        return Ok(());
    }
    eprintln!("{}", describe(&answer, &runs));
    if runs.is_empty() {
        bail!("event {id} started no run, so there is nothing to wait for");
    }
    let ended = wait_runs(&remote.client, &runs).await?;
    if remote.json {
        match ended.as_slice() {
            [one] => print_json(one)?,
            many => print_json(&Value::Array(many.to_vec()))?,
        }
    } else {
        for r in &ended {
            println!("{}", render_run(r, false));
        }
    }
    let unhappy: Vec<String> = ended
        .iter()
        .filter(|r| r["status"] != "succeeded")
        .map(|r| {
            let reason = r["reason"]
                .as_str()
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            format!("run {} {}{reason}", cell(&r["id"]), cell(&r["status"]))
        })
        .collect();
    if !unhappy.is_empty() {
        bail!("{}", unhappy.join("; "));
    }
    Ok(())
}

/// `event e1: started run r1` / `event e1 is a duplicate: runs r1`.
fn describe(answer: &Value, runs: &[String]) -> String {
    let id = cell(&answer["eventId"]);
    let list = if runs.is_empty() {
        "no run".to_string()
    } else {
        format!(
            "run{} {}",
            if runs.len() == 1 { "" } else { "s" },
            runs.join(", ")
        )
    };
    if answer["duplicate"] == true {
        format!("event {id} was already received (duplicate): {list}")
    } else {
        format!("event {id}: started {list}")
    }
}
