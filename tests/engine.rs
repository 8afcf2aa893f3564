//! The engine's protocol: dedup, subject ordering, supersede, retries as durable timers,
//! restart, cancel, approval, pinned definitions, resume after a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestEnv, event, example_tenant, workflow};
use offboard::clock::Clock;
use offboard::engine::{RunStatus, StepStatus, WaitReason};
use offboard::tenant::sim::SimFaults;
use serde_json::json;

const DANA: &str = "dana.lee@contoso.com";

fn disable_wf(extra: &str) -> String {
    format!(
        r#"
name = "offboard-lite"
version = 1
family = "lifecycle"
[[triggers]]
type = "hr.leaver"
[[steps]]
id = "cool-off"
wait = "1h"
[[steps]]
id = "disable"
action = "user.disable"
retry = {{ attempts = 3, backoff = "1s", max_delay = "4s" }}
{extra}
[[steps]]
id = "revoke"
action = "sessions.revoke"
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_delivered_twice_makes_one_run() {
    let env = TestEnv::start(vec![workflow(&disable_wf(""))], example_tenant()).await;
    let e = event("evt-1", "hr.leaver", DANA, json!({}));
    let (a, b) = tokio::join!(env.engine.submit(e.clone()), env.engine.submit(e.clone()));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.runs, b.runs);
    assert_eq!(a.runs.len(), 1);
    assert!(
        a.duplicate != b.duplicate,
        "exactly one of the two is the duplicate"
    );
    let again = env.engine.submit(e).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(again.runs, a.runs);
    assert_eq!(env.engine.list_runs(None, None, None).unwrap().len(), 1);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_event_for_the_same_subject_waits_for_the_current_run() {
    let env = TestEnv::start(vec![workflow(&disable_wf(""))], example_tenant()).await;
    let first = env.submit_one("e1", "hr.leaver", DANA, json!({})).await;
    env.wait_status(first, RunStatus::Waiting).await;
    // Another subject-family run for the same person (different case in the UPN) queues.
    let second = env
        .submit_one("e2", "hr.leaver", "Dana.Lee@contoso.com", json!({}))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        env.engine.run_record(&second).unwrap().status,
        RunStatus::Pending
    );
    env.settle().await;
    let a = env.engine.run_record(&first).unwrap();
    let b = env.engine.run_record(&second).unwrap();
    assert_eq!(
        (a.status, b.status),
        (RunStatus::Succeeded, RunStatus::Succeeded)
    );
    let b_started = b.steps[0].first_started_at.unwrap();
    assert!(
        b_started >= a.updated_at,
        "the second run started before the first ended"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrected_leaver_replaces_a_run_still_waiting_for_its_day() {
    let env = TestEnv::start(common::repo_workflows(), example_tenant()).await;
    let old = env
        .submit_one(
            "l1",
            "hr.leaver",
            DANA,
            json!({"lastWorkingDay": "2027-03-31"}),
        )
        .await;
    env.wait_status(old, RunStatus::Waiting).await;
    let new = env
        .submit_one(
            "l2",
            "hr.leaver",
            DANA,
            json!({"lastWorkingDay": "2027-01-15"}),
        )
        .await;
    // At once, or at its next step boundary when its task was just finishing a checkpoint.
    let old = env.wait_status(old, RunStatus::Cancelled).await;
    assert!(old.reason.unwrap().contains("superseded by event l2"));
    let new = env.wait_status(new, RunStatus::Waiting).await;
    assert_eq!(
        new.wake_at.unwrap().to_rfc3339(),
        "2027-01-16T00:00:00+00:00"
    );
    assert!(
        env.sim.user(DANA).unwrap().account_enabled,
        "nothing changed yet"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retryable_failures_back_off_on_durable_timers_then_fail_with_the_reason() {
    let env = TestEnv::start(vec![workflow(&disable_wf(""))], example_tenant()).await;
    env.sim.set_faults(SimFaults {
        throttle_rate: 1.0,
        retry_after_ms: 3000,
        ..SimFaults::default()
    });
    let run = env.submit_one("e1", "hr.leaver", DANA, json!({})).await;
    env.wait_status(run, RunStatus::Waiting).await;
    env.clock.advance(chrono::Duration::hours(2));
    env.engine.poke_timers();
    let waiting = env
        .wait_for(run, |r| r.wait_reason == Some(WaitReason::Retry))
        .await;
    let backoff = waiting.wake_at.unwrap() - env.clock.now();
    assert!(
        backoff > chrono::Duration::milliseconds(2500),
        "Retry-After of 3 s was not honoured: {backoff}"
    );
    assert!(
        env.engine.store().timer_count() >= 1,
        "the retry is a durable timer"
    );
    env.settle().await;
    let r = env.engine.run_record(&run).unwrap();
    assert_eq!(r.status, RunStatus::Failed);
    assert_eq!(r.steps[1].failures, 3);
    assert!(
        r.reason.as_deref().unwrap().contains("TooManyRequests"),
        "{:?}",
        r.reason
    );
    let journal = env.engine.run_view(&run).unwrap().journal;
    assert_eq!(
        journal
            .iter()
            .filter(|j| j.attempt.outcome == "retry")
            .count(),
        2
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_restarts_from_the_failed_step_or_a_named_one() {
    let env = TestEnv::start(vec![workflow(&disable_wf(""))], example_tenant()).await;
    env.sim.set_faults(SimFaults {
        transient_rate: 1.0,
        ..SimFaults::default()
    });
    let run = env.submit_one("e1", "hr.leaver", DANA, json!({})).await;
    env.settle().await;
    assert_eq!(
        env.engine.run_record(&run).unwrap().status,
        RunStatus::Failed
    );
    env.sim.set_faults(SimFaults::default());
    let restarted = env.engine.restart(run, None).await.unwrap();
    assert_eq!(
        restarted.cursor, 1,
        "restart resumes at the failed step, not the wait"
    );
    env.settle().await;
    let r = env.engine.run_record(&run).unwrap();
    assert_eq!(r.status, RunStatus::Succeeded);
    assert!(!env.sim.user(DANA).unwrap().account_enabled);
    // From a named step: the wait is fixed again and the idempotent steps repeat harmlessly.
    let err = env.engine.restart(run, Some("nope")).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("only failed, blocked or cancelled"),
        "{err}"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_from_an_unknown_step_names_the_known_ones() {
    let env = TestEnv::start(vec![workflow(&disable_wf(""))], example_tenant()).await;
    let run = env.submit_one("e1", "hr.leaver", DANA, json!({})).await;
    env.wait_status(run, RunStatus::Waiting).await;
    env.engine.cancel(run).await.unwrap();
    let err = env.engine.restart(run, Some("delete")).await.unwrap_err();
    assert!(
        err.to_string().contains("cool-off, disable, revoke"),
        "{err}"
    );
    let r = env.engine.restart(run, Some("revoke")).await.unwrap();
    assert_eq!(r.cursor, 2);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_ends_a_waiting_run_and_hands_the_subject_to_the_next() {
    let env = TestEnv::start(vec![workflow(&disable_wf(""))], example_tenant()).await;
    let first = env.submit_one("e1", "hr.leaver", DANA, json!({})).await;
    env.wait_status(first, RunStatus::Waiting).await;
    let second = env.submit_one("e2", "hr.leaver", DANA, json!({})).await;
    env.engine.cancel(first).await.unwrap();
    assert_eq!(
        env.engine.run_record(&first).unwrap().status,
        RunStatus::Cancelled
    );
    env.wait_status(second, RunStatus::Waiting).await;
    assert!(
        env.engine.cancel(first).await.is_err(),
        "cancelling twice is a conflict"
    );
    assert!(
        env.sim.user(DANA).unwrap().account_enabled,
        "the cancelled run changed nothing"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_that_requires_approval_waits_for_it() {
    let env = TestEnv::start(
        vec![workflow(&disable_wf("approval = true"))],
        example_tenant(),
    )
    .await;
    let run = env.submit_one("e1", "hr.leaver", DANA, json!({})).await;
    env.settle_until_approval(run).await;
    assert!(
        env.sim.user(DANA).unwrap().account_enabled,
        "nothing happens before the approval"
    );
    env.engine.approve(run).await.unwrap();
    env.settle().await;
    let r = env.engine.run_record(&run).unwrap();
    assert_eq!(r.status, RunStatus::Succeeded);
    assert_eq!(r.steps[1].approved, Some(true));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_keeps_its_pinned_definition_and_resumes_after_a_restart() {
    let sim = example_tenant();
    let env = TestEnv::start(vec![workflow(&disable_wf(""))], sim.clone()).await;
    let run = env.submit_one("e1", "hr.leaver", DANA, json!({})).await;
    env.wait_status(run, RunStatus::Waiting).await;
    let dir = env.dir.clone();
    let keep = env.stop().await;
    // The file changed meanwhile: a new version that would only revoke sessions.
    let edited = workflow(
        "name = \"offboard-lite\"\nversion = 2\nfamily = \"lifecycle\"\n[[triggers]]\ntype = \"hr.leaver\"\n[[steps]]\nid = \"revoke\"\naction = \"sessions.revoke\"\n",
    );
    let env = TestEnv::start_in(&dir, vec![edited], sim).await;
    env.settle().await;
    let r = env.engine.run_record(&run).unwrap();
    assert_eq!(r.status, RunStatus::Succeeded);
    assert_eq!(r.workflow_version, 1);
    assert_eq!(r.steps[1].status, StepStatus::Succeeded);
    assert!(
        !env.sim.user(DANA).unwrap().account_enabled,
        "v1's disable step ran"
    );
    env.stop().await;
    drop(keep);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_that_triggers_nothing_is_remembered_as_handled() {
    let env = TestEnv::start(vec![workflow(&disable_wf(""))], example_tenant()).await;
    let s = env
        .engine
        .submit(event("j1", "hr.joiner", DANA, json!({})))
        .await
        .unwrap();
    assert!(s.runs.is_empty());
    assert!(s.note.unwrap().contains("no workflow"));
    assert!(
        env.engine
            .submit(event("j1", "hr.joiner", DANA, json!({})))
            .await
            .unwrap()
            .duplicate
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_during_a_step_stops_the_run_at_the_next_step_boundary() {
    let wf = r#"
name = "slow"
version = 1
[[triggers]]
type = "hr.leaver"
[[steps]]
id = "disable"
action = "user.disable"
[[steps]]
id = "revoke"
action = "sessions.revoke"
"#;
    let env = TestEnv::start(vec![workflow(wf)], example_tenant()).await;
    env.sim.set_faults(SimFaults {
        latency_ms: 400,
        ..SimFaults::default()
    });
    let run = env.submit_one("e1", "hr.leaver", DANA, json!({})).await;
    // Wait until the first step's attempt is on record, i.e. it is talking to the tenant.
    for _ in 0..400 {
        if !env.engine.run_view(&run).unwrap().journal.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    env.engine.cancel(run).await.unwrap();
    let r = env.wait_status(run, RunStatus::Cancelled).await;
    assert_eq!(r.reason.as_deref(), Some("cancelled by an operator"));
    assert_eq!(
        r.steps[0].status,
        StepStatus::Succeeded,
        "the running step finished"
    );
    assert_eq!(r.steps[1].attempts, 0, "the next step never started");
    assert_eq!(env.sim.calls("revoke_sign_in_sessions"), 0);
    assert!(!env.sim.user(DANA).unwrap().account_enabled);
    env.stop().await;
}

/// A second lifecycle workflow for the same person (stands in for a mover).
const MOVER_LITE: &str = r#"
name = "mover-lite"
version = 1
family = "lifecycle"
[[triggers]]
type = "hr.mover"
[[steps]]
id = "look"
action = "user.snapshot"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn superseding_a_waiting_leaver_starts_the_run_queued_behind_it() {
    // the stand-in replaces the shipped mover (which needs `from`/`to`)
    let mut wfs = common::repo_workflows();
    wfs.retain(|w| w.name != "mover");
    wfs.push(workflow(MOVER_LITE));
    let env = TestEnv::start(wfs, example_tenant()).await;
    let day = |d: &str| json!({"lastWorkingDay": d, "mailbox": "shared"});
    let first = env
        .submit_one("l1", "hr.leaver", DANA, day("2027-03-31"))
        .await;
    env.wait_status(first, RunStatus::Waiting).await;
    let mover = env.submit_one("m1", "hr.mover", DANA, json!({})).await;
    let corrected = env
        .submit_one("l2", "hr.leaver", DANA, day("2027-01-15"))
        .await;
    env.wait_status(first, RunStatus::Cancelled).await;
    // The mover, queued behind the superseded leaver, now runs without anyone's help …
    env.wait_status(mover, RunStatus::Succeeded).await;
    // … and the corrected leaver follows it and waits for its day.
    let r = env.wait_status(corrected, RunStatus::Waiting).await;
    assert_eq!(r.wake_at.unwrap().to_rfc3339(), "2027-01-16T00:00:00+00:00");
    env.stop().await;
}

/// A correction replaces an earlier correction that is queued (not started) behind a run
/// it cannot replace; only the last one is left to run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correction_replaces_the_one_queued_behind_another_run() {
    let mut wfs = common::repo_workflows();
    wfs.retain(|w| w.name != "mover");
    wfs.push(workflow(&MOVER_LITE.replace(
        "action = \"user.snapshot\"",
        "action = \"user.snapshot\"\napproval = true",
    )));
    let env = TestEnv::start(wfs, example_tenant()).await;
    let day = |d: &str| json!({"lastWorkingDay": d, "mailbox": "shared"});
    let mover = env.submit_one("m1", "hr.mover", DANA, json!({})).await;
    env.settle_until_approval(mover).await;
    let first = env
        .submit_one("l1", "hr.leaver", DANA, day("2027-03-31"))
        .await;
    let second = env
        .submit_one("l2", "hr.leaver", DANA, day("2027-01-15"))
        .await;
    let old = env.wait_status(first, RunStatus::Cancelled).await;
    assert!(old.reason.unwrap().contains("superseded by event l2"));
    env.engine.approve(mover).await.unwrap();
    env.wait_status(mover, RunStatus::Succeeded).await;
    let r = env.wait_status(second, RunStatus::Waiting).await;
    assert_eq!(r.wake_at.unwrap().to_rfc3339(), "2027-01-16T00:00:00+00:00");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_triggering_two_workflows_of_one_family_runs_them_one_after_the_other() {
    let also = MOVER_LITE
        .replace("mover-lite", "mover-audit")
        .replace("user.snapshot", "user.disable");
    let env = TestEnv::start(
        vec![workflow(MOVER_LITE), workflow(&also)],
        example_tenant(),
    )
    .await;
    let s = env
        .engine
        .submit(event("m1", "hr.mover", DANA, json!({})))
        .await
        .unwrap();
    assert_eq!(s.runs.len(), 2);
    // One of them was admitted queued behind the other (its run.started says so).
    let queued: Vec<bool> = env
        .engine
        .store()
        .outbox(100)
        .unwrap()
        .into_iter()
        .filter(|(_, o)| o.outcome_type == "run.started")
        .map(|(_, o)| o.data["queued"].as_bool().unwrap())
        .collect();
    assert_eq!(queued.iter().filter(|q| **q).count(), 1, "{queued:?}");
    env.settle().await;
    let a = env.engine.run_record(&s.runs[0]).unwrap();
    let b = env.engine.run_record(&s.runs[1]).unwrap();
    assert_eq!(
        (a.status, b.status),
        (RunStatus::Succeeded, RunStatus::Succeeded)
    );
    let (first, second) = if a.updated_at <= b.updated_at {
        (a, b)
    } else {
        (b, a)
    };
    assert!(
        second.steps[0].first_started_at.unwrap() >= first.updated_at,
        "the two runs overlapped"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_admitted_in_order_as_if_submitted_one_by_one() {
    let env = TestEnv::start(common::repo_workflows(), example_tenant()).await;
    let day = |d: &str| json!({"lastWorkingDay": d});
    let first = common::event("batch-1", "hr.leaver", DANA, day("2027-03-31"));
    let batch = vec![
        first.clone(),
        common::event(
            "batch-2",
            "hr.leaver",
            "sam.ortiz@contoso.com",
            day("2027-03-31"),
        ),
        // The same id again within the batch: a duplicate of the first.
        first,
        // A corrected leaver for the same person: it replaces the first, which must already
        // be in the store when this one is admitted.
        common::event("batch-3", "hr.leaver", DANA, day("2027-01-15")),
        common::event("batch-4", "ops.run.cancel", DANA, json!({})),
    ];
    let results = env
        .engine
        .admit(batch)
        .await
        .durable(&env.engine)
        .await
        .unwrap();
    let subs: Vec<_> = results
        .iter()
        .take(4)
        .map(|r| r.as_ref().unwrap())
        .collect();
    assert!(!subs[0].duplicate && !subs[1].duplicate && !subs[3].duplicate);
    assert!(subs[2].duplicate);
    assert_eq!(subs[2].runs, subs[0].runs);
    assert!(
        results[4].as_ref().unwrap_err().is_client_error(),
        "operator commands go through submit"
    );
    let old = env.wait_status(subs[0].runs[0], RunStatus::Cancelled).await;
    assert!(old.reason.unwrap().contains("superseded by event batch-3"));
    let new = env.wait_status(subs[3].runs[0], RunStatus::Waiting).await;
    assert_eq!(
        new.wake_at.unwrap().to_rfc3339(),
        "2027-01-16T00:00:00+00:00"
    );
    env.wait_status(subs[1].runs[0], RunStatus::Waiting).await;
    // Exactly one run per new event, nothing for the duplicate.
    assert_eq!(env.engine.store().runs().count(), 3);
    env.stop().await;
}
