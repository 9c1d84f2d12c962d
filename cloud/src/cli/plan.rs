//! `plan ...`: what a tenant's customers can buy.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::model::NewPlan;
use crate::store::{Store, now_ms};

/// `plan ...`
#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Add a plan.
    Add {
        /// The tenant, by id or name.
        #[arg(long)]
        tenant: String,
        /// Its name ("1 hour").
        #[arg(long)]
        name: String,
        /// Price in whole Kenyan shillings.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=250_000))]
        price: u32,
        /// How long access lasts (`1h`, `1d`, `7d`).
        #[arg(long, value_parser = humantime::parse_duration)]
        duration: Duration,
        /// Data allowance in MB.
        #[arg(long)]
        data_mb: Option<u64>,
        /// Rate limit shown to customers (`2M/5M`); apply it with a RouterOS profile.
        #[arg(long)]
        rate_limit: Option<String>,
        /// RouterOS hotspot user profile for this plan's users.
        #[arg(long)]
        profile: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List a tenant's plans.
    List {
        /// The tenant, by id or name.
        #[arg(long)]
        tenant: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `plan ...`.
pub(super) async fn run(store: &dyn Store, command: PlanCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    match command {
        PlanCommand::Add { tenant, name, price, duration, data_mb, rate_limit, profile, json } => {
            let tenant = store.find_tenant(&tenant).await?.with_context(|| format!("no tenant {tenant:?}"))?;
            let name = name.trim().to_string();
            if name.is_empty() || name.len() > 40 {
                bail!("a plan needs a name of 1 to 40 characters");
            }
            if duration < Duration::from_secs(60) {
                bail!("a plan lasts at least a minute");
            }
            let plan = NewPlan { name, price_kes: price, duration_secs: duration.as_secs(), data_mb, rate_limit, profile };
            let plan = store.create_plan(tenant.id, &plan, now_ms()).await?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&plan)?)?;
            } else {
                writeln!(out, "plan {} added: {} KES for {} (id {})", plan.name, plan.price_kes, humantime::format_duration(duration), plan.id)?;
            }
        }
        PlanCommand::List { tenant, json } => {
            let tenant = store.find_tenant(&tenant).await?.with_context(|| format!("no tenant {tenant:?}"))?;
            let plans = store.list_plans(tenant.id).await?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&plans)?)?;
            } else {
                for p in plans {
                    let duration = humantime::format_duration(Duration::from_secs(p.duration_secs));
                    writeln!(out, "{}  {:>6} KES  {:<10}  {}", p.id, p.price_kes, duration.to_string(), p.name)?;
                }
            }
        }
    }
    Ok(())
}
