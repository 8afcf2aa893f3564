//! The demo's closing report: per user what was done, what was blocked and why, and the
//! damage the simulated tenant recorded (must be none).

use crate::engine::{Engine, RunRecord, RunStatus};
use crate::tenant::sim::Damage;
use anyhow::Context;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Expected {
    pub status: RunStatus,
    /// A phrase the run's reason must contain.
    #[serde(default)]
    pub reason_contains: Option<String>,
}

/// Expected end states by event id; events not listed are expected to succeed.
#[derive(Debug, Default)]
pub struct Expectations(BTreeMap<String, Expected>);

impl Expectations {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        if !path.exists() {
            return Ok(Self::default());
        }
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let map = serde_json::from_str(&text).with_context(|| format!("{}", path.display()))?;
        Ok(Expectations(map))
    }

    fn expected(&self, run: &RunRecord) -> Expected {
        self.0
            .get(run.event.id.as_str())
            .cloned()
            .unwrap_or(Expected {
                status: RunStatus::Succeeded,
                reason_contains: None,
            })
    }

    /// One line per run whose end state differs from the expectation.
    pub fn check(&self, engine: &Engine) -> anyhow::Result<Vec<String>> {
        let mut out = Vec::new();
        for run in engine.list_runs(None, None, None)? {
            let exp = self.expected(&run);
            let reason = run.reason.clone().unwrap_or_default();
            let reason_ok = exp
                .reason_contains
                .as_ref()
                .is_none_or(|p| reason.to_lowercase().contains(&p.to_lowercase()));
            if run.status != exp.status || !reason_ok {
                out.push(format!(
                    "{} ({}): ended {} but {} was expected{}{}",
                    run.subject,
                    run.event.id,
                    run.status,
                    exp.status,
                    exp.reason_contains
                        .as_ref()
                        .map(|p| format!(" with a reason mentioning \"{p}\""))
                        .unwrap_or_default(),
                    if reason.is_empty() {
                        String::new()
                    } else {
                        format!("; reason: {reason}")
                    }
                ));
            }
        }
        Ok(out)
    }
}

/// Prints the report to stdout; returns whether everything was as expected.
pub fn report(
    engine: &Engine,
    damage: &[Damage],
    expectations: &Expectations,
    outcomes: &Path,
) -> anyhow::Result<bool> {
    let runs = engine.list_runs(None, None, None)?;
    println!("\n== offboard demo report ==\n");
    for run in &runs {
        let view = engine.run_view(&run.id)?;
        println!(
            "{}  [{} v{}]  {}",
            run.subject, run.workflow, run.workflow_version, run.status
        );
        for a in &view.journal {
            let changed = a
                .attempt
                .report
                .get("changed")
                .and_then(|c| c.as_array())
                .cloned()
                .unwrap_or_default();
            for c in changed {
                if let Some(c) = c.as_str() {
                    println!("    - {}: {c}", a.attempt.step);
                }
            }
        }
        for st in &run.steps {
            if st.status == crate::engine::StepStatus::Skipped {
                continue;
            }
            if let Some(m) = &st.message
                && st.status != crate::engine::StepStatus::Succeeded
            {
                println!("    ! {} ({:?}): {m}", st.id, st.status);
            }
        }
        if let Some(r) = &run.reason {
            println!("    reason: {r}");
        }
    }
    let failures = expectations.check(engine)?;
    println!(
        "\nDamage recorded by the simulated tenant: {}",
        damage.len()
    );
    for d in damage {
        println!(
            "    {} {} {}: {}",
            d.at.format("%Y-%m-%d %H:%M"),
            d.rule,
            d.user,
            d.what
        );
    }
    println!("Outcome events written to {}", outcomes.display());
    if failures.is_empty() {
        println!("Every run ended as expected.");
    } else {
        println!("Unexpected end states:");
        for f in &failures {
            println!("    {f}");
        }
    }
    Ok(failures.is_empty() && damage.is_empty())
}
