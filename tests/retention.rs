//! Retention (README "Retention"): ended runs older than the retention go with their journal,
//! history and dedup records; unfinished and recent runs stay, a redelivered event within the
//! retention is still a duplicate, and the store's counters stay exact.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestEnv, event, example_tenant, workflow};
use offboard::engine::{EngineError, RunStatus};
use offboard::metrics::Metrics;
use serde_json::json;
use std::time::Duration;

const DAY: Duration = Duration::from_secs(86_400);

const QUICK: &str = r#"
name = "quick"
version = 1
family = "lifecycle"
[[triggers]]
type = "hr.mover"
[[steps]]
id = "disable"
action = "user.disable"
[[steps]]
id = "revoke"
action = "sessions.revoke"
"#;

const WAITER: &str = r#"
name = "waiter"
version = 1
family = "lifecycle"
[[triggers]]
type = "hr.leaver"
[[steps]]
id = "cool-off"
wait = "1000days"
[[steps]]
id = "revoke"
action = "sessions.revoke"
"#;

async fn start(metrics: &Metrics) -> TestEnv {
    let m = metrics.clone();
    TestEnv::start_configured(
        vec![workflow(QUICK), workflow(WAITER)],
        example_tenant(),
        None,
        None,
        move |c| c.metrics = m,
    )
    .await
}

