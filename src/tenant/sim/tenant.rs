//! [`SimTenant`]: the shared handle (state behind one `std::sync::Mutex`, never held across
//! an await), its constructors, the per-call wrapper (counters, lazy settling, faults,
//! request ids, write-through) and the inspection API tests use.

use super::damage::Damage;
use super::faults::{self, Fault, FaultState, SimFaults};
use super::scenario::Scenario;
use super::state::State;
use super::{SimError, persist, seed};
use crate::clock::{Clock, SimClock};
use crate::ids::{DriveId, GroupId, UserId};
use crate::tenant::{
    CompanySubscription, DeletedUser, Mailbox, PartnerSubscription, Sku, TenantError, TenantResult,
    User,
};
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

struct Core {
    state: State,
    faults: FaultState,
}

struct Inner {
    core: Mutex<Core>,
    clock: SimClock,
    state_path: Option<PathBuf>,
}

/// Microsoft 365 in memory. Cheap to clone; clones share the tenant.
#[derive(Clone)]
pub struct SimTenant {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SimTenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimTenant")
            .field("state_path", &self.inner.state_path)
            .finish_non_exhaustive()
    }
}

/// Whether an operation changes the tenant (and so must be written through).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Read,
    Write,
}

impl SimTenant {
    fn build(state: State, clock: SimClock, state_path: Option<PathBuf>) -> Self {
        SimTenant {
            inner: Arc::new(Inner {
                core: Mutex::new(Core {
                    state,
                    faults: FaultState::default(),
                }),
                clock,
                state_path,
            }),
        }
    }

    /// A tenant seeded from `s`; fails when the scenario references something it lacks.
    pub fn from_scenario(s: Scenario, clock: SimClock) -> Result<Self, SimError> {
        let state = seed::seed(s, clock.now())?;
        Ok(Self::build(state, clock, None))
    }

    pub fn load_scenario(path: &Path) -> Result<Scenario, SimError> {
        super::persist::read_json(path)
    }

    /// Loads `state_path` if it exists (clock offset restored into a new SimClock), else seeds
    /// from `scenario` and writes it; from then on every mutation is written through.
    pub fn persistent(state_path: &Path, scenario: Scenario) -> Result<Self, SimError> {
        if state_path.exists() {
            let file = persist::load(state_path)?;
            let clock = SimClock::with_offset_ms(file.clock_offset_ms);
            return Ok(Self::build(
                file.state,
                clock,
                Some(state_path.to_path_buf()),
            ));
        }
        let clock = SimClock::new();
        let state = seed::seed(scenario, clock.now())?;
        persist::save(state_path, clock.offset_ms(), &state)?;
        Ok(Self::build(state, clock, Some(state_path.to_path_buf())))
    }

    pub fn clock(&self) -> SimClock {
        self.inner.clock.clone()
    }

    pub fn set_faults(&self, f: SimFaults) {
        self.lock().faults = FaultState::new(f);
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        // A panic while holding the lock cannot leave the state half-changed in a way that
        // matters more than losing the tenant, so keep serving.
        self.inner.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn save(&self, state: &State) -> Result<(), SimError> {
        match &self.inner.state_path {
            Some(p) => persist::save(p, self.inner.clock.offset_ms(), state),
            None => Ok(()),
        }
    }

    /// Settles lazy changes (late accounts, group licensing, renewals, 30-day purge); the
    /// caller writes them through.
    fn settle(&self, state: &mut State, now: DateTime<Utc>) -> bool {
        let arrived = state.settle_arrivals(now);
        let licensed = state.settle_group_licenses(now);
        let renewed = state.settle_subscriptions(now);
        let purged = state.settle_purge(now);
        arrived || licensed || renewed || purged
    }

    /// Waits the configured latency (asynchronously) before a trait call.
    pub(crate) async fn latency(&self) {
        let d = self.lock().faults.latency();
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
    }

    /// Runs one trait call: counts it, settles, injects faults, stamps request ids on errors
    /// and writes changes through before returning.
    pub(crate) fn call<T>(
        &self,
        name: &str,
        op: Op,
        f: impl FnOnce(&mut State, DateTime<Utc>) -> TenantResult<T>,
    ) -> TenantResult<T> {
        let now = self.inner.clock.now();
        let mut core = self.lock();
        *core.state.calls.entry(name.to_string()).or_insert(0) += 1;
        let settled = self.settle(&mut core.state, now);
        let fault = core.faults.draw();
        let result = match fault {
            Fault::Throttle => Err(core.faults.throttled()),
            Fault::Transient => Err(faults::transient()),
            Fault::None | Fault::LostResponse => {
                let r = f(&mut core.state, now);
                match (fault, r) {
                    (Fault::LostResponse, Ok(_)) => Err(faults::lost_response()),
                    (_, r) => r,
                }
            }
        };
        if (settled || op == Op::Write)
            && let Err(e) = self.save(&core.state)
        {
            tracing::error!(error = %e, "Simulated tenant could not write its state file.");
            return Err(TenantError::transient(format!(
                "the simulated tenant could not persist its state ({e}); the change may be lost"
            )));
        }
        result.map_err(|e| {
            let id = core.state.next_request_id();
            e.with_request_id(id)
        })
    }

    /// Test inspection: no faults, no counters; settles lazy changes first.
    fn inspect<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        let now = self.inner.clock.now();
        let mut core = self.lock();
        if self.settle(&mut core.state, now)
            && let Err(e) = self.save(&core.state)
        {
            tracing::error!(error = %e, "Simulated tenant could not write its state file.");
        }
        f(&core.state)
    }

