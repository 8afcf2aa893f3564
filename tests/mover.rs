//! The mover (`workflows/mover.toml`, `licenses.swap`) through the real engine and as a
//! single step: a direct swap is one assignLicense call that keeps the disabled plans that
//! still apply; a group swap joins the new group first and leaves the old one only once the
//! new license is active; without a free seat the mover waits in line holding the old
//! license. A decorator watches the user before and after every tenant call: never
//! unlicensed. Every run ends with zero damage records.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use offboard::engine::{RunRecord, RunStatus, StepStatus};
use offboard::ids::{GroupId, SkuId, UserId};
use offboard::steps::StepOutcome;
use offboard::tenant::sim::{Scenario, SimTenant};
use offboard::tenant::{AssignedLicense, MailboxType, Tenant, User};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const E5: &str = "06ebc4ee-1bb5-47dd-8120-11324bc54e06";
const EXCHANGE: &str = "efb87545-963c-4e0d-99df-69c6916d9eb0";
const SHAREPOINT: &str = "5dbe027f-2339-4123-9542-606e4d348a72";
const YAMMER: &str = "7547a3fe-08ee-4ccb-b430-5077c5041653";
const ATP: &str = "f20fedf3-f3c3-43c3-8267-2bfdd51c0939";
const G_E3: &str = "5d1a7e02-96c4-4b3f-8e17-c2a9f0b6d4e8";
const G_E5: &str = "6e2b8f13-a7d5-4c40-9f28-d3b0a1c7e5f9";
const G_E5_DYN: &str = "7f3c9024-b8e6-4d51-a039-e4c1b2d8f60a";
const MO: &str = "mo.direct@contoso.com";
const GUS: &str = "gus.group@contoso.com";
const MO_ID: &str = "00000000-0000-4000-8000-000000000001";
const GUS_ID: &str = "00000000-0000-4000-8000-000000000002";
const HOLDER_ID: &str = "00000000-0000-4000-8000-000000000009";
const NINA: &str = "nina.none@contoso.com";

fn plan(id: &str, name: &str) -> Value {
    json!({"servicePlanId": id, "servicePlanName": name})
}

/// E3 (50 seats) and E5 (`e5_seats`, `e5_held` of them by a licensed shared mailbox whose
/// license can go without harm); Mo holds E3 directly, Gus through 'Licensing - E3' (and,
/// with `gus_in_e5`, is already in 'Licensing - E5' too).
fn tenant(e5_seats: i64, e5_held: bool, gus_in_e5: bool) -> Scenario {
    let mut users = vec![
        json!({"id": MO_ID, "userPrincipalName": MO, "displayName": "Mo Direct", "usageLocation": "DE",
               "licenses": ["SPE_E3"]}),
        json!({"id": GUS_ID, "userPrincipalName": GUS, "displayName": "Gus Group", "usageLocation": "DE"}),
        json!({"id": "00000000-0000-4000-8000-000000000003", "userPrincipalName": NINA,
               "displayName": "Nina None", "usageLocation": "DE"}),
    ];
    if e5_held {
        users.push(json!({"id": HOLDER_ID, "userPrincipalName": "board@contoso.com", "displayName": "Board",
            "usageLocation": "DE", "accountEnabled": false, "licenses": ["SPE_E5"],
            "mailbox": {"type": "SharedMailbox", "sizeGb": 2.0}}));
    }
    let mut e5_members = Vec::new();
    if gus_in_e5 {
        e5_members.push(GUS);
    }
    serde_json::from_value(json!({
        "tenant": "contoso.com",
        "groupLicensingDelaySeconds": 60,
        "skus": [
            {"skuId": E3, "skuPartNumber": "SPE_E3", "prepaidUnits": {"enabled": 50},
             "servicePlans": [plan(EXCHANGE, "EXCHANGE_S_ENTERPRISE"), plan(SHAREPOINT, "SHAREPOINTENTERPRISE"),
                              plan(YAMMER, "YAMMER_ENTERPRISE")]},
            {"skuId": E5, "skuPartNumber": "SPE_E5", "prepaidUnits": {"enabled": e5_seats},
             "servicePlans": [plan(EXCHANGE, "EXCHANGE_S_ENTERPRISE"), plan(SHAREPOINT, "SHAREPOINTENTERPRISE"),
                              plan(ATP, "ATP_ENTERPRISE")]}
        ],
        "users": users,
        "groups": [
            {"id": G_E3, "displayName": "Licensing - E3", "licenses": ["SPE_E3"], "members": [GUS]},
            {"id": G_E5, "displayName": "Licensing - E5", "licenses": ["SPE_E5"], "members": e5_members},
            {"id": G_E5_DYN, "displayName": "E5 - dynamic", "groupTypes": ["DynamicMembership"],
             "membershipRule": "(user.jobTitle -eq \"Director\")", "licenses": ["SPE_E5"], "members": []}
        ]
    }))
    .unwrap()
}

