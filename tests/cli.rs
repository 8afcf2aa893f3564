//! The commands that talk to a running service: `offboard serve` in its own process (see
//! `serve_common`), the CLI binary run against it with `OFFBOARD_URL`. The `--filter`,
//! `licenses` and `plan` tests need the users, licenses and plan endpoints of the admin API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod serve_common;

use serde_json::Value;
use serve_common::Service;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

const DANA: &str = "dana.lee@contoso.com";
const SAM: &str = "sam.ortiz@contoso.com";

/// Runs `offboard <args>` against `base` with only `env` set (in an empty directory, so no
/// `offboard.toml` is picked up).
fn cli(base: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_offboard"));
    cmd.current_dir(dir.path())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("OFFBOARD_URL", base);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: &Output) -> &Output {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
    o
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&ok(o).stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", stdout(o)))
}

/// A failure: non-zero exit and exactly one `offboard: ...` line on stderr.
fn refused(o: &Output) -> String {
    assert!(!o.status.success(), "expected a failure:\n{}", stdout(o));
    let err = stderr(o);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("offboard: "))
        .collect();
    assert!(!lines.is_empty(), "no `offboard:` line:\n{err}");
    lines.last().unwrap().to_string()
}

fn start(env: &[(&str, &str)]) -> (tempfile::TempDir, Service) {
    let dir = tempfile::tempdir().unwrap();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let svc = Service::start(&dir.path().join("data"), &env);
    (dir, svc)
}

