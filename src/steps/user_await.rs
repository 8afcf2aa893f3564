//! `user.await`: waits until the joiner's account exists. Accounts synced from on-premises AD
//! appear in Entra only after the next sync, so `NotFound` is not an error here: look again
//! with exponential backoff (30 s doubling, capped at 10 min) until `give_up_after` (default
//! 4 h, measured from the step's first attempt), then fail with what to check. Read-only.

use super::subject::base_output;
use super::{StepContext, StepOutcome, StepPlan, StepReport};
use crate::tenant::{ErrorKind, Tenant};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

pub const PARAMS: &[&str] = &["give_up_after"];

const DEFAULT_GIVE_UP: &str = "4h";
const FIRST_DELAY_SECS: i64 = 30;
const MAX_DELAY_SECS: i64 = 600;

/// The next look: as long after now as the step has waited so far (so the delay doubles),
/// at least 30 s, at most 10 min, never past the give-up instant.
fn next_look(
    started: DateTime<Utc>,
    now: DateTime<Utc>,
    give_up_at: DateTime<Utc>,
) -> DateTime<Utc> {
    // whole seconds, rounded (clocks tick in milliseconds)
    let waited = ((now - started).num_milliseconds().max(0) + 500) / 1000;
    let delay = waited.clamp(FIRST_DELAY_SECS, MAX_DELAY_SECS);
    (now + Duration::seconds(delay)).min(give_up_at)
}

fn human(d: Duration) -> String {
    humantime::format_duration(std::time::Duration::from_secs(d.num_seconds().max(0) as u64))
        .to_string()
}

pub async fn run(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepOutcome {
    let limit_text = ctx.param_str("give_up_after").unwrap_or(DEFAULT_GIVE_UP);
    let limit = match humantime::parse_duration(limit_text)
        .ok()
        .and_then(|d| Duration::from_std(d).ok())
    {
        Some(d) => d,
        None => {
            return StepOutcome::failed(format!(
                "user.await: parameter `give_up_after` = `{limit_text}` is not a duration (e.g. \"4h\", \"90m\")"
            ));
        }
    };
    let subject = ctx.subject;
    match tenant.get_user(subject).await {
        Ok(user) => {
            let waited = ctx.now - ctx.step_started_at;
            StepOutcome::Done(StepReport {
                observed: json!({"found": true, "attempt": ctx.attempt,
                    "waitedSeconds": waited.num_seconds().max(0)}),
                changed: Vec::new(),
                verified: json!({"userId": user.id, "upn": user.user_principal_name}),
                output: Value::Object(base_output(&user)),
                ..StepReport::default()
            })
        }
        Err(e) if e.kind == ErrorKind::NotFound => {
            let give_up_at = ctx.step_started_at + limit;
            if ctx.now >= give_up_at {
                return StepOutcome::failed(format!(
                    "the account {subject} did not appear in the tenant: looked for it {} times over {} \
                     (since {}, limit give_up_after = {limit_text}). If it is created in on-premises AD, \
                     check that it is in a synced OU and that Entra Connect / AD sync runs without errors; \
                     check the UPN in the event. Then restart this step",
                    ctx.attempt,
                    human(ctx.now - ctx.step_started_at),
                    ctx.step_started_at.format("%Y-%m-%d %H:%M UTC"),
                ));
            }
            let until = next_look(ctx.step_started_at, ctx.now, give_up_at);
            StepOutcome::wait(
                until,
                format!(
                    "the account {subject} does not exist yet (accounts synced from AD appear after the next sync); \
                     looking again at {}, giving up at {}",
                    until.format("%H:%M:%S UTC"),
                    give_up_at.format("%Y-%m-%d %H:%M UTC")
                ),
            )
        }
        Err(e) => StepOutcome::from_error(&format!("looking up the account {subject}"), e),
    }
}

/// Whether the account exists now, or that the run would wait for it.
pub async fn plan(ctx: &StepContext<'_>, tenant: &dyn Tenant) -> StepPlan {
    let limit = ctx.param_str("give_up_after").unwrap_or(DEFAULT_GIVE_UP);
    match tenant.get_user(ctx.subject).await {
        Ok(u) => StepPlan::doing(format!(
            "nothing to wait for: the account {} exists",
            u.user_principal_name
        )),
        Err(e) if e.kind == ErrorKind::NotFound => {
            let mut p = StepPlan::doing(format!(
                "wait for the account {} to appear (looking again with a growing delay, giving up after {limit})",
                ctx.subject
            ));
            p.warn(format!(
                "the account {} does not exist yet: the later steps are planned without it",
                ctx.subject
            ));
            p
        }
        Err(e) => {
            let doing = format!("looking up the account {}", ctx.subject);
            StepPlan::stopped("cannot-read", StepOutcome::from_error(&doing, e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_again_with_a_doubling_delay_capped_at_ten_minutes_and_the_limit() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let limit = t0 + Duration::hours(4);
        let mut now = t0;
        let mut delays = Vec::new();
        for _ in 0..8 {
            let next = next_look(t0, now, limit);
            delays.push((next - now).num_seconds());
            now = next;
        }
        assert_eq!(delays, vec![30, 30, 60, 120, 240, 480, 600, 600]);
        let late = t0 + Duration::hours(4) - Duration::seconds(5);
        assert_eq!(next_look(t0, late, limit), limit);
    }
}
