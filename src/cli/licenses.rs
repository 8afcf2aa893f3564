//! `offboard licenses`: the tenant's plans with enabled, consumed and free units
//! (`GET /api/v1/licenses`).

use super::remote::{Remote, RemoteArgs, print_json};
use super::table::{Table, cell};
use anyhow::Context;
use clap::Args;

#[derive(Args, Debug)]
pub struct LicensesArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
}

pub async fn run(args: LicensesArgs) -> anyhow::Result<()> {
    let remote = Remote::connect(&args.remote)?;
    let answer = remote
        .client
        .licenses()
        .await
        .context("reading the licenses")?;
    if remote.json {
        return print_json(&answer);
    }
    let mut t = Table::new(&["SKU", "ENABLED", "CONSUMED", "FREE", "STATUS"]);
    for l in answer["licenses"].as_array().into_iter().flatten() {
        t.row(vec![
            cell(&l["skuPartNumber"]),
            cell(&l["enabled"]),
            cell(&l["consumed"]),
            cell(&l["free"]),
            cell(&l["capabilityStatus"]),
        ]);
    }
    print!("{}", t.render());
    Ok(())
}
