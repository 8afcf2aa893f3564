//! Shared helpers of the step tests: a simulated tenant, a temporary backup folder and a
//! minimal run context that collects step outputs like the engine does.

use chrono::{DateTime, Utc};
use offboard::clock::{Clock, SimClock};
use offboard::event::CloudEvent;
use offboard::ids::{EventId, RunId};
use offboard::steps::{Action, MemoryLedger, StepContext, StepEnv, StepOutcome, StepReport};
use offboard::tenant::sim::{Scenario, SimTenant};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub const E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";
pub const EXO2: &str = "19ec0d23-8335-4cbd-94ac-6050e30712fa";
pub const PBI: &str = "f8a1db68-be16-40ed-86d5-cb42ce701560";
pub const DANA: &str = "dana.lee@contoso.com";
pub const SAM: &str = "sam.ortiz@contoso.com";

pub struct Harness {
    pub sim: SimTenant,
    pub clock: SimClock,
    pub env: StepEnv,
    pub tmp: tempfile::TempDir,
    pub subject: String,
    pub event: CloudEvent,
    pub outputs: BTreeMap<String, Value>,
    pub run_id: RunId,
    /// Earlier runs, facts and lines the steps see; facts written by done steps are added.
    pub ledger: MemoryLedger,
    /// The tenant steps call instead of `sim` (e.g. a [`super::Watched`] decorator).
    pub tenant: Option<std::sync::Arc<dyn offboard::tenant::Tenant>>,
}

impl Harness {
    pub fn new(scenario: Scenario, subject: &str) -> Self {
        let clock = SimClock::new();
        let sim = SimTenant::from_scenario(scenario, clock.clone()).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let env = StepEnv::new(tmp.path().join("backup"));
        let event = CloudEvent {
            specversion: "1.0".into(),
            id: EventId::new("evt-1"),
            source: "test".into(),
            event_type: "hr.leaver".into(),
            subject: subject.into(),
            time: clock.now(),
            datacontenttype: None,
            data: json!({}),
        };
        Harness {
            sim,
            clock,
            env,
            tmp,
            subject: subject.into(),
            event,
            outputs: BTreeMap::new(),
            run_id: RunId::new(),
            ledger: MemoryLedger::default(),
            tenant: None,
        }
    }

    pub fn from_json(v: Value, subject: &str) -> Self {
        Self::new(serde_json::from_value(v).unwrap(), subject)
    }

    pub fn example(subject: &str) -> Self {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tenant.json");
        Self::new(SimTenant::load_scenario(&path).unwrap(), subject)
    }

    /// Runs a step whose first attempt starts now.
    pub async fn step(&mut self, id: &str, action: &str, params: Value) -> StepOutcome {
        let now = self.clock.now();
        self.step_since(id, action, params, now).await
    }

    /// Runs a step whose first attempt started at `started`; a done step's output is kept.
    pub async fn step_since(
        &mut self,
        id: &str,
        action: &str,
        params: Value,
        started: DateTime<Utc>,
    ) -> StepOutcome {
        let action = Action::from_name(action).unwrap();
        let params: Map<String, Value> = params.as_object().cloned().unwrap_or_default();
        for k in params.keys() {
            assert!(
                action.params().contains(&k.as_str()),
                "{action} has no parameter {k}"
            );
        }
        let ctx = StepContext {
            run_id: self.run_id,
            step_id: id,
            attempt: 1,
            step_started_at: started,
            now: self.clock.now(),
            subject: &self.subject,
            event: &self.event,
            params: &params,
            outputs: &self.outputs,
            env: &self.env,
            ledger: &self.ledger,
        };
        let out = match &self.tenant {
            Some(t) => action.execute(&ctx, t.as_ref()).await,
            None => action.execute(&ctx, &self.sim).await,
        };
        // Waiting lines as the engine keeps them: set by a wait, kept by a retry, left when
        // the step ends.
        match &out {
            StepOutcome::WaitUntil { lines, .. } => {
                self.ledger.lines = lines.iter().cloned().collect();
            }
            StepOutcome::Retry { .. } => {}
            _ => self.ledger.lines.clear(),
        }
        if let StepOutcome::Done(r) = &out {
            self.outputs.insert(id.to_string(), r.output.clone());
            for f in &r.facts {
                match &f.value {
                    Some(v) => self.ledger.facts.insert(f.key.clone(), v.clone()),
                    None => self.ledger.facts.remove(&f.key),
                };
            }
        }
        out
    }
}

