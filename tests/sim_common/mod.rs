//! Helpers shared by the simulated-tenant tests.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;
use offboard::clock::{Clock, SimClock};
use offboard::ids::{DriveId, GroupId, SkuId, UserId};
use offboard::tenant::sim::{Scenario, SimError, SimFaults, SimTenant};
use offboard::tenant::{AssignedLicense, AutoReply, ErrorKind, MailboxType, Tenant, TenantError};
use sha2::{Digest, Sha256};
use std::path::Path;

pub const E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";
pub const SPB: &str = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46";
pub const EXO2: &str = "19ec0d23-8335-4cbd-94ac-6050e30712fa";
pub const PBI: &str = "f8a1db68-be16-40ed-86d5-cb42ce701560";
pub const LIC_GROUP: &str = "5d1a7e02-96c4-4b3f-8e17-c2a9f0b6d4e8";
pub const DYN_GROUP: &str = "b3d5f7a9-1c3e-4b5d-9f7a-1c3e5b7d9f02";
pub const FINANCE: &str = "9e2b1c44-0f7d-4a6b-b1e8-7c3d5a9f2e10";
pub const DL_GROUP: &str = "d7f9b1d3-5a7c-4e9f-b1d3-5a7c9e1f3b64";
pub const AD_GROUP: &str = "a1c3e5f7-2b4d-4c6e-8f0a-2b4d6f8a0c75";

pub fn scenario() -> Scenario {
    SimTenant::load_scenario(Path::new("examples/tenant.json")).unwrap()
}

pub fn tenant() -> SimTenant {
    SimTenant::from_scenario(scenario(), SimClock::new()).unwrap()
}

pub fn uid(t: &SimTenant, upn: &str) -> UserId {
    t.user(upn).unwrap_or_else(|| panic!("{upn} missing")).id
}

pub fn lic(sku: &str) -> AssignedLicense {
    AssignedLicense {
        sku_id: SkuId::new(sku),
        disabled_plans: vec![],
    }
}

pub fn kind(r: Result<impl std::fmt::Debug, TenantError>) -> ErrorKind {
    let e = r.expect_err("expected an error");
    assert!(e.request_id.is_some(), "error without request id: {e}");
    e.kind
}

pub fn consumed(t: &SimTenant, part: &str) -> i64 {
    t.sku(part).unwrap().consumed_units
}

pub fn rules(t: &SimTenant) -> Vec<String> {
    t.damage().into_iter().map(|d| d.rule).collect()
}