fn sim(s: Scenario) -> SimTenant {
    SimTenant::from_scenario(s, offboard::clock::SimClock::new()).unwrap()
}

fn sku(id: &str) -> SkuId {
    SkuId::new(id)
}

fn state_of<'a>(u: &'a User, sku_id: &str) -> Vec<&'a offboard::tenant::LicenseAssignmentState> {
    u.license_assignment_states
        .iter()
        .filter(|s| s.sku_id.as_str() == sku_id)
        .collect()
}

/// Mo's E3 with SharePoint (also in E5) and Yammer (not in E5) switched off.
async fn disable_plans_on_e3(sim: &SimTenant) {
    sim.assign_license(
        &UserId::new(MO_ID),
        &[AssignedLicense {
            sku_id: sku(E3),
            disabled_plans: vec![SHAREPOINT.into(), YAMMER.into()],
        }],
        &[],
    )
    .await
    .unwrap();
}

fn group_data() -> Value {
    json!({"from": "SPE_E3", "to": "SPE_E5", "fromGroup": G_E3, "toGroup": G_E5})
}

fn swap_step(r: &RunRecord) -> &offboard::engine::StepState {
    r.steps.iter().find(|s| s.id.0 == "swap").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_mover_swaps_in_one_call_keeps_disabled_plans_and_is_never_unlicensed() {
    let sim = sim(tenant(10, false, false));
    disable_plans_on_e3(&sim).await;
    let (tenant, gaps) = never_unlicensed(&sim, MO);
    let env = TestEnv::start_with_tenant(repo_workflows(), sim, tenant).await;
    let run = env
        .submit_one(
            "m-mo",
            "hr.mover",
            MO,
            json!({"from": "SPE_E3", "to": "spe_e5"}),
        )
        .await;
    let r = env.advance_until(run, 10, |r| r.status.is_terminal()).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.reason);
    assert_eq!(
        env.sim.calls("assign_license"),
        1 + 1,
        "the setup and ONE swap call (R11)"
    );
    let mo = env.sim.user(MO).unwrap();
    assert!(state_of(&mo, E3).is_empty(), "{mo:?}");
    let e5 = state_of(&mo, E5);
    assert_eq!(e5.len(), 1);
    assert_eq!(e5[0].disabled_plans, vec![SHAREPOINT.to_string()]);
    let out = &swap_step(&r).output;
    assert_eq!(out["disabledPlansKept"], json!(["SHAREPOINTENTERPRISE"]));
    assert_eq!(out["disabledPlansDropped"], json!(["YAMMER_ENTERPRISE"]));
    assert_eq!(out["via"], json!("direct"));
    assert_eq!(
        env.sim.mailbox(MO).unwrap().recipient_type_details,
        MailboxType::UserMailbox
    );
    assert!(
        gaps.lock().unwrap().is_empty(),
        "unlicensed at {:?}",
        gaps.lock().unwrap()
    );
    assert!(env.sim.damage().is_empty(), "{:?}", env.sim.damage());
    env.stop().await;
}

/// Before and after every call: Gus's licenses as (E3 held, E5 held); plus moments without any.
type Trace = Arc<Mutex<Vec<(String, bool, bool)>>>;

