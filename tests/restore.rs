//! `hr.restore` through the real engine, store and workflows/ (leaver.toml + restore.toml):
//! after a leaver that finished (mailbox kept as shared; account deleted), failed half-way,
//! was cancelled mid-way or while waiting for its last day, the person's account ends as the
//! snapshot had it on everything the leaver touched; on day 31 the restore fails clearly; a
//! taken UPN blocks; a missing seat makes it wait in line. Zero damage everywhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Duration as ChronoDuration;
use common::{E3, PBI, SAM, TestEnv, example_scenario, example_tenant, repo_workflows, scenario};
use offboard::clock::Clock;
use offboard::engine::{RunRecord, RunStatus, StepStatus};
use offboard::ids::{RunId, SkuId, UserId};
use offboard::tenant::sim::SimTenant;
use offboard::tenant::{AssignedLicense, MailboxType, Tenant};
use serde_json::{Value, json};

const DANA: &str = "dana.lee@contoso.com";
const DANA_ID: &str = "3b9f6c1e-8a24-4d57-b0e3-6f2c91d4a8b5";
const GINA: &str = "gina.rossi@contoso.com";
const GINA_ID: &str = "2b4d6f8a-0c2e-4a6b-8d0f-2a4c6e8b0d5a";
const ADA: &str = "ada.admin@contoso.com";
const SHAREPOINT_PLAN: &str = "5dbe027f-2339-4123-9542-606e4d348a72";

/// Everything a leaver touches of one user, from the simulated tenant's inspection API:
/// the account (sign-in, usage location, direct licenses with disabled plans, group license
/// paths), the groups it is in and its mailbox (type, hidden, FullAccess, auto-reply).
/// Revoked sessions are left out: nothing can undo them.
fn state_of(env: &TestEnv, id: &str) -> Value {
    let fp = env.sim.fingerprint();
    let mut user = fp["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == id)
        .cloned()
        .unwrap_or(Value::Null);
    if let Some(u) = user.as_object_mut() {
        u.remove("sessionsRevoked");
        // the order of licenses means nothing
        if let Some(Value::Array(direct)) = u.get_mut("direct") {
            direct.sort_by_key(|l| l["skuId"].to_string());
        }
    }
    let groups: Vec<Value> = fp["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["members"].as_array().unwrap().iter().any(|m| m == id))
        .map(|g| g["id"].clone())
        .collect();
    let mailbox = fp["mailboxes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"] == id)
        .cloned()
        .unwrap_or(Value::Null);
    json!({"user": user, "groups": groups, "mailbox": mailbox})
}

fn assert_no_damage(env: &TestEnv) {
    assert!(
        env.sim.damage().is_empty(),
        "damage: {:#?}",
        env.sim.damage()
    );
}

fn step<'a>(run: &'a RunRecord, id: &str) -> &'a offboard::engine::StepState {
    run.steps.iter().find(|s| s.id.as_str() == id).unwrap()
}