    pub fn damage(&self) -> Vec<Damage> {
        self.inspect(|s| s.damage.clone())
    }

    /// Business state only (no timestamps or counters), for equality of final states.
    pub fn fingerprint(&self) -> serde_json::Value {
        self.inspect(State::fingerprint)
    }

    pub fn calls(&self, op: &str) -> u64 {
        self.inspect(|s| s.calls.get(op).copied().unwrap_or(0))
    }

    pub fn downloads(&self, drive: &DriveId, item_id: &str) -> u64 {
        self.inspect(|s| {
            s.downloads
                .get(&format!("{drive}/{item_id}"))
                .copied()
                .unwrap_or(0)
        })
    }

    pub fn user(&self, id_or_upn: &str) -> Option<User> {
        self.inspect(|s| s.find_user(id_or_upn).map(|u| s.user_view(u)))
    }

    /// The mailbox as Exchange shows it now (None when there is none, as Get-Mailbox fails).
    pub fn mailbox(&self, id_or_upn: &str) -> Option<Mailbox> {
        self.inspect(|s| {
            let id = s.find_any_user(id_or_upn)?.id.clone();
            s.mailbox_live(&id)
                .then(|| s.mailboxes.get(&id).map(|m| s.mailbox_view(&id, m)))
                .flatten()
        })
    }

    pub fn deleted_user(&self, id_or_upn: &str) -> Option<DeletedUser> {
        self.inspect(|s| {
            s.users
                .values()
                .find(|u| {
                    u.deleted_date_time.is_some()
                        && (u.id.as_str().eq_ignore_ascii_case(id_or_upn.trim())
                            || u.user_principal_name.eq_ignore_ascii_case(id_or_upn.trim()))
                })
                .and_then(|u| s.deleted_view(u))
        })
    }

    pub fn sku(&self, part_number: &str) -> Option<Sku> {
        self.inspect(|s| s.sku_by_ref(part_number).map(|k| s.sku_view(k)))
    }

    /// Active members of the group (soft-deleted users are not listed).
    pub fn group_members(&self, group: &GroupId) -> Vec<UserId> {
        self.inspect(|s| {
            s.groups
                .get(group)
                .map(|g| {
                    g.members
                        .iter()
                        .filter(|m| s.find_user(m.as_str()).is_some())
                        .cloned()
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// Writes the state (and the clock offset) to the state file now, e.g. after the clock
    /// moved without any tenant call. No-op without persistence.
    pub fn save_now(&self) -> Result<(), SimError> {
        let core = self.lock();
        self.save(&core.state)
    }

    /// A company subscription by id or commerce id, as `GET /directory/subscriptions` shows it.
    pub fn subscription(&self, id: &str) -> Option<CompanySubscription> {
        self.inspect(|s| s.subscription_by_ref(id).map(|x| s.company_view(x)))
    }

    /// A CSP subscription as Partner Center shows it (None for unknown or direct ones).
    pub fn partner_subscription(&self, commerce_id: &str) -> Option<PartnerSubscription> {
        self.inspect(|s| s.get_partner_subscription(commerce_id).ok())
    }

    /// The billing admin changes a direct subscription's seats in the admin center (R14: no
    /// API does this). Unrestricted, except that CSP subscriptions are refused.
    pub fn set_subscription_quantity(
        &self,
        id: &str,
        quantity: i64,
    ) -> TenantResult<CompanySubscription> {
        self.admin(|s, now| s.set_subscription_quantity(id, quantity, now))
    }

    /// Late accounts that have not appeared yet: (id, UPN, appears at).
    pub fn parked_users(&self) -> Vec<(UserId, String, DateTime<Utc>)> {
        self.inspect(|s| {
            s.parked()
                .map(|(id, upn, at)| (id.clone(), upn.to_string(), at))
                .collect()
        })
    }

    /// A change made outside the APIs (by a person in a portal): settles first, no faults or
    /// counters, written through.
    fn admin<T>(&self, f: impl FnOnce(&mut State, DateTime<Utc>) -> T) -> T {
        let now = self.inner.clock.now();
        let mut core = self.lock();
        self.settle(&mut core.state, now);
        let out = f(&mut core.state, now);
        if let Err(e) = self.save(&core.state) {
            tracing::error!(error = %e, "Simulated tenant could not write its state file.");
        }
        out
    }

    /// §4.6 group-based licensing (not a `Tenant` method): a counted, faultable write like
    /// the trait's, named `assign_group_license`.
    pub async fn assign_group_license(
        &self,
        group: &GroupId,
        add: &[crate::tenant::AssignedLicense],
        remove: &[crate::ids::SkuId],
    ) -> TenantResult<crate::tenant::Group> {
        self.latency().await;
        self.call("assign_group_license", Op::Write, |s, now| {
            s.assign_group_license(group, add, remove, now)
        })
    }

    pub fn set_delta_page_size(&self, n: usize) {
        let mut core = self.lock();
        core.state.delta_page_size = n.max(1);
        if let Err(e) = self.save(&core.state) {
            tracing::error!(error = %e, "Simulated tenant could not write its state file.");
        }
    }
}
