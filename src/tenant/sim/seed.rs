//! Turns a [`Scenario`] into the initial [`State`], checking every reference (users,
//! managers, SKUs, group members, mailboxes) so a bad file fails with a clear message.

use super::scenario::{Scenario, ScenarioDrive, ScenarioUser};
use super::state::{
    DriveState, GroupState, ItemState, MailboxState, RoleState, SkuState, State, UserState,
};
use super::{SimError, drive, subscriptions};
use crate::ids::{DriveId, GroupId, SkuId, UserId};
use crate::tenant::{AssignedLicense, AutoReply, Group, MailboxType};
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

pub fn default_mailbox(upn: &str) -> MailboxState {
    MailboxState {
        kind: MailboxType::UserMailbox,
        primary_smtp_address: upn.to_string(),
        forwarding_smtp_address: None,
        deliver_to_mailbox_and_forward: false,
        hidden: false,
        litigation_hold: false,
        archive: false,
        size_bytes: 0,
        full_access: Vec::new(),
        auto_reply: AutoReply::disabled(),
        deprovisioning: false,
    }
}

fn invalid(msg: String) -> SimError {
    SimError::Invalid(msg)
}

fn item_id(drive: &str, path: &str) -> String {
    let h = hex::encode(Sha256::digest(format!("{drive}:{path}").as_bytes()));
    format!("01{}", h[..16].to_ascii_uppercase())
}

pub fn seed(s: Scenario, now: DateTime<Utc>) -> Result<State, SimError> {
    let mut st = State {
        tenant: s.tenant.clone(),
        group_licensing_delay_seconds: s.group_licensing_delay_seconds,
        delta_page_size: s.delta_page_size.max(1),
        skus: BTreeMap::new(),
        users: BTreeMap::new(),
        groups: BTreeMap::new(),
        roles: Vec::new(),
        mailboxes: BTreeMap::new(),
        drives: BTreeMap::new(),
        pending: Vec::new(),
        damage: Vec::new(),
        subscriptions: BTreeMap::new(),
        arrivals: Vec::new(),
        calls: BTreeMap::new(),
        downloads: BTreeMap::new(),
        request_seq: 0,
    };
    for k in &s.skus {
        let id = SkuId::new(k.sku_id.to_ascii_lowercase());
        if st.skus.contains_key(&id) || st.sku_by_ref(&k.sku_part_number).is_some() {
            return Err(invalid(format!(
                "SKU {} ({}) is listed twice",
                k.sku_part_number, k.sku_id
            )));
        }
        st.skus.insert(
            id.clone(),
            SkuState {
                sku_id: id,
                sku_part_number: k.sku_part_number.clone(),
                capability_status: k.capability_status.clone(),
                prepaid_units: k.prepaid_units.clone().unwrap_or_default(),
                other_consumed_units: k.other_consumed_units,
                service_plans: k.service_plans.clone(),
            },
        );
    }
    subscriptions::seed_subscriptions(&mut st, &s.subscriptions, now)?;
    check_prepaid(&st, &s)?;
    for u in &s.users {
        add_user(&mut st, u)?;
    }
    for u in &s.users {
        let id = UserId::new(u.id.to_ascii_lowercase());
        if let Some(m) = &u.manager {
            let mid = st.find_any_user(m).map(|m| m.id.clone()).ok_or_else(|| {
                invalid(format!(
                    "user {}: manager '{m}' is not a user of the scenario",
                    u.user_principal_name
                ))
            })?;
            if let Some(x) = st.users.get_mut(&id) {
                x.manager = Some(mid);
            }
        }
        if let Some(d) = &u.drive {
            add_drive(&mut st, &id, d, now)?;
        }
    }
    for g in &s.groups {
        let gid = GroupId::new(g.id.to_ascii_lowercase());
        let licenses = resolve_skus(&st, &g.licenses, &g.display_name)?;
        let members = resolve_users(&st, &g.members, &g.display_name)?;
        let group = Group {
            id: gid.clone(),
            display_name: g.display_name.clone(),
            group_types: g.group_types.clone(),
            mail_enabled: g.mail_enabled,
            security_enabled: g.security_enabled,
            on_premises_sync_enabled: g.on_premises_sync_enabled,
            membership_rule: g.membership_rule.clone(),
            assigned_licenses: licenses,
        };
        if st
            .groups
            .insert(gid.clone(), GroupState { group, members })
            .is_some()
        {
            return Err(invalid(format!("group {} is listed twice", g.id)));
        }
    }
    for r in &s.directory_roles {
        let members = resolve_users(&st, &r.members, &r.display_name)?;
        st.roles.push(RoleState {
            id: r.id.clone(),
            display_name: r.display_name.clone(),
            role_template_id: r.role_template_id.clone(),
            members,
        });
    }
    for u in s.users.iter().filter(|u| u.appears_at.is_some()) {
        check_late_user(&st, u)?;
    }
    for u in &s.users {
        if let Some(at) = u.appears_at.filter(|at| *at > now) {
            st.park_late_user(&UserId::new(u.id.to_ascii_lowercase()), at);
        }
    }
    let ids: Vec<UserId> = st.users.keys().cloned().collect();
    for id in &ids {
        st.after_license_change(id, false, now);
        let groups: Vec<GroupId> = st.groups.keys().cloned().collect();
        for g in groups {
            st.apply_group_paths(id, &g, now);
        }
    }
    for id in &ids {
        let licensed = st.users.get(id).is_some_and(|u| st.has_exchange(u));
        if st
            .mailboxes
            .get(id)
            .is_some_and(|m| m.kind == MailboxType::UserMailbox)
            && !licensed
        {
            return Err(invalid(format!(
                "user {id}: a UserMailbox needs a license with an Exchange plan; give the user one or make the mailbox shared"
            )));
        }
    }
    st.damage.clear();
    Ok(st)
}

