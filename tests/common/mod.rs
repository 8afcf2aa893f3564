//! Shared test helpers: a `TestEnv` with a temporary store, a simulated tenant and a running
//! engine.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

mod harness;
mod watched;
#[allow(unused_imports)]
pub use harness::*;
#[allow(unused_imports)]
pub use watched::*;

use offboard::clock::SimClock;
use offboard::engine::{Engine, EngineConfig, Registry, RunRecord, RunStatus};
use offboard::event::CloudEvent;
use offboard::ids::RunId;
use offboard::steps::StepEnv;
use offboard::store::Store;
use offboard::tenant::Tenant;
use offboard::tenant::sim::{Scenario, SimTenant};
use offboard::workflow::Workflow;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

pub fn repo_workflows() -> Vec<Workflow> {
    offboard::workflow::load_dir(&Path::new(ROOT).join("workflows")).unwrap()
}

pub fn workflow(text: &str) -> Workflow {
    offboard::workflow::parse(Path::new("test.toml"), text)
        .unwrap_or_else(|p| panic!("test workflow invalid: {p:?}"))
}

pub fn example_scenario() -> Scenario {
    SimTenant::load_scenario(&Path::new(ROOT).join("examples/tenant.json")).unwrap()
}

pub fn example_tenant() -> SimTenant {
    SimTenant::from_scenario(example_scenario(), SimClock::new()).unwrap()
}

pub fn event(id: &str, kind: &str, subject: &str, data: Value) -> CloudEvent {
    CloudEvent::from_value(json!({
        "specversion": "1.0", "id": id, "source": "tests", "type": kind,
        "subject": subject, "time": "2026-11-01T09:00:00Z", "data": data}))
    .unwrap()
}

pub struct TestEnv {
    pub engine: Engine,
    pub sim: SimTenant,
    pub clock: SimClock,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    stop: watch::Sender<bool>,
    runner: Option<JoinHandle<()>>,
}

impl TestEnv {
    pub async fn start(workflows: Vec<Workflow>, sim: SimTenant) -> TestEnv {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let mut env = Self::start_in(&dir, workflows, sim).await;
        env._tmp = Some(tmp);
        env
    }

    /// An engine whose steps call `tenant` (e.g. a decorator around `sim` that watches every
    /// call); `sim` stays the inspection handle.
    pub async fn start_with_tenant(
        workflows: Vec<Workflow>,
        sim: SimTenant,
        tenant: Arc<dyn Tenant>,
    ) -> TestEnv {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let mut env = Self::start_on(&dir, workflows, sim, tenant, |_| {}).await;
        env._tmp = Some(tmp);
        env
    }

    /// An engine with guardrails or other settings changed by `configure`, calling `tenant`
    /// (the sim itself when `None`), on `dir` when given (a restart) or a new directory.
    pub async fn start_configured(
        workflows: Vec<Workflow>,
        sim: SimTenant,
        tenant: Option<Arc<dyn Tenant>>,
        dir: Option<&Path>,
        configure: impl FnOnce(&mut EngineConfig),
    ) -> TestEnv {
        let tenant = tenant.unwrap_or_else(|| Arc::new(sim.clone()));
        match dir {
            Some(d) => Self::start_on(d, workflows, sim, tenant, configure).await,
            None => {
                let tmp = tempfile::tempdir().unwrap();
                let d = tmp.path().to_path_buf();
                let mut env = Self::start_on(&d, workflows, sim, tenant, configure).await;
                env._tmp = Some(tmp);
                env
            }
        }
    }

    /// An engine on an existing data directory (a restart).
    pub async fn start_in(dir: &Path, workflows: Vec<Workflow>, sim: SimTenant) -> TestEnv {
        let tenant: Arc<dyn Tenant> = Arc::new(sim.clone());
        Self::start_on(dir, workflows, sim, tenant, |_| {}).await
    }