fn traced(sim: &SimTenant, upn: &str) -> (Arc<dyn Tenant>, Trace) {
    let trace: Trace = Arc::default();
    let hook = |when: &'static str| -> Hook {
        let trace = trace.clone();
        let upn = upn.to_string();
        Arc::new(move |sim: SimTenant, name: &'static str| {
            let u = sim.user(&upn).unwrap();
            let holds = |s: &str| u.holds_sku(&sku(s));
            trace
                .lock()
                .unwrap()
                .push((format!("{when} {name}"), holds(E3), holds(E5)));
            Box::pin(async {}) as HookFuture
        })
    };
    let tenant = Watched {
        sim: sim.clone(),
        before: Some(hook("before")),
        after: Some(hook("after")),
    };
    (Arc::new(tenant), trace)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_mover_joins_the_new_group_first_and_leaves_the_old_once_the_new_license_is_active()
{
    let sim = sim(tenant(10, false, false));
    let (tenant, trace) = traced(&sim, GUS);
    let env = TestEnv::start_with_tenant(repo_workflows(), sim, tenant).await;
    let run = env.submit_one("m-gus", "hr.mover", GUS, group_data()).await;
    let r = env.advance_until(run, 40, |r| r.status.is_terminal()).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.reason);

    let trace = trace.lock().unwrap().clone();
    let gaps: Vec<_> = trace.iter().filter(|(_, e3, e5)| !e3 && !e5).collect();
    assert!(gaps.is_empty(), "unlicensed at {gaps:?}");
    let at = |call: &str| {
        trace
            .iter()
            .position(|(c, _, _)| c == call)
            .unwrap_or_else(|| panic!("no {call} in {trace:?}"))
    };
    assert!(at("before add_group_member") < at("before remove_group_member"));
    let (_, e3, e5) = &trace[at("before remove_group_member")];
    assert!(
        *e3 && *e5,
        "left the old group before the new license was active"
    );
    assert!(
        swap_step(&r).attempts >= 3,
        "waited for group licensing twice"
    );

    let gus = env.sim.user(GUS).unwrap();
    assert!(state_of(&gus, E3).is_empty(), "{gus:?}");
    let e5 = state_of(&gus, E5);
    assert_eq!(e5.len(), 1);
    assert_eq!(
        e5[0].assigned_by_group.as_ref().map(GroupId::as_str),
        Some(G_E5)
    );
    assert_eq!(e5[0].state, "Active");
    assert!(
        !env.sim
            .group_members(&GroupId::new(G_E3))
            .contains(&UserId::new(GUS_ID))
    );
    assert_eq!(swap_step(&r).output["via"], json!("group"));
    assert_eq!(
        env.sim.calls("assign_license"),
        0,
        "group-based: no direct license"
    );
    assert!(env.sim.damage().is_empty(), "{:?}", env.sim.damage());
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mover_without_a_free_seat_waits_in_line_with_the_old_license_then_swaps() {
    let sim = sim(tenant(1, true, false));
    let (tenant, gaps) = never_unlicensed(&sim, MO);
    let env = TestEnv::start_with_tenant(repo_workflows(), sim, tenant).await;
    let run = env
        .submit_one(
            "m-mo",
            "hr.mover",
            MO,
            json!({"from": "SPE_E3", "to": "SPE_E5"}),
        )
        .await;
    let waiting = env
        .wait_for(run, |r| {
            r.status == RunStatus::Waiting && r.lines == vec![format!("seat/{E5}")]
        })
        .await;
    assert_eq!(swap_step(&waiting).status, StepStatus::Waiting);
    let shortage = env.outcomes("seat.shortage");
    assert_eq!(shortage.len(), 1, "{shortage:?}");
    assert_eq!(shortage[0].subject, MO);
    assert_eq!(
        shortage[0].data,
        json!({"sku": E5, "skuPartNumber": "SPE_E5", "enabled": 1, "consumed": 1, "waiting": 1, "step": "swap"})
    );
    assert!(
        env.sim.user(MO).unwrap().holds_sku(&sku(E3)),
        "from stays while waiting"
    );
    assert_eq!(env.sim.calls("assign_license"), 0);

    // the board mailbox's E5 goes (a shared mailbox under 50 GB needs none, R2)
    env.sim
        .assign_license(&UserId::new(HOLDER_ID), &[], &[sku(E5)])
        .await
        .unwrap();
    let r = env.advance_until(run, 5, |r| r.status.is_terminal()).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.reason);
    let mo = env.sim.user(MO).unwrap();
    assert!(mo.holds_sku(&sku(E5)) && !mo.holds_sku(&sku(E3)));
    assert_eq!(env.outcomes("seat.shortage").len(), 1);
    assert!(
        gaps.lock().unwrap().is_empty(),
        "unlicensed at {:?}",
        gaps.lock().unwrap()
    );
    assert!(env.sim.damage().is_empty(), "{:?}", env.sim.damage());
    env.stop().await;
}

