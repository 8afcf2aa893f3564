//! Bulk submission (`submit --from-file FILE` / `--filter k=v,...`): one event per user with
//! id `<batch-id>/<user lowercased>`, so re-running with the same `--batch-id` makes no
//! duplicate run. Needs `--yes` (or `--dry-run` to list); submits 8 at a time.

use super::accounts::{parse_accounts, parse_filter};
use super::event_build::cloud_event;
use super::remote::{Remote, print_json};
use super::submit::SubmitArgs;
use super::table::{Table, cell};
use anyhow::{Context, bail};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

const CONCURRENCY: usize = 8;

pub async fn run(
    remote: &Remote,
    args: &SubmitArgs,
    data: &Map<String, Value>,
) -> anyhow::Result<()> {
    let subjects = subjects(remote, args).await?;
    if subjects.is_empty() {
        eprintln!("offboard: no user to submit for; nothing was submitted");
        return Ok(());
    }
    let given = args
        .batch_id
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty());
    let batch = given
        .map(str::to_string)
        .unwrap_or_else(super::event_build::fresh_id);
    let event_id = |s: &str| format!("{batch}/{}", s.to_lowercase());
    if args.dry_run {
        if remote.json {
            let list: Vec<Value> = subjects
                .iter()
                .map(|s| json!({"subject": s, "eventId": event_id(s)}))
                .collect();
            return print_json(&Value::Array(list));
        }
        for s in &subjects {
            println!("{s}");
        }
        eprintln!(
            "offboard: dry run: {} {} event(s) would be submitted; nothing was submitted",
            subjects.len(),
            args.event_type
        );
        return Ok(());
    }
    if !args.yes {
        bail!(
            "this would submit {} {} events, one per user; add --yes to submit them or --dry-run to list them",
            subjects.len(),
            args.event_type
        );
    }
    if given.is_none() {
        eprintln!("offboard: batch {batch}; re-run with --batch-id {batch} to resume");
    }
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = JoinSet::new();
    for (i, subject) in subjects.iter().enumerate() {
        let id = event_id(subject);
        let event = cloud_event(&id, &args.source, &args.event_type, subject, data);
        let body = serde_json::to_vec(&event)?;
        let signature = remote.sign(&body);
        let (client, permits) = (remote.client.clone(), permits.clone());
        let subject = subject.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let entry = match client.submit_event(body, signature).await {
                Ok(a) => json!({"subject": subject, "eventId": id, "runs": a["runs"],
                    "duplicate": a["duplicate"]}),
                Err(e) => json!({"subject": subject, "eventId": id, "error": e.to_string()}),
            };
            (i, entry)
        });
    }
    let mut entries = vec![Value::Null; subjects.len()];
    while let Some(done) = tasks.join_next().await {
        let (i, entry) = done.context("a submission task failed")?;
        entries[i] = entry;
    }
    print_entries(remote.json, &entries)?;
    let failed = entries.iter().filter(|e| e["error"].is_string()).count();
    if failed > 0 {
        bail!(
            "{failed} of {} submissions failed; re-run with --batch-id {batch} to retry them (the others answer as duplicates)",
            entries.len()
        );
    }
    Ok(())
}

async fn subjects(remote: &Remote, args: &SubmitArgs) -> anyhow::Result<Vec<String>> {
    if let Some(path) = &args.from_file {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the accounts file {name}"))?;
        let accounts = parse_accounts(&text, &name)?;
        for note in &accounts.notes {
            eprintln!("offboard: {note}");
        }
        return Ok(accounts.subjects);
    }
    let filter = parse_filter(args.filter.as_deref().unwrap_or(""))?;
    let pairs: Vec<(&str, &str)> = filter
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let answer = remote
        .client
        .users(&pairs)
        .await
        .context("finding the users of --filter")?;
    let mut out = Vec::new();
    for u in answer["users"].as_array().into_iter().flatten() {
        let subject = u["userPrincipalName"].as_str().or(u["id"].as_str());
        match subject {
            Some(s) => out.push(s.to_string()),
            None => bail!("the user search answered a user without userPrincipalName or id: {u}"),
        }
    }
    Ok(out)
}

fn print_entries(json: bool, entries: &[Value]) -> anyhow::Result<()> {
    if json {
        return print_json(&Value::Array(entries.to_vec()));
    }
    let mut t = Table::new(&["SUBJECT", "EVENT", "RUNS", "RESULT"]);
    for e in entries {
        let runs: Vec<String> = e["runs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(cell)
            .collect();
        let result = match (&e["error"], &e["duplicate"]) {
            (Value::String(err), _) => format!("error: {err}"),
            (_, Value::Bool(true)) => "duplicate".into(),
            _ => "submitted".into(),
        };
        t.row(vec![
            cell(&e["subject"]),
            cell(&e["eventId"]),
            if runs.is_empty() {
                "-".into()
            } else {
                runs.join(",")
            },
            result,
        ]);
    }
    print!("{}", t.render());
    Ok(())
}