async fn runs(svc: &Service) -> Vec<Value> {
    let (status, body) = svc.get("/api/v1/runs?limit=1000").await;
    assert_eq!(status, 200, "{body}");
    body["runs"].as_array().unwrap().clone()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_wait_follows_the_run_to_success_and_prints_it() {
    let (_dir, svc) = start(&[]);
    let o = cli(
        &svc.base,
        &["submit", "hr.leaver", DANA, "--wait", "--json"],
        &[],
    );
    let run = json(&o);
    assert_eq!(run["status"], "succeeded", "{run:#}");
    assert_eq!(run["subject"], DANA);
    assert!(
        run["journal"].as_array().is_some_and(|j| !j.is_empty()),
        "{run:#}"
    );
    let progress = stderr(&o);
    assert!(progress.contains("leaver/disable succeeded"), "{progress}");
    assert!(progress.contains(" succeeded"), "{progress}");
    // The same event id again: a duplicate, same run.
    let id = run["eventId"].as_str().unwrap();
    let again = json(&cli(
        &svc.base,
        &["submit", "hr.leaver", DANA, "--id", id, "--json"],
        &[],
    ));
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["runs"][0], run["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_wait_goes_on_through_a_timer_and_fails_with_the_reason() {
    let (_dir, svc) = start(&[]);
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let day = format!("lastWorkingDay={soon}");
    let o = cli(
        &svc.base,
        &["submit", "hr.leaver", SAM, "--data", &day, "--wait"],
        &[],
    );
    let progress = stderr(ok(&o));
    assert!(progress.contains("waiting until"), "{progress}");
    assert!(progress.contains("leaver/last-day succeeded"), "{progress}");
    assert!(stdout(&o).contains("status succeeded"), "{}", stdout(&o));
    let o = cli(
        &svc.base,
        &["submit", "hr.leaver", "nobody@contoso.com", "--wait"],
        &[],
    );
    let msg = refused(&o);
    assert!(
        msg.contains(" failed: step `snapshot`") && msg.contains("does not exist"),
        "{msg}"
    );
    assert!(
        stdout(&o).contains("status failed"),
        "the run is printed: {}",
        stdout(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_values_are_typed_and_runs_can_be_listed_shown_and_cancelled() {
    let (_dir, svc) = start(&[]);
    let args = [
        "submit",
        "hr.leaver",
        SAM,
        "--data",
        "lastWorkingDay=2030-01-01",
        "--data",
        "autoReply=\"42\"",
        "--data",
        "groups=[\"g1\"]",
        "--data",
        "extra={\"n\":7}",
        "--data",
        "flag=true",
        "--source",
        "urn:tests",
        "--json",
    ];
    let answer = json(&cli(&svc.base, &args, &[]));
    assert_eq!(answer["duplicate"], false);
    let run_id = answer["runs"][0].as_str().unwrap().to_string();
    let run = svc
        .wait_run(&run_id, Duration::from_secs(30), |r| {
            r["status"] == "waiting"
        })
        .await;
    let data = &run["event"]["data"];
    assert_eq!(data["lastWorkingDay"], "2030-01-01");
    assert_eq!(data["autoReply"], "42", "a quoted value stays a string");
    assert_eq!(data["groups"], serde_json::json!(["g1"]));
    assert_eq!(data["extra"]["n"], 7);
    assert_eq!(data["flag"], true);
    assert_eq!(run["event"]["source"], "urn:tests");
    let dup = cli(
        &svc.base,
        &["submit", "hr.leaver", SAM, "--data", "a=1", "--data", "a=2"],
        &[],
    );
    assert!(refused(&dup).contains("twice"));

    let list = json(&cli(
        &svc.base,
        &["runs", "list", "--status", "waiting", "--json"],
        &[],
    ));
    assert_eq!(list["runs"][0]["id"], run_id.as_str());
    let table = stdout(ok(&cli(
        &svc.base,
        &["runs", "list", "--subject", SAM],
        &[],
    )));
    let header = table.lines().next().unwrap();
    assert!(
        header.starts_with("ID") && header.contains("STEP") && header.contains("REASON"),
        "{table}"
    );
    assert!(
        table.contains(&run_id) && table.contains("waiting") && table.contains("last-day"),
        "{table}"
    );
    let shown = stdout(ok(&cli(&svc.base, &["runs", "show", &run_id], &[])));
    assert!(
        shown.contains("waiting until 2030-01-02 00:00:00"),
        "{shown}"
    );
    assert!(shown.contains("journal:"), "{shown}");
    ok(&cli(&svc.base, &["runs", "cancel", &run_id], &[]));
    let (_, after) = svc.get(&format!("/api/v1/runs/{run_id}")).await;
    assert_eq!(after["status"], "cancelled", "{after}");
    let again = refused(&cli(&svc.base, &["runs", "cancel", &run_id], &[]));
    assert!(again.contains("HTTP 409 conflict"), "{again}");
    let unknown = refused(&cli(
        &svc.base,
        &["runs", "restart", &run_id, "--from-step", "nope"],
        &[],
    ));
    assert!(
        unknown.contains("last-day, snapshot") && unknown.contains("unknown-step"),
        "{unknown}"
    );
    let restarted = json(&cli(
        &svc.base,
        &[
            "runs",
            "restart",
            &run_id,
            "--from-step",
            "last-day",
            "--json",
        ],
        &[],
    ));
    assert_eq!(restarted["generation"], 1, "{restarted}");
    svc.wait_run(&run_id, Duration::from_secs(30), |r| {
        r["status"] == "waiting"
    })
    .await;
    let bad = refused(&cli(&svc.base, &["runs", "show", "not-a-run"], &[]));
    assert!(bad.contains("HTTP 400 bad-run-id"), "{bad}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_event_key_the_cli_signs_and_without_it_is_refused() {
    let (_dir, svc) = start(&[("OFFBOARD_EVENT_KEY", "k3y")]);
    let key = [("OFFBOARD_EVENT_KEY", "k3y")];
    let signed = json(&cli(
        &svc.base,
        &["submit", "hr.leaver", DANA, "--json"],
        &key,
    ));
    assert_eq!(signed["runs"].as_array().unwrap().len(), 1, "{signed}");
    let unsigned = refused(&cli(&svc.base, &["submit", "hr.leaver", SAM], &[]));
    assert!(unsigned.contains("x-offboard-signature"), "{unsigned}");
    assert!(unsigned.contains("HTTP 403 unsigned"), "{unsigned}");
    let wrong = refused(&cli(
        &svc.base,
        &["submit", "hr.leaver", SAM],
        &[("OFFBOARD_EVENT_KEY", "other")],
    ));
    assert!(wrong.contains("bad-signature"), "{wrong}");
    assert_eq!(runs(&svc).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_file_makes_one_run_per_user_and_a_rerun_of_the_batch_makes_none() {
    let (dir, svc) = start(&[]);
    let file = write(
        dir.path(),
        "leavers.txt",
        "# leavers of November\n\nFred.Fischer@contoso.com  \nlena.hofmann@contoso.com\nfred.fischer@CONTOSO.com\n",
    );
    let base = [
        "submit",
        "hr.leaver",
        "--from-file",
        &file,
        "--data",
        "lastWorkingDay=2030-01-01",
    ];
    let no_yes = refused(&cli(&svc.base, &base, &[]));
    assert!(
        no_yes.contains("2 hr.leaver events") && no_yes.contains("--yes"),
        "{no_yes}"
    );
    let dry = cli(&svc.base, &[&base[..], &["--dry-run"]].concat(), &[]);
    assert_eq!(
        stdout(ok(&dry)),
        "Fred.Fischer@contoso.com\nlena.hofmann@contoso.com\n"
    );
    assert!(
        runs(&svc).await.is_empty(),
        "neither refusal nor dry run submits"
    );

    let args = [&base[..], &["--yes", "--batch-id", "nov", "--json"]].concat();
    let o = cli(&svc.base, &args, &[]);
    assert!(stderr(&o).contains("duplicate; dropped"), "{}", stderr(&o));
    let first = json(&o);
    let entries = first.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{first:#}");
    assert_eq!(entries[0]["eventId"], "nov/fred.fischer@contoso.com");
    assert!(entries.iter().all(|e| e["duplicate"] == false), "{first:#}");
    assert_eq!(runs(&svc).await.len(), 2);

    let again = json(&cli(&svc.base, &args, &[]));
    assert!(
        again
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["duplicate"] == true),
        "{again:#}"
    );
    assert_eq!(runs(&svc).await.len(), 2, "the same batch makes no new run");
    let page = json(&cli(
        &svc.base,
        &["runs", "list", "--limit", "1", "--json"],
        &[],
    ));
    assert_eq!(page["runs"].as_array().unwrap().len(), 1);
    assert!(page["next"].is_string(), "{page}");
    let all = json(&cli(
        &svc.base,
        &["runs", "list", "--limit", "1", "--all", "--json"],
        &[],
    ));
    assert_eq!(all["runs"].as_array().unwrap().len(), 2, "{all}");
    assert_eq!(all["next"], Value::Null);
    // Without --batch-id a fresh batch is made and named on stderr.
    let fresh = cli(&svc.base, &[&base[..], &["--yes"]].concat(), &[]);
    assert!(
        stderr(ok(&fresh)).contains("re-run with --batch-id"),
        "{}",
        stderr(&fresh)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_with_a_bad_line_submits_nothing() {
    let (dir, svc) = start(&[]);
    let file = write(
        dir.path(),
        "bad.txt",
        "dana.lee@contoso.com\nSam Ortiz\n# ok\nnot-a-guid\n",
    );
    let o = cli(
        &svc.base,
        &["submit", "hr.leaver", "--from-file", &file, "--yes"],
        &[],
    );
    let msg = refused(&o);
    assert!(
        msg.contains("line 2 (`Sam Ortiz`), 4 (`not-a-guid`)"),
        "{msg}"
    );
    assert!(runs(&svc).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_and_a_wrong_token_are_one_line_each() {
    let down = refused(&cli("http://127.0.0.1:1", &["runs", "list"], &[]));
    assert!(
        down.contains("cannot reach the admin API at http://127.0.0.1:1 (connection refused)")
            && down.contains("OFFBOARD_URL"),
        "{down}"
    );
    let (_dir, svc) = start(&[("OFFBOARD_ADMIN_TOKEN", "right-admin-token-0123")]);
    let wrong = cli(
        &svc.base,
        &["runs", "list"],
        &[("OFFBOARD_ADMIN_TOKEN", "wrong-admin-token-0123")],
    );
    let msg = refused(&wrong);
    assert!(
        msg.contains("refused the token (HTTP 401): set OFFBOARD_ADMIN_TOKEN"),
        "{msg}"
    );
    assert_eq!(stderr(&wrong).lines().count(), 1, "{}", stderr(&wrong));
    let right = json(&cli(
        &svc.base,
        &["workflows", "--json"],
        &[("OFFBOARD_ADMIN_TOKEN", "right-admin-token-0123")],
    ));
    let names: Vec<&str> = right["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"leaver"), "{right}");
}

// --- These need the users (H1), licenses (H1) and plan (H3) endpoints. ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn licenses_are_a_table_of_plans() {
    let (_dir, svc) = start(&[]);
    let out = stdout(ok(&cli(&svc.base, &["licenses"], &[])));
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["SKU", "ENABLED", "CONSUMED", "FREE", "STATUS"]);
    let e3 = out
        .lines()
        .find(|l| l.starts_with("SPE_E3 "))
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(e3.split_whitespace().nth(1), Some("50"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_submits_one_event_per_matching_user() {
    let (_dir, svc) = start(&[]);
    let base = [
        "submit",
        "hr.leaver",
        "--filter",
        "usageLocation=DE",
        "--data",
        "lastWorkingDay=2030-01-01",
    ];
    let listed = json(&cli(
        &svc.base,
        &[&base[..], &["--dry-run", "--json"]].concat(),
        &[],
    ));
    let subjects: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["subject"].as_str().unwrap())
        .collect();
    assert!(subjects.contains(&"fred.fischer@contoso.com"), "{listed}");
    assert!(!subjects.contains(&DANA), "dana is in the US: {listed}");
    json(&cli(
        &svc.base,
        &[&base[..], &["--yes", "--batch-id", "de", "--json"]].concat(),
        &[],
    ));
    assert_eq!(runs(&svc).await.len(), subjects.len());
    let bad = refused(&cli(
        &svc.base,
        &["submit", "hr.leaver", "--filter", "shoeSize=42", "--yes"],
        &[],
    ));
    assert!(bad.contains("bad-filter"), "{bad}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_shows_what_a_leaver_would_do() {
    let (_dir, svc) = start(&[]);
    let args = [
        "plan",
        "hr.leaver",
        DANA,
        "--data",
        "lastWorkingDay=2030-01-01",
    ];
    let plan = json(&cli(&svc.base, &[&args[..], &["--json"]].concat(), &[]));
    assert_eq!(plan["runs"][0]["workflow"], "leaver", "{plan:#}");
    let text = stdout(ok(&cli(&svc.base, &args, &[])));
    assert!(text.contains("leaver v1"), "{text}");
    assert!(text.contains("+ disable [user.disable]"), "{text}");
    assert!(runs(&svc).await.is_empty(), "a plan changes nothing");
}

/// Polls the run listing until `pred` holds for every run of `subjects` (or panics).
async fn until_runs(svc: &Service, subjects: &[&str], pred: impl Fn(&Value) -> bool) {
    for _ in 0..600 {
        let all = runs(svc).await;
        let mine: Vec<&Value> = all
            .iter()
            .filter(|r| subjects.iter().any(|s| r["subject"] == *s))
            .collect();
        if mine.len() == subjects.len() && mine.iter().all(|r| pred(r)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "runs never reached the expected state: {:#}",
        Value::from(runs(svc).await)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_quarantines_a_bulk_flood_and_blocks_protected_accounts() {
    let (dir, svc) = start(&[
        ("OFFBOARD_QUARANTINE_THRESHOLD", "3"),
        ("OFFBOARD_PROTECTED_UPNS", "max.berg@contoso.com"),
    ]);
    let people = [
        DANA,
        "lena.hofmann@contoso.com",
        "ari.khan@contoso.com",
        "nora.vidal@contoso.com",
    ];
    let file = write(dir.path(), "flood.txt", &people.join("\n"));
    // A last working day a few seconds ahead: the events are submitted one by one, and a
    // run admitted before the limit was crossed would otherwise pass its guardrails (as it
    // should) before the fourth person arrives. Waiting for the day, all four are held.
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(4))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let day = format!("lastWorkingDay={soon}");
    ok(&cli(
        &svc.base,
        &[
            "submit",
            "hr.leaver",
            "--from-file",
            &file,
            "--data",
            &day,
            "--yes",
            "--batch-id",
            "f",
        ],
        &[],
    ));
    until_runs(&svc, &people, |r| r["waitReason"]["kind"] == "quarantine").await;
    let (_, disabled) = svc.get("/api/v1/users?accountEnabled=false").await;
    assert!(
        disabled["users"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| !people.iter().any(|p| u["userPrincipalName"] == *p)),
        "held runs changed nothing: {disabled}"
    );
    let q = json(&cli(&svc.base, &["quarantine", "--json"], &[]));
    assert_eq!(q["active"], true, "{q}");
    assert_eq!(q["held"].as_array().unwrap().len(), 4, "{q}");

    let released = json(&cli(
        &svc.base,
        &["runs", "approve", "--quarantined", "--json"],
        &[],
    ));
    assert_eq!(released["runs"].as_array().unwrap().len(), 4, "{released}");
    until_runs(&svc, &people, |r| r["status"] == "succeeded").await;

    // A listed UPN and an Entra admin (protected by default) are blocked, unchanged.
    for (who, why) in [
        ("max.berg@contoso.com", "protected_upns"),
        ("ada.admin@contoso.com", "Global Administrator"),
    ] {
        let o = cli(&svc.base, &["submit", "hr.leaver", who, "--wait"], &[]);
        let msg = refused(&o);
        assert!(msg.contains("blocked") && msg.contains(why), "{msg}");
    }
    let (_, disabled) = svc.get("/api/v1/users?accountEnabled=false").await;
    let disabled: Vec<&str> = disabled["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userPrincipalName"].as_str().unwrap())
        .collect();
    assert!(
        !disabled.contains(&"max.berg@contoso.com") && !disabled.contains(&"ada.admin@contoso.com"),
        "{disabled:?}"
    );
    let ada = runs(&svc)
        .await
        .into_iter()
        .find(|r| r["subject"] == "ada.admin@contoso.com")
        .unwrap();
    let id = ada["id"].as_str().unwrap();
    ok(&cli(
        &svc.base,
        &["runs", "restart", id, "--allow-protected"],
        &[],
    ));
    until_runs(&svc, &["ada.admin@contoso.com"], |r| {
        r["status"] == "succeeded"
    })
    .await;
}