    async fn start_on(
        dir: &Path,
        workflows: Vec<Workflow>,
        sim: SimTenant,
        tenant: Arc<dyn Tenant>,
        configure: impl FnOnce(&mut EngineConfig),
    ) -> TestEnv {
        let store = Store::open(dir).unwrap();
        let clock = sim.clock();
        let mut config = EngineConfig::new(StepEnv::new(dir.join("backups")));
        configure(&mut config);
        let engine = Engine::new(
            store,
            Registry::new(workflows),
            tenant,
            Arc::new(clock.clone()),
            config,
        );
        let (stop, mut rx) = watch::channel(false);
        let runner = {
            let engine = engine.clone();
            tokio::spawn(async move {
                engine
                    .run(async move {
                        let _ = rx.wait_for(|s| *s).await;
                    })
                    .await
                    .unwrap();
            })
        };
        TestEnv {
            engine,
            sim,
            clock,
            dir: dir.to_path_buf(),
            _tmp: None,
            stop,
            runner: Some(runner),
        }
    }

    /// Submits an event that starts exactly one run and returns the run's id.
    pub async fn submit_one(&self, id: &str, kind: &str, subject: &str, data: Value) -> RunId {
        let s = self
            .engine
            .submit(event(id, kind, subject, data))
            .await
            .unwrap();
        assert_eq!(s.runs.len(), 1, "event {id} started {} runs", s.runs.len());
        s.runs[0]
    }

    /// Runs until every run has ended, moving the simulated clock past waits.
    pub async fn settle(&self) {
        tokio::time::timeout(
            Duration::from_secs(60),
            offboard::cli::demo::drive_to_end(&self.engine, &self.clock, &self.sim, true),
        )
        .await
        .expect("runs did not settle within 60 s")
        .unwrap();
    }

    /// Moves the clock past waits until the run waits for an approval.
    pub async fn settle_until_approval(&self, run: offboard::ids::RunId) -> RunRecord {
        for _ in 0..400 {
            let r = self.engine.run_record(&run).unwrap();
            if r.wait_reason == Some(offboard::engine::WaitReason::Approval) {
                return r;
            }
            if let Some(due) = self.engine.next_timer_ms().unwrap() {
                self.clock
                    .advance_to(chrono::DateTime::from_timestamp_millis(due as i64 + 1).unwrap());
                self.engine.poke_timers();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("run {run} never asked for an approval");
    }

    /// Waits (without moving the clock) until `pred` holds for the run.
    pub async fn wait_for(
        &self,
        run: offboard::ids::RunId,
        pred: impl Fn(&RunRecord) -> bool,
    ) -> RunRecord {
        for _ in 0..2000 {
            let r = self.engine.run_record(&run).unwrap();
            if pred(&r) {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!(
            "run {run} never reached the expected state: {:?}",
            self.engine.run_record(&run).unwrap()
        );
    }

    pub async fn wait_status(&self, run: offboard::ids::RunId, status: RunStatus) -> RunRecord {
        self.wait_for(run, |r| r.status == status).await
    }

    /// Moves the clock from timer to timer (whenever the engine is idle) until `pred` holds
    /// for the run; panics after `max_jumps` clock moves.
    pub async fn advance_until(
        &self,
        run: offboard::ids::RunId,
        max_jumps: usize,
        pred: impl Fn(&RunRecord) -> bool,
    ) -> RunRecord {
        let mut jumps = 0;
        let mut idle = 0;
        loop {
            let r = self.engine.run_record(&run).unwrap();
            if pred(&r) {
                return r;
            }
            idle = if self.engine.is_quiescent().unwrap() {
                idle + 1
            } else {
                0
            };
            if idle >= 3 {
                idle = 0;
                if let Some(due) = self.engine.next_timer_ms().unwrap() {
                    assert!(
                        jumps < max_jumps,
                        "run {run} not in the expected state after {jumps} clock moves: {r:?}"
                    );
                    jumps += 1;
                    self.clock.advance_to(
                        chrono::DateTime::from_timestamp_millis(due as i64 + 1).unwrap(),
                    );
                    self.engine.poke_timers();
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Outcome events still in the outbox (no publisher runs in tests) of type `kind`.
    pub fn outcomes(&self, kind: &str) -> Vec<offboard::engine::Outcome> {
        self.engine
            .store()
            .outbox(100_000)
            .unwrap()
            .into_iter()
            .map(|(_, o)| o)
            .filter(|o| o.outcome_type == kind)
            .collect()
    }

    /// Stops the engine (as on shutdown) and keeps the data directory.
    pub async fn stop(mut self) -> Option<tempfile::TempDir> {
        let _ = self.stop.send(true);
        if let Some(r) = self.runner.take() {
            r.await.unwrap();
        }
        self._tmp.take()
    }
}