/// A SKU's seats come from its subscriptions or from `prepaidUnits`, never from neither,
/// and the two agree when both are given.
fn check_prepaid(st: &State, s: &Scenario) -> Result<(), SimError> {
    for k in &s.skus {
        let id = SkuId::new(k.sku_id.to_ascii_lowercase());
        let from_subs = st
            .subscriptions
            .values()
            .any(|x| x.sku_id == id)
            .then(|| st.skus.get(&id).map(|x| x.prepaid_units.enabled))
            .flatten();
        match (&k.prepaid_units, from_subs) {
            (None, None) => {
                return Err(invalid(format!(
                    "SKU {}: give prepaidUnits or subscriptions for it",
                    k.sku_part_number
                )));
            }
            (Some(p), Some(sum)) if p.enabled != sum => {
                return Err(invalid(format!(
                    "SKU {}: prepaidUnits.enabled is {} but its active subscriptions add up to {sum}; leave prepaidUnits out or make them agree",
                    k.sku_part_number, p.enabled
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A late account is a joiner: not deleted, and a user mailbox needs an Exchange license by
/// some path once it appears.
fn check_late_user(st: &State, u: &ScenarioUser) -> Result<(), SimError> {
    let id = UserId::new(u.id.to_ascii_lowercase());
    if u.deleted_date_time.is_some() {
        return Err(invalid(format!(
            "user {}: appearsAt and deletedDateTime exclude each other",
            u.user_principal_name
        )));
    }
    let exchange = |sku: &SkuId| {
        st.skus
            .get(sku)
            .is_some_and(|k| k.service_plans.iter().any(|p| p.is_exchange()))
    };
    let direct = st
        .users
        .get(&id)
        .is_some_and(|x| x.direct_licenses.iter().any(|l| exchange(&l.sku_id)));
    let by_group = st.groups.values().any(|g| {
        g.members.contains(&id)
            && g.group
                .assigned_licenses
                .iter()
                .any(|l| exchange(&l.sku_id))
    });
    let user_mailbox = st
        .mailboxes
        .get(&id)
        .is_some_and(|m| m.kind == MailboxType::UserMailbox);
    if user_mailbox && !direct && !by_group {
        return Err(invalid(format!(
            "user {}: a UserMailbox needs a license with an Exchange plan, directly or through a group",
            u.user_principal_name
        )));
    }
    Ok(())
}

fn resolve_skus(
    st: &State,
    refs: &[String],
    whose: &str,
) -> Result<Vec<AssignedLicense>, SimError> {
    refs.iter()
        .map(|r| {
            st.sku_by_ref(r)
                .map(|s| AssignedLicense {
                    sku_id: s.sku_id.clone(),
                    disabled_plans: Vec::new(),
                })
                .ok_or_else(|| {
                    invalid(format!(
                        "{whose}: license '{r}' is not a SKU of the scenario"
                    ))
                })
        })
        .collect()
}

fn resolve_users(st: &State, refs: &[String], whose: &str) -> Result<BTreeSet<UserId>, SimError> {
    refs.iter()
        .map(|r| {
            st.find_any_user(r).map(|u| u.id.clone()).ok_or_else(|| {
                invalid(format!(
                    "{whose}: member '{r}' is not a user of the scenario"
                ))
            })
        })
        .collect()
}

fn add_user(st: &mut State, u: &ScenarioUser) -> Result<(), SimError> {
    let id = UserId::new(u.id.to_ascii_lowercase());
    // A soft-deleted user's UPN is free again (docs/microsoft-365-api.md §3.6): only two active
    // users clash.
    let upn_taken = u.deleted_date_time.is_none() && st.find_user(&u.user_principal_name).is_some();
    if st.users.contains_key(&id) || upn_taken {
        return Err(invalid(format!(
            "user {} ({}) is listed twice",
            u.user_principal_name, u.id
        )));
    }
    let direct = resolve_skus(st, &u.licenses, &u.user_principal_name)?;
    st.users.insert(
        id.clone(),
        UserState {
            id: id.clone(),
            user_principal_name: u.user_principal_name.clone(),
            display_name: u.display_name.clone(),
            mail: u
                .mail
                .clone()
                .or_else(|| Some(u.user_principal_name.clone())),
            account_enabled: u.account_enabled,
            usage_location: u.usage_location.clone(),
            on_premises_sync_enabled: u.on_premises_sync_enabled,
            manager: None,
            direct_licenses: direct,
            count_violations: BTreeSet::new(),
            group_paths: Vec::new(),
            sign_in_sessions_valid_from: None,
            deleted_date_time: u.deleted_date_time,
            department: u.department.clone(),
            job_title: u.job_title.clone(),
            company_name: u.company_name.clone(),
            office_location: u.office_location.clone(),
            city: u.city.clone(),
            country: u.country.clone(),
        },
    );
    if let Some(m) = &u.mailbox {
        let mut mb = default_mailbox(&u.user_principal_name);
        mb.kind = m.r#type.unwrap_or(MailboxType::UserMailbox);
        mb.size_bytes = (m.size_gb.max(0.0) * 1e9) as u64;
        mb.forwarding_smtp_address = m.forwarding_smtp_address.clone();
        mb.deliver_to_mailbox_and_forward = m.deliver_to_mailbox_and_forward;
        mb.archive = m.archive;
        mb.litigation_hold = m.litigation_hold;
        mb.hidden = m.hidden;
        mb.full_access = m.full_access.clone();
        if let Some(r) = &m.auto_reply {
            mb.auto_reply = r.clone();
        }
        st.mailboxes.insert(id, mb);
    }
    Ok(())
}

fn add_drive(
    st: &mut State,
    owner: &UserId,
    d: &ScenarioDrive,
    now: DateTime<Utc>,
) -> Result<(), SimError> {
    let did =
        d.id.clone()
            .unwrap_or_else(|| format!("b!{}", owner.as_str().replace('-', "")));
    let upn = st
        .users
        .get(owner)
        .map(|u| u.user_principal_name.clone())
        .unwrap_or_default();
    let modified = now - Duration::days(1);
    let root = item_id(&did, "");
    let mut items = vec![ItemState {
        id: root.clone(),
        name: "root".into(),
        parent_id: None,
        size: 0,
        is_folder: true,
        sha256: None,
        last_modified: modified,
        last_downloaded: None,
    }];
    let folder = |items: &mut Vec<ItemState>, path: &str| -> Result<String, SimError> {
        let mut parent = root.clone();
        let mut so_far = String::new();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            so_far = if so_far.is_empty() {
                part.to_string()
            } else {
                format!("{so_far}/{part}")
            };
            let id = item_id(&did, &so_far);
            if let Some(existing) = items.iter().find(|i| i.id == id) {
                if !existing.is_folder {
                    return Err(invalid(format!(
                        "{upn}: OneDrive path '{so_far}' is both a file and a folder"
                    )));
                }
            } else {
                items.push(ItemState {
                    id: id.clone(),
                    name: part.to_string(),
                    parent_id: Some(parent.clone()),
                    size: 0,
                    is_folder: true,
                    sha256: None,
                    last_modified: modified,
                    last_downloaded: None,
                });
            }
            parent = id;
        }
        Ok(parent)
    };
    for f in &d.folders {
        folder(&mut items, f)?;
    }
    for f in &d.files {
        let (dir, name) = f.path.rsplit_once('/').unwrap_or(("", f.path.as_str()));
        if name.trim().is_empty() {
            return Err(invalid(format!(
                "{upn}: OneDrive file path '{}' has no file name",
                f.path
            )));
        }
        let parent = folder(&mut items, dir)?;
        let id = item_id(&did, f.path.trim_matches('/'));
        if items.iter().any(|i| i.id == id) {
            return Err(invalid(format!(
                "{upn}: OneDrive file '{}' is listed twice",
                f.path
            )));
        }
        items.push(ItemState {
            sha256: Some(drive::content_sha256(&id, f.size)),
            id,
            name: name.to_string(),
            parent_id: Some(parent),
            size: f.size,
            is_folder: false,
            last_modified: modified,
            last_downloaded: None,
        });
    }
    let did = DriveId::new(did);
    if st.drives.contains_key(&did) {
        return Err(invalid(format!("{upn}: drive id {did} is used twice")));
    }
    let site = upn.replace(['@', '.'], "_");
    let host = st.tenant.split('.').next().unwrap_or("contoso").to_string();
    st.drives.insert(
        did.clone(),
        DriveState {
            id: did,
            owner: owner.clone(),
            web_url: format!("https://{host}-my.sharepoint.com/personal/{site}/Documents"),
            items,
            permissions: Vec::new(),
        },
    );
    Ok(())
}
