//! Late accounts: joiners synced from on-premises AD appear after the tenant starts. Until
//! the clock passes `appears_at` such a user is parked with everything that hangs off it
//! (mailbox, drive, memberships), so no operation can see it and none has to check; the
//! parked list is sorted by time, so each call costs one comparison.

use super::state::{LateUser, State};
use crate::ids::{GroupId, UserId};
use chrono::{DateTime, Utc};

impl State {
    /// Seeding: moves the user and what hangs off it out of the tenant until `at`.
    pub fn park_late_user(&mut self, id: &UserId, at: DateTime<Utc>) {
        let Some(mut user) = self.users.remove(id) else {
            return;
        };
        user.group_paths.clear();
        user.count_violations.clear();
        let mailbox = self.mailboxes.remove(id);
        let drive_id = self
            .drives
            .values()
            .find(|d| &d.owner == id)
            .map(|d| d.id.clone());
        let drive = drive_id.and_then(|d| self.drives.remove(&d));
        let groups: Vec<GroupId> = self
            .groups
            .iter_mut()
            .filter_map(|(gid, g)| g.members.remove(id).then(|| gid.clone()))
            .collect();
        let roles: Vec<String> = self
            .roles
            .iter_mut()
            .filter_map(|r| r.members.remove(id).then(|| r.id.clone()))
            .collect();
        self.pending.retain(|p| &p.user != id);
        let pos = self.arrivals.partition_point(|l| l.appears_at <= at);
        self.arrivals.insert(
            pos,
            LateUser {
                appears_at: at,
                user,
                mailbox,
                drive,
                groups,
                roles,
            },
        );
    }

    /// Moves in the accounts whose time has come. Returns whether any did.
    pub fn settle_arrivals(&mut self, now: DateTime<Utc>) -> bool {
        let due = self.arrivals.partition_point(|l| l.appears_at <= now);
        if due == 0 {
            return false;
        }
        let arrived: Vec<LateUser> = self.arrivals.drain(..due).collect();
        for late in arrived {
            self.arrive(late);
        }
        true
    }

    /// The account appears at `appears_at`: direct licenses take free seats (or are in
    /// `CountViolation`), the mailbox provisions, and group licenses are processed after the
    /// usual delay, as for any new member.
    fn arrive(&mut self, late: LateUser) {
        let id = late.user.id.clone();
        let at = late.appears_at;
        self.users.insert(id.clone(), late.user);
        if let Some(mb) = late.mailbox {
            self.mailboxes.insert(id.clone(), mb);
        }
        if let Some(d) = late.drive {
            self.drives.insert(d.id.clone(), d);
        }
        for r in self.roles.iter_mut().filter(|r| late.roles.contains(&r.id)) {
            r.members.insert(id.clone());
        }
        self.claim_seats(&id);
        self.after_license_change(&id, false, at);
        for g in &late.groups {
            if let Some(gs) = self.groups.get_mut(g) {
                gs.members.insert(id.clone());
                self.queue_group_license(&id, g, at);
            }
        }
    }

    /// The late accounts not yet in the tenant (id, UPN, when), for inspection.
    pub fn parked(&self) -> impl Iterator<Item = (&UserId, &str, DateTime<Utc>)> {
        self.arrivals.iter().map(|l| {
            (
                &l.user.id,
                l.user.user_principal_name.as_str(),
                l.appears_at,
            )
        })
    }
}