// ---- single steps ----

fn direct() -> Value {
    json!({"from": "SPE_E3", "to": "SPE_E5"})
}

fn grouped() -> Value {
    json!({"from": "SPE_E3", "to": "SPE_E5", "from_group": G_E3, "to_group": G_E5})
}

/// Runs the step until it is done or stops, moving the clock to each wait's end.
async fn until_done(h: &mut Harness, params: Value) -> StepOutcome {
    let started = offboard::clock::Clock::now(&h.clock);
    for _ in 0..50 {
        let out = h
            .step_since("swap", "licenses.swap", params.clone(), started)
            .await;
        match out {
            StepOutcome::WaitUntil { until, .. } => h.clock.advance_to(until),
            other => return other,
        }
    }
    panic!("licenses.swap keeps waiting");
}

#[tokio::test]
async fn a_direct_swap_repeated_after_a_crash_changes_nothing() {
    let mut h = Harness::new(tenant(10, false, false), MO);
    disable_plans_on_e3(&h.sim).await;
    let first = done(h.step("swap", "licenses.swap", direct()).await);
    assert_eq!(first.changed.len(), 1, "{:?}", first.changed);
    assert!(first.changed[0].contains("one call"));
    let again = done(h.step("swap", "licenses.swap", direct()).await);
    assert!(again.changed.is_empty(), "{:?}", again.changed);
    assert_eq!(
        again.output["disabledPlansKept"],
        json!(["SHAREPOINTENTERPRISE"])
    );
    assert_eq!(h.sim.calls("assign_license"), 2, "setup + one swap");
    assert!(h.sim.damage().is_empty(), "{:?}", h.sim.damage());
}

#[tokio::test]
async fn a_group_swap_interrupted_and_repeated_adds_once_and_ends_on_the_new_group() {
    let mut h = Harness::new(tenant(10, false, false), GUS);
    let (tenant, gaps) = never_unlicensed(&h.sim, GUS);
    h.tenant = Some(tenant);
    // the first attempt joins the new group and waits ...
    let out = h.step("swap", "licenses.swap", grouped()).await;
    let StepOutcome::WaitUntil { changed, lines, .. } = out else {
        panic!("{out:?}")
    };
    assert!(changed[0].contains("Licensing - E5"), "{changed:?}");
    assert_eq!(
        lines,
        vec![format!("seat/{E5}")],
        "keeps its place until the seat is taken"
    );
    // ... a crash: the step runs again at once and only waits
    let out = h.step("swap", "licenses.swap", grouped()).await;
    assert!(
        matches!(&out, StepOutcome::WaitUntil { changed, .. } if changed.is_empty()),
        "{out:?}"
    );
    let r = done(until_done(&mut h, grouped()).await);
    assert_eq!(h.sim.calls("add_group_member"), 1);
    assert_eq!(h.sim.calls("remove_group_member"), 1);
    let again = done(h.step("swap", "licenses.swap", grouped()).await);
    assert!(again.changed.is_empty());
    assert_eq!(r.output["to"]["skuPartNumber"], json!("SPE_E5"));
    assert!(
        gaps.lock().unwrap().is_empty(),
        "unlicensed at {:?}",
        gaps.lock().unwrap()
    );
    assert!(h.sim.damage().is_empty(), "{:?}", h.sim.damage());
}

