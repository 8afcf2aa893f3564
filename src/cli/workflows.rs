//! `offboard workflows`: the service's current workflow definitions
//! (`GET /api/v1/workflows`), one row each, then the steps of each.

use super::remote::{Remote, RemoteArgs, print_json};
use super::table::{Table, cell};
use anyhow::Context;
use clap::Args;
use serde_json::Value;

#[derive(Args, Debug)]
pub struct WorkflowsArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
}

pub async fn run(args: WorkflowsArgs) -> anyhow::Result<()> {
    let remote = Remote::connect(&args.remote)?;
    let answer = remote
        .client
        .workflows()
        .await
        .context("reading the workflows")?;
    if remote.json {
        return print_json(&answer);
    }
    let list = answer["workflows"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut t = Table::new(&[
        "NAME",
        "VERSION",
        "FAMILY",
        "TRIGGERS",
        "SCHEDULE",
        "STEPS",
        "DESCRIPTION",
    ]);
    for w in list {
        let triggers: Vec<String> = w["triggers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(cell)
            .collect();
        t.row(vec![
            cell(&w["name"]),
            cell(&w["version"]),
            cell(&w["family"]),
            triggers.join(","),
            cell(&w["schedule"]),
            steps(w),
            cell(&w["description"]),
        ]);
    }
    print!("{}", t.render());
    Ok(())
}

/// `last-day(wait) > snapshot > disable > ...`; `!` marks steps that need an approval.
fn steps(w: &Value) -> String {
    w["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let mut id = cell(&s["id"]);
            if s["approval"] == true {
                id.push('!');
            }
            id
        })
        .collect::<Vec<_>>()
        .join(" > ")
}
