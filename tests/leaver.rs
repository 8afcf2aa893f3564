//! Both leaver variants (shared mailbox kept; account deleted) for every user of
//! examples/tenant.json, through the real engine, store and workflows/leaver.toml: each ends
//! in the right tenant state, the blocked ones for the right reason, with no damage.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestEnv, event, example_scenario, example_tenant, repo_workflows};
use offboard::engine::RunStatus;
use offboard::tenant::MailboxType;
use serde_json::json;

/// (user, expected status, phrase the reason must contain)
type Expectation = (&'static str, RunStatus, &'static str);

const SHARED: &[Expectation] = &[
    ("sid.meyer@contoso.com", RunStatus::Blocked, "on-premises"),
    (
        "dylan.park@contoso.com",
        RunStatus::Blocked,
        "Sales - dynamic",
    ),
];

const DELETE: &[Expectation] = &[
    ("sid.meyer@contoso.com", RunStatus::Blocked, "on-premises"),
    ("fred.fischer@contoso.com", RunStatus::Blocked, "forward"),
    ("info@contoso.com", RunStatus::Blocked, "shared"),
];

fn expected(table: &[Expectation], upn: &str) -> (RunStatus, &'static str) {
    table
        .iter()
        .find(|(u, _, _)| *u == upn)
        .map(|(_, s, r)| (*s, *r))
        .unwrap_or((RunStatus::Succeeded, ""))
}

async fn run_variant(mailbox: &str) -> (TestEnv, Vec<(String, offboard::engine::RunRecord)>) {
    let env = TestEnv::start(repo_workflows(), example_tenant()).await;
    let upns: Vec<String> = example_scenario()
        .users
        .iter()
        .map(|u| u.user_principal_name.clone())
        .collect();
    let mut runs = Vec::new();
    for (i, upn) in upns.iter().enumerate() {
        let e = event(
            &format!("{mailbox}-{i}"),
            "hr.leaver",
            upn,
            json!({"lastWorkingDay": "2026-12-15", "mailbox": mailbox, "onedrive": "backup"}),
        );
        let id = env.engine.submit(e).await.unwrap().runs[0];
        runs.push((upn.clone(), id));
    }
    env.settle().await;
    let runs = runs
        .into_iter()
        .map(|(u, id)| (u, env.engine.run_record(&id).unwrap()))
        .collect();
    (env, runs)
}

fn check_statuses(table: &[Expectation], runs: &[(String, offboard::engine::RunRecord)]) {
    for (upn, run) in runs {
        let (status, phrase) = expected(table, upn);
        assert_eq!(run.status, status, "{upn}: reason {:?}", run.reason);
        if !phrase.is_empty() {
            let reason = run.reason.clone().unwrap_or_default();
            assert!(
                reason.contains(phrase),
                "{upn}: reason `{reason}` lacks `{phrase}`"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_user_leaves_with_a_shared_mailbox_or_is_blocked_for_the_right_reason() {
    let (env, runs) = run_variant("shared").await;
    check_statuses(SHARED, &runs);
    assert!(
        env.sim.damage().is_empty(),
        "damage: {:#?}",
        env.sim.damage()
    );
    let exchange = |upn: &str| {
        let u = env.sim.user(upn).unwrap();
        u.assigned_licenses
            .iter()
            .map(|l| l.sku_id.clone())
            .collect::<Vec<_>>()
    };
    for (upn, run) in &runs {
        if run.status != RunStatus::Succeeded {
            continue;
        }
        let user = env.sim.user(upn).expect("the account stays");
        assert!(!user.account_enabled, "{upn} still enabled");
        if let Some(mb) = env.sim.mailbox(upn) {
            assert_eq!(
                mb.recipient_type_details,
                MailboxType::SharedMailbox,
                "{upn}"
            );
        }
        let keeps = matches!(
            upn.as_str(),
            "lena.hofmann@contoso.com" | "max.berg@contoso.com" | "ari.khan@contoso.com"
        );
        assert_eq!(
            !exchange(upn).is_empty(),
            keeps,
            "{upn}: licenses {:?}",
            exchange(upn)
        );
    }
    // The synced user was not touched in the cloud.
    assert!(
        env.sim
            .user("sid.meyer@contoso.com")
            .unwrap()
            .account_enabled
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_user_leaves_with_the_account_deleted_or_is_blocked_for_the_right_reason() {
    let (env, runs) = run_variant("delete").await;
    check_statuses(DELETE, &runs);
    assert!(
        env.sim.damage().is_empty(),
        "damage: {:#?}",
        env.sim.damage()
    );
    for (upn, run) in &runs {
        let deleted = env.sim.deleted_user(upn).is_some();
        assert_eq!(
            deleted,
            run.status == RunStatus::Succeeded,
            "{upn}: {:?}",
            run.reason
        );
    }
    assert!(
        env.sim.user("info@contoso.com").is_some(),
        "the shared mailbox's account stays"
    );
    // A verified backup exists for every deleted user with files.
    let dana = env.sim.deleted_user("dana.lee@contoso.com").unwrap();
    let manifest = env.dir.join("backups").join(dana.id.as_str());
    assert!(manifest.exists(), "no backup under {}", manifest.display());
    env.stop().await;
}