#[track_caller]
pub fn done(o: StepOutcome) -> StepReport {
    match o {
        StepOutcome::Done(r) => r,
        other => panic!("expected Done, got {other:?}"),
    }
}

#[track_caller]
pub fn blocked(o: &StepOutcome) -> &str {
    match o {
        StepOutcome::Blocked { reason } => reason,
        other => panic!("expected Blocked, got {other:?}"),
    }
}

#[track_caller]
pub fn failed(o: &StepOutcome) -> &str {
    match o {
        StepOutcome::Failed { reason } => reason,
        other => panic!("expected Failed, got {other:?}"),
    }
}

fn exchange_plan() -> Value {
    json!([{"servicePlanId": "efb87545-963c-4e0d-99df-69c6916d9eb0", "servicePlanName": "EXCHANGE_S_ENTERPRISE"}])
}

/// A small tenant: the leaver Dana (E3 direct, mailbox, OneDrive), her manager Sam, and
/// whatever `patch` sets on Dana's user entry (`null` removes a field). `extra` adds users
/// and groups.
pub fn scenario(patch: Value, extra_users: Vec<Value>, groups: Vec<Value>) -> Value {
    let mut dana = json!({
        "id": "3b9f6c1e-8a24-4d57-b0e3-6f2c91d4a8b5",
        "userPrincipalName": DANA, "displayName": "Dana Lee", "usageLocation": "US",
        "manager": SAM, "licenses": ["SPE_E3"],
        "mailbox": {"type": "UserMailbox", "sizeGb": 3.5},
        "drive": {"id": "b!dana", "files": [
            {"path": "Reports/q3.xlsx", "size": 48213},
            {"path": "Reports/2026/plan.docx", "size": 1000},
            {"path": "notes.txt", "size": 0},
            {"path": "big.bin", "size": 1048576}
        ], "folders": ["Empty folder"]}
    });
    for (k, v) in patch.as_object().cloned().unwrap_or_default() {
        if v.is_null() {
            dana.as_object_mut().unwrap().remove(&k);
        } else {
            dana[k] = v;
        }
    }
    let mut users = vec![
        dana,
        json!({"id": "a06d2f84-1c3b-4e9a-97d5-2b8e4f61c0d3", "userPrincipalName": SAM,
               "displayName": "Sam Ortiz", "usageLocation": "US", "licenses": ["SPE_E3"]}),
    ];
    users.extend(extra_users);
    json!({
        "tenant": "contoso.com",
        "groupLicensingDelaySeconds": 60,
        "skus": [
            {"skuId": E3, "skuPartNumber": "SPE_E3", "prepaidUnits": {"enabled": 50}, "servicePlans": [
                {"servicePlanId": "efb87545-963c-4e0d-99df-69c6916d9eb0", "servicePlanName": "EXCHANGE_S_ENTERPRISE"},
                {"servicePlanId": "5dbe027f-2339-4123-9542-606e4d348a72", "servicePlanName": "SHAREPOINTENTERPRISE"}]},
            {"skuId": EXO2, "skuPartNumber": "EXCHANGEENTERPRISE", "prepaidUnits": {"enabled": 10}, "servicePlans": exchange_plan()},
            {"skuId": PBI, "skuPartNumber": "POWER_BI_PRO", "prepaidUnits": {"enabled": 10},
             "servicePlans": [{"servicePlanId": "70d33638-9c74-4d01-bfd3-562de28bd4ba", "servicePlanName": "BI_AZURE_P2"}]}
        ],
        "users": users,
        "groups": groups
    })
}
