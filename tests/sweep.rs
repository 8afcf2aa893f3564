//! The retention sweep: the report of soft-deleted users nearing day 30 without a verified
//! backup, purges on request (after the period, not before, never after a restore), backup
//! expiry, and the workflow fired by its schedule through the real engine. Zero damage each.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Duration;
use common::*;
use offboard::engine::RunStatus;
use offboard::ids::UserId;
use offboard::tenant::Tenant;
use serde_json::{Value, json};
use std::path::PathBuf;

const ERIN: &str = "erin.wolf@contoso.com";
const GUS: &str = "gus.grant@contoso.com";
const HANK: &str = "hank.ito@contoso.com";
const IVY: &str = "ivy.chen@contoso.com";
const FINN: &str = "finn.holt@contoso.com";

/// A colleague with a licensed mailbox; `files` gives them a OneDrive.
fn colleague(n: u32, upn: &str, files: bool) -> Value {
    let mut u = json!({
        "id": format!("00000000-0000-4000-8000-00000000000{n}"),
        "userPrincipalName": upn, "displayName": upn, "usageLocation": "US",
        "manager": SAM, "licenses": ["SPE_E3"]
    });
    if files {
        u["drive"] =
            json!({"files": [{"path": "a.txt", "size": 10}, {"path": "d/b.bin", "size": 2000}]});
    }
    u
}

fn tenant() -> Harness {
    Harness::from_json(
        scenario(
            json!({}),
            vec![
                colleague(1, ERIN, false),
                colleague(2, GUS, true),
                colleague(3, HANK, false),
                colleague(4, IVY, false),
                colleague(5, FINN, false),
            ],
            vec![],
        ),
        DANA,
    )
}

/// The leaver's last steps for `upn`: back the OneDrive up when `backup`, then delete with
/// `delete_params`. Returns the user's id.
async fn leave(h: &mut Harness, upn: &str, backup: bool, delete_params: Value) -> UserId {
    h.subject = upn.to_string();
    h.outputs.clear();
    if backup {
        done(h.step("backup", "onedrive.backup", json!({})).await);
    }
    let r = done(h.step("delete", "user.delete", delete_params).await);
    UserId::new(r.output["userId"].as_str().unwrap())
}

fn assert_no_damage(h: &Harness) {
    assert!(h.sim.damage().is_empty(), "damage: {:#?}", h.sim.damage());
}

