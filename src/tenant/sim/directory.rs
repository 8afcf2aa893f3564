//! Listing and counting the directory's users: `GET /users` with a filter and
//! `GET /users/$count` (docs/microsoft-365-api.md §2.4). Only active users: soft-deleted ones are
//! in the recycle bin, and accounts that have not appeared yet do not exist.

use super::state::State;
use super::tenant::{Op, SimTenant};
use crate::tenant::{TenantResult, User, UserQuery};

impl State {
    /// Every active user, ordered by object id.
    pub fn active_users(&self) -> Vec<User> {
        self.users
            .values()
            .filter(|u| u.deleted_date_time.is_none())
            .map(|u| self.user_view(u))
            .collect()
    }

    /// The active users meeting every condition of `query` (strings compare
    /// case-insensitively, as Graph's `eq` does).
    pub fn list_users(&self, query: &UserQuery) -> Vec<User> {
        let mut users = self.active_users();
        users.retain(|u| query.matches(u));
        users
    }

    pub fn count_users(&self) -> u64 {
        self.users
            .values()
            .filter(|u| u.deleted_date_time.is_none())
            .count() as u64
    }
}

impl SimTenant {
    /// Every active user (not a `Tenant` method: the simulated Graph server lists the whole
    /// collection and applies its own `$filter`). Counted, faultable, named `all_users`.
    pub async fn all_users(&self) -> TenantResult<Vec<User>> {
        self.latency().await;
        self.call("all_users", Op::Read, |s, _| Ok(s.active_users()))
    }
}