#[tokio::test]
async fn a_count_violation_on_the_new_group_waits_for_a_seat_then_reprocesses() {
    // Gus is already in 'Licensing - E5', whose only seat the board mailbox holds
    let mut h = Harness::new(tenant(1, true, true), GUS);
    let gus = h.sim.user(GUS).unwrap();
    assert_eq!(
        state_of(&gus, E5)[0].error.as_deref(),
        Some("CountViolation")
    );
    let (tenant, gaps) = never_unlicensed(&h.sim, GUS);
    h.tenant = Some(tenant);
    let out = h.step("swap", "licenses.swap", grouped()).await;
    let StepOutcome::WaitUntil { emit, lines, .. } = &out else {
        panic!("{out:?}")
    };
    assert_eq!(emit.len(), 1, "{out:?}");
    assert_eq!(emit[0].kind, "seat.shortage");
    assert_eq!(lines, &vec![format!("seat/{E5}")]);
    assert_eq!(h.sim.calls("reprocess_license_assignment"), 0);

    h.sim
        .assign_license(&UserId::new(HOLDER_ID), &[], &[sku(E5)])
        .await
        .unwrap();
    let out = h.step("swap", "licenses.swap", grouped()).await;
    let StepOutcome::WaitUntil { changed, emit, .. } = &out else {
        panic!("{out:?}")
    };
    assert!(emit.is_empty());
    assert!(changed[0].contains("process"), "{changed:?}");
    assert_eq!(h.sim.calls("reprocess_license_assignment"), 1);
    done(until_done(&mut h, grouped()).await);
    let gus = h.sim.user(GUS).unwrap();
    assert!(
        gus.holds_sku(&sku(E5)) && !gus.holds_sku(&sku(E3)),
        "{gus:?}"
    );
    assert!(
        gaps.lock().unwrap().is_empty(),
        "unlicensed at {:?}",
        gaps.lock().unwrap()
    );
    assert!(h.sim.damage().is_empty(), "{:?}", h.sim.damage());
}

#[tokio::test]
async fn holding_to_already_only_removes_from_and_holding_neither_fails() {
    let mut h = Harness::new(tenant(10, false, false), MO);
    let mo = UserId::new(MO_ID);
    let e5 = AssignedLicense {
        sku_id: sku(E5),
        disabled_plans: vec![],
    };
    h.sim.assign_license(&mo, &[e5], &[]).await.unwrap();
    let r = done(h.step("swap", "licenses.swap", direct()).await);
    assert_eq!(
        r.changed,
        vec![format!("removed the direct license SPE_E3 from {MO}")]
    );
    assert_eq!(h.sim.calls("assign_license"), 2);
    let again = done(h.step("swap", "licenses.swap", direct()).await);
    assert!(
        again.changed.is_empty(),
        "already on `to`, not on `from`: done"
    );

    assert!(h.sim.damage().is_empty(), "{:?}", h.sim.damage());

    let mut h = Harness::new(tenant(10, false, false), NINA);
    let out = h.step("swap", "licenses.swap", direct()).await;
    let reason = failed(&out);
    assert!(
        reason.contains("neither") && reason.contains(NINA),
        "{reason}"
    );
    assert_eq!(h.sim.calls("assign_license"), 0);
}

#[tokio::test]
async fn a_swap_refuses_what_it_cannot_do_before_changing_anything() {
    let mut h = Harness::new(tenant(10, false, false), GUS);
    let dynamic =
        json!({"from": "SPE_E3", "to": "SPE_E5", "from_group": G_E3, "to_group": G_E5_DYN});
    let reason = blocked(&h.step("swap", "licenses.swap", dynamic).await).to_string();
    assert!(
        reason.contains("E5 - dynamic") && reason.contains("dynamic membership"),
        "{reason}"
    );
    let wrong = json!({"from": "SPE_E3", "to": "SPE_E5", "from_group": G_E5, "to_group": G_E5});
    assert!(
        failed(&h.step("swap", "licenses.swap", wrong).await).contains("does not assign SPE_E3")
    );
    let unknown = json!({"from": "SPE_E3", "to": "SPE_E7"});
    let out = h.step("swap", "licenses.swap", unknown).await;
    let reason = failed(&out);
    assert!(
        reason.contains("SPE_E7") && reason.contains("SPE_E3, SPE_E5"),
        "{reason}"
    );
    assert!(
        failed(
            &h.step("swap", "licenses.swap", json!({"from": "SPE_E3"}))
                .await
        )
        .contains("`to`")
    );
    // Gus's E3 comes from a group the event did not name: it could never go, so nothing starts
    let reason = blocked(&h.step("swap", "licenses.swap", direct()).await).to_string();
    assert!(
        reason.contains("'Licensing - E3'") && reason.contains("fromGroup"),
        "{reason}"
    );
    let gus = h.sim.user(GUS).unwrap();
    assert!(gus.holds_sku(&sku(E3)) && !gus.holds_sku(&sku(E5)));
    assert_eq!(
        h.sim.calls("add_group_member") + h.sim.calls("remove_group_member"),
        0
    );
    assert_eq!(h.sim.calls("assign_license"), 0);
    assert!(h.sim.damage().is_empty(), "{:?}", h.sim.damage());
}