fn upns(list: &Value) -> Vec<String> {
    let mut v: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["upn"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn report_warns_about_users_nearing_day_30_without_a_verified_backup() {
    let mut h = tenant();
    leave(&mut h, DANA, true, json!({})).await; // verified backup
    leave(&mut h, ERIN, false, json!({"onedrive": "none"})).await; // never backed up
    leave(&mut h, GUS, true, json!({})).await; // backed up, then the backup vanished
    let gus_backup =
        PathBuf::from(
            h.ledger.facts[&format!("backup/{}", h.outputs["delete"]["userId"].as_str().unwrap())]
                ["location"]
                .as_str()
                .unwrap(),
        );
    std::fs::remove_file(gus_backup.join("manifest.json")).unwrap();
    h.clock.advance(Duration::days(20));
    leave(&mut h, FINN, false, json!({})).await; // deleted recently

    // day 20 of the first three: outside the 5-day window
    h.subject = "tenant".into();
    let r = done(
        h.step("report", "deleted.report", json!({"warn_days": 5}))
            .await,
    );
    assert_eq!(r.output["deletedUsers"], 4);
    assert!(r.output["approaching"].as_array().unwrap().is_empty());
    assert!(r.emit.is_empty());

    // day 26 (Finn's day 6)
    h.clock.advance(Duration::days(6));
    let r = done(
        h.step("report", "deleted.report", json!({"warn_days": 5}))
            .await,
    );
    assert!(r.changed.is_empty());
    assert_eq!(upns(&r.output["approaching"]), vec![DANA, ERIN, GUS]);
    let backup_of = |upn: &str| {
        r.output["approaching"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["upn"] == upn)
            .unwrap()["backup"]
            .clone()
    };
    assert_eq!(backup_of(DANA), "verified");
    assert_eq!(backup_of(ERIN), "missing");
    assert_eq!(backup_of(GUS), "unverified");
    let mut warned: Vec<(String, String)> = r
        .emit
        .iter()
        .map(|e| {
            assert_eq!(e.kind, "retention.warning");
            for f in ["userId", "deletedDateTime", "purgeDate"] {
                assert!(!e.data[f].is_null(), "{f} missing in {}", e.data);
            }
            let deleted: chrono::DateTime<chrono::Utc> =
                serde_json::from_value(e.data["deletedDateTime"].clone()).unwrap();
            let purge: chrono::DateTime<chrono::Utc> =
                serde_json::from_value(e.data["purgeDate"].clone()).unwrap();
            assert_eq!(purge - deleted, Duration::days(30));
            (
                e.data["upn"].as_str().unwrap().to_string(),
                e.data["backup"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    warned.sort();
    assert_eq!(
        warned,
        vec![
            (ERIN.to_string(), "missing".to_string()),
            (GUS.to_string(), "unverified".to_string())
        ]
    );
    assert_no_damage(&h);
}

#[tokio::test]
async fn purge_comes_after_the_period_never_before_and_never_after_a_restore() {
    let mut h = tenant();
    let dana = leave(&mut h, DANA, true, json!({"purge_after_days": 7})).await;
    let erin = leave(
        &mut h,
        ERIN,
        false,
        json!({"purge_after_days": "3", "onedrive": "none"}),
    )
    .await;
    let gus = leave(&mut h, GUS, true, json!({"purge_after_days": 2})).await;
    // Hank's leaver asked for a backup (the default) that never happened.
    let hank = leave(&mut h, HANK, false, json!({"purge_after_days": 1})).await;
    let ivy = leave(
        &mut h,
        IVY,
        false,
        json!({"purge_after_days": 1, "onedrive": "none"}),
    )
    .await;
    assert_eq!(
        h.ledger
            .facts
            .keys()
            .filter(|k| k.starts_with("purge/"))
            .count(),
        5
    );
    assert_eq!(h.ledger.facts[&format!("purge/{dana}")]["upn"], DANA);

    // Gus is restored; Ivy restored and deleted again (not by a leaver asking for a purge).
    h.sim.restore_deleted_user(&gus).await.unwrap();
    h.sim.restore_deleted_user(&ivy).await.unwrap();
    h.clock.advance(Duration::hours(1));
    h.sim.delete_user(&ivy).await.unwrap();

    h.subject = "tenant".into();
    h.clock.advance(Duration::days(2) + Duration::hours(1));
    let r = done(h.step("purge", "deleted.purge", json!({})).await);
    assert!(upns(&r.output["purged"]).is_empty());
    assert_eq!(upns(&r.output["pending"]), vec![DANA, ERIN]);
    assert_eq!(upns(&r.output["refused"]), vec![HANK]);
    assert_eq!(upns(&r.output["dropped"]), vec![GUS, IVY]);
    let kinds: Vec<(String, String)> = r
        .emit
        .iter()
        .map(|e| {
            (
                e.data["upn"].as_str().unwrap().into(),
                e.data["kind"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert!(kinds.contains(&(HANK.into(), "purge-refused".into())));
    assert!(kinds.contains(&(IVY.into(), "purge-refused".into())));
    assert!(h.sim.user(GUS).is_some(), "the restored user is untouched");
    assert!(
        h.sim.deleted_user(IVY).is_some(),
        "the re-deleted user is not purged"
    );
    assert!(h.sim.deleted_user(HANK).is_some());
    for u in [&gus, &ivy] {
        assert!(!h.ledger.facts.contains_key(&format!("purge/{u}")));
    }
    assert!(h.ledger.facts.contains_key(&format!("purge/{hank}")));

    // day 3: Erin (no backup asked) goes; Dana still waits for her 7 days
    h.clock.advance(Duration::days(1));
    let r = done(h.step("purge", "deleted.purge", json!({})).await);
    assert_eq!(upns(&r.output["purged"]), vec![ERIN]);
    assert_eq!(r.changed.len(), 1);
    assert!(h.sim.deleted_user(ERIN).is_none() && h.sim.user(ERIN).is_none());
    assert!(h.sim.deleted_user(DANA).is_some());
    assert!(!h.ledger.facts.contains_key(&format!("purge/{erin}")));

    // day 7: Dana, whose backup is verified
    h.clock.advance(Duration::days(4));
    let r = done(h.step("purge", "deleted.purge", json!({})).await);
    assert_eq!(upns(&r.output["purged"]), vec![DANA]);
    assert!(h.sim.deleted_user(DANA).is_none() && h.sim.user(DANA).is_none());
    assert!(!h.ledger.facts.contains_key(&format!("purge/{dana}")));
    // a repeat has nothing left to purge; Hank stays refused
    let r = done(h.step("purge", "deleted.purge", json!({})).await);
    assert!(r.changed.is_empty());
    assert_eq!(upns(&r.output["refused"]), vec![HANK]);
    assert_no_damage(&h);
}

#[tokio::test]
async fn a_user_purged_by_someone_else_is_done_and_its_request_dropped() {
    let mut h = tenant();
    let erin = leave(
        &mut h,
        ERIN,
        false,
        json!({"purge_after_days": 0, "onedrive": "none"}),
    )
    .await;
    h.sim.purge_deleted_user(&erin).await.unwrap();
    h.subject = "tenant".into();
    let r = done(h.step("purge", "deleted.purge", json!({})).await);
    assert!(r.changed.is_empty());
    assert_eq!(upns(&r.output["dropped"]), vec![ERIN]);
    assert!(h.ledger.facts.is_empty());
    assert_no_damage(&h);
}

#[tokio::test]
async fn an_invalid_purge_after_days_fails_before_deleting() {
    let mut h = tenant();
    for bad in [json!(31), json!(-1), json!("soon"), json!(2.5)] {
        let o = h
            .step(
                "delete",
                "user.delete",
                json!({"purge_after_days": bad, "onedrive": "none"}),
            )
            .await;
        assert!(failed(&o).contains("purge_after_days"), "{o:?}");
        assert!(h.sim.user(DANA).is_some(), "nothing deleted for {bad}");
    }
}

#[tokio::test]
async fn backups_past_their_retention_are_deleted_and_nothing_else() {
    let mut h = tenant();
    h.subject = DANA.into();
    done(h.step("backup", "onedrive.backup", json!({})).await);
    let dana_dir = PathBuf::from(h.outputs["backup"]["manifest"].as_str().unwrap())
        .parent()
        .unwrap()
        .to_path_buf();
    let dana_id = h.outputs["backup"]["userId"].as_str().unwrap().to_string();
    h.clock.advance(Duration::days(200));
    h.subject = GUS.into();
    h.outputs.clear();
    done(h.step("backup", "onedrive.backup", json!({})).await);
    let gus_id = h.outputs["backup"]["userId"].as_str().unwrap().to_string();
    // things offboard did not write, and a backup in progress (no manifest yet)
    let root = h.env.backup_dir.clone();
    std::fs::create_dir_all(root.join("notes")).unwrap();
    std::fs::write(root.join("notes/readme.txt"), "keep me").unwrap();
    std::fs::create_dir_all(root.join("u-x/d-x/files")).unwrap();
    std::fs::write(root.join("u-x/d-x/files/part"), "partial").unwrap();

    h.clock.advance(Duration::days(166)); // Dana's backup is 366 days old, Gus's 166
    h.subject = "tenant".into();
    let r = done(
        h.step("backups", "backups.expire", json!({"retention": "365d"}))
            .await,
    );
    let removed = r.output["removed"].as_array().unwrap();
    assert_eq!(removed.len(), 1, "{}", r.output);
    assert_eq!(removed[0]["userId"], dana_id.as_str());
    // manifest, writes.log and the four files (48213 + 1000 + 0 + 1048576 bytes)
    assert!(r.output["bytesFreed"].as_u64().unwrap() >= 48213 + 1000 + 1048576);
    assert_eq!(r.output["kept"], 1);
    assert!(!dana_dir.exists());
    assert!(!h.ledger.facts.contains_key(&format!("backup/{dana_id}")));
    assert!(h.ledger.facts.contains_key(&format!("backup/{gus_id}")));
    assert!(root.join("notes/readme.txt").exists());
    assert!(root.join("u-x/d-x/files/part").exists());
    assert!(!root.join(".expired").exists());

    // a repeat removes nothing
    let again = done(
        h.step("backups", "backups.expire", json!({"retention": "365d"}))
            .await,
    );
    assert!(again.output["removed"].as_array().unwrap().is_empty());
    assert!(again.changed.is_empty());

    // a run interrupted after moving a backup aside is finished by the next one
    let left = root.join(".expired/u-y/d-y");
    std::fs::create_dir_all(left.join("files")).unwrap();
    std::fs::write(left.join("files/f"), vec![0u8; 123]).unwrap();
    let r = done(
        h.step("backups", "backups.expire", json!({"retention": "365d"}))
            .await,
    );
    assert_eq!(r.output["bytesFreed"], 123);
    assert!(!root.join(".expired").exists());

    let o = h
        .step("backups", "backups.expire", json!({"retention": "a year"}))
        .await;
    assert!(failed(&o).contains("retention"), "{o:?}");
    assert_no_damage(&h);
}

fn sweeps(env: &TestEnv) -> Vec<offboard::engine::RunRecord> {
    env.engine
        .list_runs(None, None, Some("retention-sweep"))
        .unwrap()
}

/// The next midnight (UTC) after the simulated now, plus a minute.
fn after_next_midnight(env: &TestEnv) -> chrono::DateTime<chrono::Utc> {
    use offboard::clock::Clock;
    let now = env.clock.now();
    (now.date_naive() + chrono::Days::new(1))
        .and_hms_opt(0, 1, 0)
        .unwrap()
        .and_utc()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_sweep_runs_once_per_period_and_once_after_downtime() {
    // with `seats_on_leave`, the leaver gives its seats back too (scheduled for the renewal)
    let env = TestEnv::start_configured(repo_workflows(), example_tenant(), None, None, |c| {
        c.step_env.seats.on_leave = true
    })
    .await;
    // the schedule is registered (the engine's own loop may have done it already)
    env.engine.fire_schedules().await.unwrap();
    let leaver = env
        .submit_one(
            "evt-leaver",
            "hr.leaver",
            "dana.lee@contoso.com",
            json!({"mailbox": "delete", "onedrive": "backup", "purgeAfterDays": 2}),
        )
        .await;
    env.settle().await;
    let run = env.engine.run_record(&leaver).unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.reason);
    let before = sweeps(&env).len();

    // one occurrence fired twice: one run
    env.clock.advance_to(after_next_midnight(&env));
    env.engine.fire_schedules().await.unwrap();
    env.engine.fire_schedules().await.unwrap();
    env.settle().await;
    let runs = sweeps(&env);
    assert_eq!(runs.len(), before + 1);
    let first = runs.last().unwrap();
    assert_eq!(first.status, RunStatus::Succeeded, "{:?}", first.reason);
    assert_eq!(first.subject, "tenant");
    assert_eq!(first.event.event_type, "ops.retention-sweep");
    let purge = |r: &offboard::engine::RunRecord| {
        r.steps
            .iter()
            .find(|s| s.id.as_str() == "purge")
            .unwrap()
            .output
            .clone()
    };
    assert_eq!(upns(&purge(first)["pending"]), vec!["dana.lee@contoso.com"]);
    // the leaver scheduled Dana's E3 seat for the renewal; inside the CSP window the sweep
    // gives back every spare seat at once
    let e3 = env.sim.sku("SPE_E3").unwrap();
    assert_eq!(e3.prepaid_units.enabled, e3.consumed_units);
    let seats = first
        .steps
        .iter()
        .find(|s| s.id.as_str() == "seats")
        .unwrap()
        .output
        .clone();
    let action = |part: &str| {
        seats["skus"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["skuPartNumber"] == part)
            .unwrap()["action"]
            .clone()
    };
    assert_eq!(action("SPE_E3"), "reduced");
    assert_eq!(action("POWER_BI_PRO"), "recommended");
    let outcomes = env.engine.store().outbox(10_000).unwrap();
    let recommendations: Vec<_> = outcomes
        .iter()
        .filter(|(_, o)| o.outcome_type == "seat.recommendation")
        .map(|(_, o)| (o.workflow.clone(), o.data["skuPartNumber"].clone()))
        .collect();
    assert!(
        recommendations.contains(&("leaver".into(), json!("POWER_BI_PRO")))
            && recommendations.contains(&("retention-sweep".into(), json!("POWER_BI_PRO"))),
        "{recommendations:?}"
    );

    // downtime: the engine is stopped while four midnights pass
    let dir = env.dir.clone();
    let sim = env.sim.clone();
    let keep = env.stop().await;
    sim.clock().advance(Duration::days(4));
    let env = TestEnv::start_in(&dir, repo_workflows(), sim).await;
    env.engine.fire_schedules().await.unwrap();
    env.engine.fire_schedules().await.unwrap();
    env.settle().await;
    let runs = sweeps(&env);
    assert_eq!(runs.len(), before + 2, "one run for the missed occurrences");
    let second = runs.last().unwrap();
    assert_eq!(second.status, RunStatus::Succeeded, "{:?}", second.reason);
    assert_eq!(second.event.data["missedOccurrences"], 3);
    assert_eq!(upns(&purge(second)["purged"]), vec!["dana.lee@contoso.com"]);
    assert!(env.sim.deleted_user("dana.lee@contoso.com").is_none());
    assert!(env.sim.user("dana.lee@contoso.com").is_none());
    assert!(
        env.sim.damage().is_empty(),
        "damage: {:#?}",
        env.sim.damage()
    );
    env.stop().await;
    drop(keep);
}

/// A disabled account behind a shared mailbox holding E3 directly, with `mailbox` settings.
fn shared(n: u32, name: &str, mailbox: Value) -> Value {
    let mut mb = json!({"type": "SharedMailbox", "sizeGb": 3.0});
    for (k, v) in mailbox.as_object().unwrap() {
        mb[k] = v.clone();
    }
    json!({
        "id": format!("00000000-0000-4000-8000-0000000001{n:02}"),
        "userPrincipalName": format!("{name}@contoso.com"), "displayName": name,
        "usageLocation": "US", "accountEnabled": false, "licenses": ["SPE_E3"], "mailbox": mb
    })
}

#[tokio::test]
async fn shared_mailboxes_give_back_licenses_they_do_not_need_r2() {
    let mut group_member = shared(7, "via-group", json!({}));
    group_member["licenses"] = json!([]);
    let mut enabled = shared(8, "signs-in", json!({}));
    enabled["accountEnabled"] = json!(true);
    let mut h = Harness::from_json(
        scenario(
            json!({}),
            vec![
                shared(1, "small", json!({})),
                shared(2, "big", json!({"sizeGb": 60.0})),
                shared(3, "archived", json!({"archive": true})),
                shared(4, "held", json!({"litigationHold": true})),
                shared(
                    5,
                    "forwards",
                    json!({"forwardingSmtpAddress": "smtp:sam.ortiz@contoso.com"}),
                ),
                json!({"id": "00000000-0000-4000-8000-000000000106",
                    "userPrincipalName": "nolicense@contoso.com", "displayName": "no license",
                    "accountEnabled": false, "mailbox": {"type": "SharedMailbox", "sizeGb": 1.0}}),
                group_member,
                enabled,
            ],
            vec![json!({"id": "5d1a7e02-96c4-4b3f-8e17-c2a9f0b6d4e8",
                "displayName": "Licensing - M365 E3", "licenses": ["SPE_E3"],
                "members": ["via-group@contoso.com"]})],
        ),
        "tenant",
    );
    h.subject = "tenant".into();
    let consumed = h.sim.sku("SPE_E3").unwrap().consumed_units;
    let r = done(h.step("shared", "shared.licenses", json!({})).await);
    assert_eq!(r.output["sharedMailboxes"], 8);
    assert_eq!(upns(&r.output["removed"]), vec!["small@contoso.com"]);
    assert_eq!(
        upns(&r.output["kept"]),
        vec![
            "archived@contoso.com",
            "big@contoso.com",
            "forwards@contoso.com",
            "held@contoso.com",
            "signs-in@contoso.com"
        ]
    );
    assert_eq!(upns(&r.output["inherited"]), vec!["via-group@contoso.com"]);
    assert_eq!(r.output["unlicensed"], 1);
    let held = |upn: &str| !h.sim.user(upn).unwrap().assigned_licenses.is_empty();
    assert!(!held("small@contoso.com"));
    for upn in [
        "big",
        "archived",
        "held",
        "forwards",
        "signs-in",
        "via-group",
    ] {
        assert!(
            held(&format!("{upn}@contoso.com")),
            "{upn} lost its license"
        );
    }
    assert!(
        h.sim.mailbox("small@contoso.com").is_some(),
        "the shared mailbox lives on unlicensed"
    );
    assert_eq!(h.sim.sku("SPE_E3").unwrap().consumed_units, consumed - 1);
    // a repeat changes nothing
    let again = done(h.step("shared", "shared.licenses", json!({})).await);
    assert!(again.changed.is_empty());
    assert_eq!(again.output["unlicensed"], 2);
    assert_no_damage(&h);
}