fn notes(run: &RunRecord) -> String {
    run.steps
        .iter()
        .map(|s| s.output.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn leave(env: &TestEnv, id: &str, upn: &str, data: Value) -> RunRecord {
    let run = env.submit_one(id, "hr.leaver", upn, data).await;
    env.settle().await;
    env.engine.run_record(&run).unwrap()
}

async fn restore(env: &TestEnv, id: &str, subject: &str) -> RunRecord {
    let run = env.submit_one(id, "hr.restore", subject, json!({})).await;
    env.settle().await;
    env.engine.run_record(&run).unwrap()
}

fn succeeded(run: &RunRecord) {
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_after_a_finished_shared_leaver_puts_back_exactly_what_it_changed() {
    let env = TestEnv::start(repo_workflows(), example_tenant()).await;
    let dana = UserId::new(DANA_ID);
    // E3 with SharePoint switched off: the restore must give it back the same way.
    let e3 = AssignedLicense {
        sku_id: SkuId::new(E3),
        disabled_plans: vec![SHAREPOINT_PLAN.into()],
    };
    env.sim.assign_license(&dana, &[e3], &[]).await.unwrap();
    let before = state_of(&env, DANA_ID);
    // Sam, the manager, had FullAccess before the leaver: the leaver did not grant it.
    assert!(before["mailbox"]["fullAccess"].to_string().contains(SAM));

    let leaver = leave(
        &env,
        "l1",
        DANA,
        json!({"mailbox": "shared", "onedrive": "backup", "manager": SAM,
               "autoReply": "Dana has left Contoso."}),
    )
    .await;
    succeeded(&leaver);
    let left = state_of(&env, DANA_ID);
    assert_eq!(left["user"]["enabled"], false);
    assert_eq!(left["user"]["direct"], json!([]));
    assert_eq!(left["mailbox"]["type"], "SharedMailbox");
    assert_eq!(left["mailbox"]["hidden"], true);
    assert_eq!(left["mailbox"]["autoReply"]["status"], "alwaysEnabled");
    // Someone else gives Ada access after the leaver: not the leaver's doing.
    env.sim.add_mailbox_full_access(&dana, ADA).await.unwrap();

    let run = restore(&env, "r1", DANA).await;
    succeeded(&run);
    assert_eq!(step(&run, "account").output["restored"], false);
    let mut after = state_of(&env, DANA_ID);
    let full_access = after["mailbox"]["fullAccess"].as_array().unwrap().clone();
    assert!(
        full_access.iter().any(|t| t == SAM),
        "Sam's own grant stays"
    );
    assert!(
        full_access.iter().any(|t| t == ADA),
        "Ada's later grant stays"
    );
    after["mailbox"]["fullAccess"] = json!(
        full_access
            .into_iter()
            .filter(|t| t != ADA)
            .collect::<Vec<_>>()
    );
    assert_eq!(after, before);
    assert_eq!(
        env.sim.mailbox(DANA).unwrap().recipient_type_details,
        MailboxType::UserMailbox
    );
    assert_no_damage(&env);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_after_a_finished_leaver_of_a_group_licensed_user_rejoins_the_group() {
    let env = TestEnv::start(repo_workflows(), example_tenant()).await;
    let before = state_of(&env, GINA_ID);
    assert_eq!(before["groups"].as_array().unwrap().len(), 1);
    let leaver = leave(
        &env,
        "l1",
        GINA,
        json!({"mailbox": "shared", "onedrive": "backup"}),
    )
    .await;
    succeeded(&leaver);
    let left = state_of(&env, GINA_ID);
    assert_eq!(left["groups"], json!([]));
    assert_eq!(left["user"]["groupPaths"], json!([]));

    let run = restore(&env, "r1", GINA).await;
    succeeded(&run);
    assert_eq!(state_of(&env, GINA_ID), before);
    assert!(
        step(&run, "licenses").output["groups"]
            .to_string()
            .contains("Licensing - M365 E3")
    );
    assert_no_damage(&env);
    env.stop().await;
}

/// Every user of examples/tenant.json leaves (`mailbox`), then is restored: each ends as
/// before, whether its leaver succeeded or was blocked half-way (synced, dynamic group,
/// forwarding, shared mailbox account).
async fn everyone_leaves_and_comes_back(mailbox: &str) {
    let env = TestEnv::start(repo_workflows(), example_tenant()).await;
    let users: Vec<(String, String)> = example_scenario()
        .users
        .iter()
        .map(|u| (u.user_principal_name.clone(), u.id.clone()))
        .collect();
    let before: Vec<Value> = users.iter().map(|(_, id)| state_of(&env, id)).collect();
    let mut leavers = Vec::new();
    for (i, (upn, _)) in users.iter().enumerate() {
        let data = json!({"mailbox": mailbox, "onedrive": "backup"});
        leavers.push(
            env.submit_one(&format!("l{i}"), "hr.leaver", upn, data)
                .await,
        );
    }
    env.settle().await;
    for (((upn, id), before), run) in users.iter().zip(&before).zip(&leavers) {
        if env.engine.run_record(run).unwrap().status == RunStatus::Succeeded {
            assert_ne!(
                &state_of(&env, id),
                before,
                "the leaver of {upn} changed nothing"
            );
        }
    }
    let mut runs = Vec::new();
    for (i, (upn, _)) in users.iter().enumerate() {
        runs.push(
            env.submit_one(&format!("r{i}"), "hr.restore", upn, json!({}))
                .await,
        );
    }
    env.settle().await;
    for (((upn, id), before), run) in users.iter().zip(&before).zip(runs) {
        let run = env.engine.run_record(&run).unwrap();
        assert_eq!(run.status, RunStatus::Succeeded, "{upn}: {:?}", run.reason);
        assert_eq!(&state_of(&env, id), before, "{upn}: {}", notes(&run));
    }
    assert_no_damage(&env);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_user_is_restored_after_a_shared_mailbox_leaver() {
    everyone_leaves_and_comes_back("shared").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_user_is_restored_after_a_deleting_leaver() {
    everyone_leaves_and_comes_back("delete").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_on_day_29_brings_a_deleted_account_back_with_its_licenses_and_memberships() {
    let env = TestEnv::start(repo_workflows(), example_tenant()).await;
    let before = state_of(&env, DANA_ID);
    let leaver = leave(
        &env,
        "l1",
        DANA,
        json!({"mailbox": "delete", "onedrive": "backup"}),
    )
    .await;
    succeeded(&leaver);
    assert!(env.sim.user(DANA).is_none());
    assert!(env.sim.deleted_user(DANA).is_some());
    env.clock.advance(ChronoDuration::days(29));

    let run = restore(&env, "r1", DANA).await;
    succeeded(&run);
    let account = &step(&run, "account").output;
    assert_eq!(account["restored"], true);
    assert_eq!(account["userId"], DANA_ID);
    assert_eq!(state_of(&env, DANA_ID), before);
    let user = env.sim.user(DANA).unwrap();
    assert!(user.account_enabled);
    assert_eq!(user.assigned_licenses.len(), 2, "E3 and Power BI are back");
    assert_eq!(
        env.sim.mailbox(DANA).unwrap().recipient_type_details,
        MailboxType::UserMailbox
    );
    assert_no_damage(&env);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_on_day_31_fails_saying_when_the_account_was_deleted_and_purged_and_what_to_do() {
    let env = TestEnv::start(repo_workflows(), example_tenant()).await;
    let leaver = leave(
        &env,
        "l1",
        DANA,
        json!({"mailbox": "delete", "onedrive": "backup"}),
    )
    .await;
    succeeded(&leaver);
    let deleted = env.sim.deleted_user(DANA).unwrap().deleted_date_time;
    env.clock.advance(ChronoDuration::days(31));

    let run = restore(&env, "r1", DANA).await;
    assert_eq!(run.status, RunStatus::Failed);
    let reason = run.reason.clone().unwrap();
    let day = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    for phrase in [
        "step `account`",
        DANA,
        &format!("deleted on {}", day(deleted)),
        &format!(
            "purged for good on {}",
            day(deleted + ChronoDuration::days(30))
        ),
        "Nothing can bring back the account",
        "create a new account",
        "backed up",
        "manifest.json",
    ] {
        assert!(reason.contains(phrase), "`{reason}` lacks `{phrase}`");
    }
    assert!(env.sim.user(DANA).is_none());
    assert_no_damage(&env);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_after_a_leaver_that_failed_half_way_converts_the_mailbox_back() {
    let env = TestEnv::start(repo_workflows(), example_tenant()).await;
    let before = state_of(&env, DANA_ID);
    // The manager does not exist: the conversion happens, the FullAccess grant then fails.
    let leaver = leave(
        &env,
        "l1",
        DANA,
        json!({"mailbox": "shared", "manager": "nobody@contoso.com", "autoReply": "Gone."}),
    )
    .await;
    assert_eq!(leaver.status, RunStatus::Failed, "{:?}", leaver.reason);
    assert_eq!(step(&leaver, "convert").status, StepStatus::Failed);
    assert_eq!(state_of(&env, DANA_ID)["mailbox"]["type"], "SharedMailbox");
    assert_eq!(state_of(&env, DANA_ID)["user"]["enabled"], false);

    let run = restore(&env, "r1", DANA).await;
    succeeded(&run);
    assert_eq!(state_of(&env, DANA_ID), before);
    let mailbox = &step(&run, "mailbox").output;
    assert!(
        mailbox["notes"]
            .to_string()
            .contains("stopped in `mailbox.convert`"),
        "{mailbox}"
    );
    assert!(
        step(&run, "licenses").output["notes"]
            .to_string()
            .contains("did not remove licenses")
    );
    assert_no_damage(&env);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_cancels_a_leaver_mid_way_and_undoes_its_half_done_license_step() {
    let env = TestEnv::start(repo_workflows(), example_tenant()).await;
    let before = state_of(&env, GINA_ID);
    let leaver = env
        .submit_one(
            "l1",
            "hr.leaver",
            GINA,
            json!({"mailbox": "shared", "onedrive": "backup"}),
        )
        .await;
    // Gina left her licensing group; the leaver polls until group licensing has processed.
    env.wait_for(leaver, |r| {
        r.steps
            .iter()
            .any(|s| s.id.as_str() == "licenses" && s.status == StepStatus::Waiting)
    })
    .await;
    assert_eq!(state_of(&env, GINA_ID)["groups"], json!([]));

    let run = restore(&env, "r1", GINA).await;
    succeeded(&run);
    let leaver = env.engine.run_record(&leaver).unwrap();
    assert_eq!(leaver.status, RunStatus::Cancelled);
    assert!(leaver.reason.clone().unwrap().contains("hr.restore"));
    assert_eq!(step(&leaver, "delete").attempts, 0);
    assert_eq!(state_of(&env, GINA_ID), before);
    assert!(
        step(&run, "licenses").output["notes"]
            .to_string()
            .contains("stopped in `licenses.remove`")
    );
    assert_no_damage(&env);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_cancels_a_leaver_waiting_for_its_last_day_and_undoes_nothing() {
    let env = TestEnv::start(repo_workflows(), example_tenant()).await;
    let before = state_of(&env, DANA_ID);
    let last_day = (env.clock.now() + ChronoDuration::days(10)).date_naive();
    let leaver = env
        .submit_one(
            "l1",
            "hr.leaver",
            DANA,
            json!({"lastWorkingDay": last_day.to_string()}),
        )
        .await;
    env.wait_status(leaver, RunStatus::Waiting).await;

    let run = restore(&env, "r1", DANA).await;
    succeeded(&run);
    let leaver = env.engine.run_record(&leaver).unwrap();
    assert_eq!(leaver.status, RunStatus::Cancelled);
    assert!(leaver.reason.clone().unwrap().contains("hr.restore"));
    assert!(leaver.steps.iter().skip(1).all(|s| s.attempts == 0));
    assert_eq!(step(&run, "account").output["restored"], false);
    assert!(
        step(&run, "account").output["note"]
            .as_str()
            .unwrap()
            .contains("stopped before its snapshot"),
        "{}",
        notes(&run)
    );
    let enable = &step(&run, "enable").output;
    assert_eq!(enable["accountEnabled"], true);
    assert!(
        enable["notes"]
            .to_string()
            .contains("did not block sign-in"),
        "{enable}"
    );
    assert_eq!(state_of(&env, DANA_ID), before);
    assert_no_damage(&env);
    env.stop().await;
}

/// A tenant with Dana soft-deleted `days` ago; `extra` adds users.
fn deleted_dana(days: i64, extra: Vec<Value>) -> SimTenant {
    let clock = offboard::clock::SimClock::new();
    let at = clock.now() - ChronoDuration::days(days);
    let s = scenario(json!({"deletedDateTime": at}), extra, vec![]);
    SimTenant::from_scenario(serde_json::from_value(s).unwrap(), clock).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_without_a_leaver_restores_the_account_and_undoes_nothing_else() {
    let env = TestEnv::start(repo_workflows(), deleted_dana(3, vec![])).await;
    let run = restore(&env, "r1", DANA).await;
    succeeded(&run);
    assert_eq!(step(&run, "account").output["restored"], true);
    let user = env.sim.user(DANA).unwrap();
    assert_eq!(user.id.as_str(), DANA_ID);
    assert!(user.account_enabled);
    for s in ["account", "enable", "licenses", "mailbox"] {
        assert!(
            step(&run, s)
                .output
                .to_string()
                .contains("no leaver run of this person is on record"),
            "step {s}: {}",
            notes(&run)
        );
    }
    assert_no_damage(&env);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_is_blocked_naming_the_account_that_took_the_upn() {
    let new_dana = json!({"id": "77777777-1c3b-4e9a-97d5-2b8e4f61c0d3", "userPrincipalName": DANA,
        "displayName": "Dana Lee (new)", "usageLocation": "US"});
    let env = TestEnv::start(repo_workflows(), deleted_dana(3, vec![new_dana])).await;
    let run = restore(&env, "r1", DANA_ID).await;
    assert_eq!(run.status, RunStatus::Blocked);
    let reason = run.reason.unwrap();
    for phrase in [
        DANA,
        "another account",
        "77777777-1c3b-4e9a-97d5-2b8e4f61c0d3",
        "Rename or delete",
    ] {
        assert!(reason.contains(phrase), "`{reason}` lacks `{phrase}`");
    }
    assert!(env.sim.deleted_user(DANA_ID).is_some(), "still deleted");
    assert_no_damage(&env);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_waits_in_line_for_a_seat_and_publishes_a_shortage() {
    // Dana holds the only Power BI seat; after her leaver Sam takes it.
    let mut s = scenario(
        json!({"licenses": ["SPE_E3", "POWER_BI_PRO"]}),
        vec![],
        vec![],
    );
    s["skus"][2]["prepaidUnits"]["enabled"] = json!(1);
    let sim = SimTenant::from_scenario(
        serde_json::from_value(s).unwrap(),
        offboard::clock::SimClock::new(),
    )
    .unwrap();
    let env = TestEnv::start(repo_workflows(), sim).await;
    let before = state_of(&env, DANA_ID);
    let leaver = leave(
        &env,
        "l1",
        DANA,
        json!({"mailbox": "shared", "onedrive": "backup"}),
    )
    .await;
    succeeded(&leaver);
    let sam = env.sim.user(SAM).unwrap().id;
    let pbi = AssignedLicense {
        sku_id: SkuId::new(PBI),
        disabled_plans: vec![],
    };
    env.sim.assign_license(&sam, &[pbi], &[]).await.unwrap();

    let run: RunId = env.submit_one("r1", "hr.restore", DANA, json!({})).await;
    let waiting = env
        .wait_for(run, |r| {
            r.status == RunStatus::Waiting
                && step(r, "licenses")
                    .message
                    .as_deref()
                    .is_some_and(|m| m.contains("POWER_BI_PRO"))
        })
        .await;
    assert_eq!(waiting.lines, vec![format!("seat/{PBI}")]);
    let shortage: Vec<Value> = env
        .engine
        .store()
        .outbox(10_000)
        .unwrap()
        .into_iter()
        .filter(|(_, o)| o.outcome_type == "seat.shortage" && o.run_id == run)
        .map(|(_, o)| o.data)
        .collect();
    assert_eq!(shortage.len(), 1, "{shortage:?}");
    assert_eq!(shortage[0]["skuPartNumber"], "POWER_BI_PRO");
    assert_eq!(shortage[0]["step"], "licenses");
    // Nothing was half-assigned while waiting.
    assert!(env.sim.user(DANA).unwrap().assigned_licenses.is_empty());

    env.sim
        .assign_license(&sam, &[], &[SkuId::new(PBI)])
        .await
        .unwrap();
    env.settle().await;
    let run = env.engine.run_record(&run).unwrap();
    succeeded(&run);
    assert!(run.lines.is_empty());
    assert_eq!(state_of(&env, DANA_ID), before);
    assert_no_damage(&env);
    env.stop().await;
}
