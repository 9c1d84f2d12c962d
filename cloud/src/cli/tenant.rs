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
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `tenant ...`.
pub(super) async fn run(store: &dyn Store, command: TenantCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    let TenantCommand::Create { name, json } = command;
    let name = name.trim();
    if name.is_empty() {
        bail!("a tenant needs a name");
    }
    let tenant = store.create_tenant(name, now_ms()).await?;
    if json {
        writeln!(out, "{}", serde_json::to_string(&tenant)?)?;
    } else {
        writeln!(out, "tenant {} created with id {}", tenant.name, tenant.id)?;
    }
    Ok(())
}
