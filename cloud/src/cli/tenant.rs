//! `tenant ...`: router owners.

use std::io::Write;

use anyhow::bail;
use clap::Subcommand;

use crate::store::{Store, now_ms};

/// `tenant ...`
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        /// Its name (unique).
        #[arg(long)]
        name: String,
        /// The IANA time zone its times are shown in.
        #[arg(long, default_value = crate::time::DEFAULT_TIME_ZONE)]
        time_zone: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `tenant ...`.
pub(super) async fn run(store: &dyn Store, command: TenantCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    let TenantCommand::Create { name, time_zone, json } = command;
    let name = name.trim();
    if name.is_empty() {
        bail!("a tenant needs a name");
    }
    crate::time::zone(&time_zone)?;
    let mut tenant = store.create_tenant(name, now_ms()).await?;
    if time_zone.trim() != tenant.time_zone {
        store.set_time_zone(tenant.id, time_zone.trim()).await?;
        tenant.time_zone = time_zone.trim().to_string();
    }
    if json {
        writeln!(out, "{}", serde_json::to_string(&tenant)?)?;
    } else {
        writeln!(out, "tenant {} created with id {}", tenant.name, tenant.id)?;
    }
    Ok(())
}
