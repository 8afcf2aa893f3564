//! `offboard runs list|show|restart|cancel|approve`: runs through the admin API. `approve`
//! and `cancel` also act on every run held by the mass-offboarding quarantine.

use super::remote::{Remote, RemoteArgs, print_json};
use super::run_view::{LIST_HEADER, current_step, list_row, render_run};
use super::table::{Table, cell};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

#[derive(Args, Debug)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub command: RunsCommand,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Subcommand, Debug)]
pub enum RunsCommand {
    /// List runs, oldest first (one page of --limit unless --all).
    List(ListArgs),
    /// One run: its steps and the journal of every attempt.
    Show { id: String },
    /// Restart a failed, blocked or cancelled run (from its first unfinished step by default).
    Restart {
        id: String,
        /// Restart from this step (its id as `runs show` lists it).
        #[arg(long, value_name = "STEP")]
        from_step: Option<String>,
        /// Offboard the run's subject although it is a protected account (README: Guardrails),
        /// once a person has confirmed it.
        #[arg(long)]
        allow_protected: bool,
    },
    /// Cancel a run (or, with --quarantined, every run the quarantine holds).
    Cancel {
        #[arg(
            required_unless_present = "quarantined",
            conflicts_with = "quarantined"
        )]
        id: Option<String>,
        #[arg(long)]
        quarantined: bool,
    },
    /// Approve the step a run waits on (or, with --quarantined, release every held run).
    Approve {
        #[arg(
            required_unless_present = "quarantined",
            conflicts_with = "quarantined"
        )]
        id: Option<String>,
        #[arg(long)]
        quarantined: bool,
    },
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// pending, running, waiting, succeeded, failed, blocked or cancelled.
    #[arg(long)]
    pub status: Option<String>,
    /// The person (UPN or object id, case-insensitive).
    #[arg(long, value_name = "USER")]
    pub subject: Option<String>,
    #[arg(long)]
    pub workflow: Option<String>,
    /// Created at or after (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Created before (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Runs per page (1-1000, server default 100).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Follow `next` until every matching run is listed.
    #[arg(long)]
    pub all: bool,
}

pub async fn run(args: RunsArgs) -> anyhow::Result<()> {
    let remote = Remote::connect(&args.remote)?;
    let client = &remote.client;
    match args.command {
        RunsCommand::List(l) => list(&remote, &l).await,
        RunsCommand::Show { id } => {
            let run = client.run(&id).await?;
            if remote.json {
                return print_json(&run);
            }
            print!("{}", render_run(&run, true));
            Ok(())
        }
        RunsCommand::Restart {
            id,
            from_step,
            allow_protected,
        } => {
            let run = client
                .restart(&id, from_step.as_deref(), allow_protected)
                .await?;
            acted(&remote, "restarted", &run)
        }
        RunsCommand::Cancel { id: Some(id), .. } => {
            let run = client.cancel(&id).await?;
            acted(&remote, "cancel", &run)
        }
        RunsCommand::Approve { id: Some(id), .. } => {
            let run = client.approve(&id).await?;
            acted(&remote, "approved", &run)
        }
        RunsCommand::Cancel { id: None, .. } => quarantined(&remote, false).await,
        RunsCommand::Approve { id: None, .. } => quarantined(&remote, true).await,
    }
}

async fn list(remote: &Remote, l: &ListArgs) -> anyhow::Result<()> {
    let limit = l.limit.map(|n| n.to_string());
    let mut runs: Vec<Value> = Vec::new();
    let mut after: Option<String> = None;
    let next = loop {
        let mut q: Vec<(&str, &str)> = Vec::new();
        for (k, v) in [
            ("status", &l.status),
            ("subject", &l.subject),
            ("workflow", &l.workflow),
            ("since", &l.since),
            ("until", &l.until),
            ("limit", &limit),
            ("after", &after),
        ] {
            if let Some(v) = v {
                q.push((k, v));
            }
        }
        let page = remote
            .client
            .list_runs(&q)
            .await
            .context("listing the runs")?;
        runs.extend(page["runs"].as_array().into_iter().flatten().cloned());
        match page["next"].as_str() {
            Some(n) if l.all => after = Some(n.to_string()),
            _ => break page["next"].clone(),
        }
    };
    if remote.json {
        return print_json(&json!({ "runs": runs, "next": next }));
    }
    let mut t = Table::new(&LIST_HEADER);
    for r in &runs {
        t.row(list_row(r));
    }
    print!("{}", t.render());
    if let Some(n) = next.as_str() {
        eprintln!("offboard: more runs follow; use --all to list them all (next page after {n})");
    }
    Ok(())
}

/// The answer to restart / cancel / approve of one run.
fn acted(remote: &Remote, what: &str, run: &Value) -> anyhow::Result<()> {
    if remote.json {
        return print_json(run);
    }
    let status = cell(&run["status"]);
    if what == "cancel" && status != "cancelled" {
        println!(
            "run {}: cancel requested; it stops at its next step boundary (now {status} at {})",
            cell(&run["id"]),
            current_step(run)
        );
        return Ok(());
    }
    let what = if what == "cancel" { "cancelled" } else { what };
    println!(
        "run {} {what}: {status} at step {}",
        cell(&run["id"]),
        current_step(run)
    );
    Ok(())
}

async fn quarantined(remote: &Remote, approve: bool) -> anyhow::Result<()> {
    let answer = remote
        .client
        .quarantine_action(approve)
        .await
        .context(if approve {
            "releasing the quarantined runs"
        } else {
            "cancelling the quarantined runs"
        })?;
    if remote.json {
        return print_json(&answer);
    }
    let Some(runs) = answer["runs"].as_array() else {
        bail!("the quarantine answer has no `runs` list: {answer}");
    };
    let verb = if approve { "released" } else { "cancelled" };
    eprintln!("offboard: {verb} {} quarantined run(s)", runs.len());
    for r in runs {
        println!("{}", cell(r));
    }
    Ok(())
}
