//! Scheduled workflows and `cancels`: one run per cron occurrence however often it is fired,
//! one run for the latest occurrence missed during downtime, and a later workflow cancelling
//! an earlier one's pending run for the same person.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Duration as ChronoDuration;
use common::*;
use offboard::engine::{Engine, RunRecord, RunStatus};
use offboard::workflow::Workflow;
use serde_json::json;
use std::time::Duration;

const SWEEP: &str = r#"
name = "nightly"
version = 1
family = "maintenance"
[schedule]
cron = "0 3 * * *"
subject = "tenant"
[[triggers]]
type = "ops.retention-sweep"
[[steps]]
id = "pause"
wait = "1m"
"#;

fn nightly_runs(engine: &Engine) -> Vec<RunRecord> {
    engine
        .store()
        .runs()
        .map(Result::unwrap)
        .filter(|r| r.workflow == "nightly")
        .collect()
}

#[tokio::test]
async fn an_occurrence_fired_twice_makes_one_run() {
    let env = TestEnv::start(vec![workflow(SWEEP)], example_tenant()).await;
    // The first look only registers the schedule (its latest occurrence is the baseline).
    let first = env.engine.fire_schedules().await.unwrap();
    assert!(first.is_empty(), "a new schedule fired at once: {first:?}");
    env.clock.advance(ChronoDuration::days(1));
    // The service's own schedule loop ticks too: between it and these two calls the
    // occurrence is fired at least once and makes exactly one run.
    let fired = env.engine.fire_schedules().await.unwrap();
    let again = env.engine.fire_schedules().await.unwrap();
    assert!(
        again.is_empty(),
        "fired a second time in one period: {again:?}"
    );
    assert!(fired.iter().all(|s| !s.duplicate), "{fired:?}");
    let runs = nightly_runs(&env.engine);
    assert_eq!(runs.len(), 1);
    let rec = runs[0].clone();
    // The same occurrence delivered again (a second process, a crash before the record).
    let dup = env.engine.submit(rec.event.clone()).await.unwrap();
    assert!(dup.duplicate);
    assert_eq!(dup.runs, vec![rec.id]);
    assert_eq!(nightly_runs(&env.engine).len(), 1);
    assert!(rec.event.id.as_str().starts_with("schedule:nightly:"));
    assert_eq!(rec.subject, "tenant");
    env.settle().await;
    assert_eq!(
        env.engine.run_record(&rec.id).unwrap().status,
        RunStatus::Succeeded
    );
    env.stop().await;
}

#[tokio::test]
async fn a_missed_schedule_runs_once_after_downtime() {
    let env = TestEnv::start(vec![workflow(SWEEP)], example_tenant()).await;
    assert!(env.engine.fire_schedules().await.unwrap().is_empty());
    let sim = env.sim.clone();
    let dir = env.dir.clone();
    let keep = env.stop().await;
    // Down for three and a half days: three 03:00 occurrences pass.
    sim.clock().advance(ChronoDuration::hours(84));
    let env = TestEnv::start_in(&dir, vec![workflow(SWEEP)], sim).await;
    // The service fires due schedules as it starts.
    let mut runs = Vec::new();
    for _ in 0..400 {
        runs = nightly_runs(&env.engine);
        if !runs.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(runs.len(), 1, "expected one run for the missed occurrences");
    let data = &runs[0].event.data;
    assert!(data["missedOccurrences"].as_u64().unwrap() >= 2, "{data}");
    assert!(env.engine.fire_schedules().await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(1200)).await; // one more tick of the loop
    assert_eq!(nightly_runs(&env.engine).len(), 1);
    env.stop().await;
    drop(keep);
}

const UNDO: &str = r#"
name = "undo"
version = 1
family = "lifecycle"
cancels = ["leaver"]
[[triggers]]
type = "hr.restore"
[[steps]]
id = "pause"
wait = "1m"
"#;

fn with_undo() -> Vec<Workflow> {
    let mut wfs: Vec<Workflow> = repo_workflows()
        .into_iter()
        .filter(|w| w.name == "leaver")
        .collect();
    wfs.push(workflow(UNDO));
    wfs
}

#[tokio::test]
async fn a_cancelling_workflow_ends_a_waiting_leaver_before_it_changes_anything() {
    let env = TestEnv::start(with_undo(), example_tenant()).await;
    let before = env.sim.fingerprint();
    let leaver = env
        .submit_one(
            "l-1",
            "hr.leaver",
            DANA,
            json!({"lastWorkingDay": "2030-01-31"}),
        )
        .await;
    env.wait_status(leaver, RunStatus::Waiting).await;
    let undo = env.submit_one("r-1", "hr.restore", DANA, json!({})).await;
    let l = env.wait_status(leaver, RunStatus::Cancelled).await;
    assert!(l.reason.unwrap().contains("r-1"));
    env.settle().await;
    assert_eq!(
        env.engine.run_record(&undo).unwrap().status,
        RunStatus::Succeeded
    );
    assert_eq!(
        env.sim.fingerprint(),
        before,
        "the cancelled leaver changed the tenant"
    );
    assert!(env.sim.damage().is_empty());
    env.stop().await;
}

#[test]
fn cancels_must_name_a_workflow_of_the_same_family() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("undo.toml"), UNDO).unwrap();
    let problems = offboard::workflow::load_dir(dir.path()).unwrap_err();
    assert!(
        problems[0]
            .to_string()
            .contains("`leaver`, which is not in this directory"),
        "{problems:?}"
    );
    let other = SWEEP.replace("name = \"nightly\"", "name = \"leaver\"");
    std::fs::write(dir.path().join("leaver.toml"), other).unwrap();
    let problems = offboard::workflow::load_dir(dir.path()).unwrap_err();
    assert!(
        problems[0]
            .to_string()
            .contains("both must be in one family"),
        "{problems:?}"
    );
}

#[test]
fn a_bad_cron_is_refused_with_its_line() {
    let bad = SWEEP.replace("0 3 * * *", "0 3 * *");
    let problems = offboard::workflow::parse(std::path::Path::new("s.toml"), &bad).unwrap_err();
    assert_eq!(problems[0].line, 6, "{problems:?}");
    assert!(problems[0].message.contains("not a valid cron expression"));
}