fn assert_counters_exact(env: &TestEnv) {
    let store = env.engine.store();
    assert_eq!(store.counts().unwrap(), store.recount().unwrap());
    assert_eq!(store.counts().unwrap(), store.stored_counts().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_finished_runs_go_and_unfinished_and_recent_ones_stay() {
    let metrics = Metrics::new();
    let env = start(&metrics).await;
    let dana = env
        .submit_one("m-dana", "hr.mover", "dana.lee@contoso.com", json!({}))
        .await;
    let sam = env
        .submit_one("m-sam", "hr.mover", "sam.ortiz@contoso.com", json!({}))
        .await;
    let fred = env
        .submit_one("l-fred", "hr.leaver", "fred.fischer@contoso.com", json!({}))
        .await;
    // An event no workflow takes: only its dedup record is kept.
    let none = env
        .engine
        .submit(event(
            "r-gina",
            "hr.restore",
            "gina.rossi@contoso.com",
            json!({}),
        ))
        .await
        .unwrap();
    assert!(none.runs.is_empty());
    env.wait_status(dana, RunStatus::Succeeded).await;
    env.wait_status(sam, RunStatus::Succeeded).await;
    env.wait_status(fred, RunStatus::Waiting).await;

    env.clock.advance(chrono::Duration::days(31));
    let lena = env
        .submit_one("m-lena", "hr.mover", "lena.hofmann@contoso.com", json!({}))
        .await;
    env.wait_status(lena, RunStatus::Succeeded).await;
    let before = env.engine.store().counts().unwrap();

    let pruned = env.engine.prune_expired(30 * DAY).await.unwrap();
    assert_eq!(
        (pruned.runs, pruned.events),
        (2, 3),
        "dana, sam; m-dana, m-sam, r-gina"
    );
    let store = env.engine.store();
    for gone in [dana, sam] {
        assert!(matches!(
            env.engine.run_record(&gone),
            Err(EngineError::UnknownRun(_))
        ));
        assert!(store.journal(&gone).unwrap().is_empty());
    }
    assert!(
        store
            .subject_history("lifecycle", "dana.lee@contoso.com")
            .unwrap()
            .is_empty()
    );
    for id in ["m-dana", "m-sam", "r-gina"] {
        assert!(store.event(id).unwrap().is_none(), "{id}");
    }
    // The unfinished run (however old) and the recent one stay, with their records.
    assert_eq!(
        env.engine.run_record(&fred).unwrap().status,
        RunStatus::Waiting
    );
    assert_eq!(env.engine.run_record(&lena).unwrap().steps.len(), 2);
    assert!(!store.journal(&lena).unwrap().is_empty());
    assert_eq!(
        store
            .subject_history("lifecycle", "fred.fischer@contoso.com")
            .unwrap()
            .len(),
        1
    );
    assert!(store.event("l-fred").unwrap().is_some());
    assert_counters_exact(&env);
    let after = store.counts().unwrap();
    let succeeded = |c: &offboard::store::StoreCounts| {
        c.runs
            .get(&("quick".to_string(), RunStatus::Succeeded))
            .copied()
    };
    assert_eq!((succeeded(&before), succeeded(&after)), (Some(3), Some(1)));
    assert!(
        metrics
            .render()
            .contains("\noffboard_runs_pruned_total 2\n")
    );

    // Within the retention a redelivery is still a duplicate; the old unfinished run's event
    // too (its record lives as long as its run).
    for (id, kind, subject, run) in [
        ("m-lena", "hr.mover", "lena.hofmann@contoso.com", lena),
        ("l-fred", "hr.leaver", "fred.fischer@contoso.com", fred),
    ] {
        let again = env
            .engine
            .submit(event(id, kind, subject, json!({})))
            .await
            .unwrap();
        assert!(again.duplicate, "{id}");
        assert_eq!(again.runs, vec![run]);
    }
    // A second sweep finds nothing more.
    let pruned = env.engine.prune_expired(30 * DAY).await.unwrap();
    assert_eq!((pruned.runs, pruned.events), (0, 0));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_ended_recently_keeps_its_old_event_and_goes_later() {
    let metrics = Metrics::new();
    let env = start(&metrics).await;
    let fred = env
        .submit_one("l-fred", "hr.leaver", "fred.fischer@contoso.com", json!({}))
        .await;
    env.wait_status(fred, RunStatus::Waiting).await;
    env.clock.advance(chrono::Duration::days(40));
    env.engine.cancel(fred).await.unwrap();
    env.clock.advance(chrono::Duration::days(10));
    // Created 50 days ago, ended 10 days ago: kept, and so is its 50-day-old dedup record.
    let pruned = env.engine.prune_expired(30 * DAY).await.unwrap();
    assert_eq!((pruned.runs, pruned.events), (0, 0));
    let again = env
        .engine
        .submit(event(
            "l-fred",
            "hr.leaver",
            "fred.fischer@contoso.com",
            json!({}),
        ))
        .await
        .unwrap();
    assert!(again.duplicate);
    env.clock.advance(chrono::Duration::days(21));
    let pruned = env.engine.prune_expired(30 * DAY).await.unwrap();
    assert_eq!((pruned.runs, pruned.events), (1, 1));
    assert_counters_exact(&env);
    // Past the retention an event id is forgotten: the same id makes a new run.
    let later = env
        .engine
        .submit(event(
            "l-fred",
            "hr.leaver",
            "fred.fischer@contoso.com",
            json!({}),
        ))
        .await
        .unwrap();
    assert!(!later.duplicate);
    assert_ne!(later.runs, vec![fred]);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_sweep_prunes_and_stops_on_shutdown() {
    let metrics = Metrics::new();
    let env = start(&metrics).await;
    let mut runs = Vec::new();
    for i in 0..300 {
        // More than one batch of runs and of dedup records.
        let s = env
            .engine
            .submit(event(
                &format!("m-{i}"),
                "hr.mover",
                &format!("user{i}@contoso.com"),
                json!({}),
            ))
            .await
            .unwrap();
        runs.extend(s.runs);
    }
    for id in &runs {
        env.wait_for(*id, |r| r.status.is_terminal()).await;
    }
    env.clock.advance(chrono::Duration::days(401));
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let sweeper = tokio::spawn(offboard::engine::retention::run(
        env.engine.clone(),
        offboard::engine::retention::DEFAULT,
        Duration::from_millis(50),
        async move {
            let _ = stop_rx.wait_for(|s| *s).await;
        },
    ));
    let done = |text: String| text.contains("\noffboard_runs_pruned_total 300\n");
    for _ in 0..1000 {
        if done(metrics.render()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(env.engine.store().runs().next().is_none());
    stop_tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), sweeper)
        .await
        .expect("the sweep stops on shutdown")
        .unwrap();
    assert!(done(metrics.render()));
    assert_counters_exact(&env);
    let c = env.engine.store().counts().unwrap();
    assert!(c.runs.is_empty(), "{c:?}");
    env.stop().await;
}
