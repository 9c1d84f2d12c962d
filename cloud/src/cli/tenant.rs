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
    /// Suspend a tenant: its portals sell nothing and its people cannot sign in (their
    /// sessions end). Routers stay connected; paid customers keep their access.
    Suspend {
        /// The tenant, by id or name.
        tenant: String,
    },
    /// Lift a tenant's suspension.
    Resume {
        /// The tenant, by id or name.
        tenant: String,
    },
}

/// Runs `tenant ...`.
pub(super) async fn run(store: &dyn Store, command: TenantCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    let (name, time_zone, json) = match command {
        TenantCommand::Create { name, time_zone, json } => (name, time_zone, json),
        TenantCommand::Suspend { tenant } => return suspend(store, &tenant, true, out).await,
        TenantCommand::Resume { tenant } => return suspend(store, &tenant, false, out).await,
    };
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

async fn suspend(store: &dyn Store, tenant: &str, suspended: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let Some(found) = store.find_tenant(tenant).await? else { bail!("no tenant {tenant:?}") };
    store.set_suspended(found.id, suspended, now_ms()).await?;
    let done = if suspended { "suspended" } else { "resumed" };
    tracing::warn!(tenant = %found.id, done, "tenant suspension changed by the operator");
    writeln!(out, "tenant {} {done}", found.name)?;
    Ok(())
}
