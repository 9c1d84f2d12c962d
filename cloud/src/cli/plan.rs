//! `plan ...`: what a tenant's customers can buy, in the order its portal shows it.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Subcommand;
use serde_json::json;

use crate::model::{MAX_PRICE_KES, PlanId, PlanInput, PlanMove};
use crate::payments::{add_plan, move_plan};
use crate::store::Store;

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
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_PRICE_KES)))]
        price: u32,
        /// How long access lasts (`1h`, `1d`, `7d`).
        #[arg(long, value_parser = humantime::parse_duration)]
        duration: Duration,
        /// Data allowance in MB.
        #[arg(long)]
        data_mb: Option<u64>,
        /// Speed limit (`2M/5M`: upload/download). Applied on the router through a profile
        /// the agent keeps for the plan (unless --profile names one of yours).
        #[arg(long)]
        rate_limit: Option<String>,
        /// Devices one login may use at once (RouterOS shared-users; 1 when not set).
        #[arg(long)]
        shared_users: Option<u32>,
        /// Your own RouterOS hotspot user profile for this plan's users (then its own
        /// settings apply, not --rate-limit or --shared-users).
        #[arg(long)]
        profile: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Move a plan in the order the tenant's portal shows plans: one place up or down, or
    /// to a place (1 first).
    Move {
        /// The plan id.
        plan: PlanId,
        /// One place earlier.
        #[arg(long, group = "to")]
        up: bool,
        /// One place later.
        #[arg(long, group = "to")]
        down: bool,
        /// To this place (1 first; past the end is the end).
        #[arg(long, group = "to", value_parser = clap::value_parser!(u32).range(1..))]
        position: Option<u32>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List a tenant's plans, in the order its portal shows them.
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
        PlanCommand::Add { tenant, name, price, duration, data_mb, rate_limit, shared_users, profile, json } => {
            let tenant = store.find_tenant(&tenant).await?.with_context(|| format!("no tenant {tenant:?}"))?;
            let input = PlanInput { name, price_kes: price, duration, data_mb, rate_limit, profile, shared_users };
            let plan = add_plan(store, tenant.id, input).await?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&plan)?)?;
            } else {
                writeln!(
                    out,
                    "plan {} added: {} KES for {} (id {})",
                    plan.name,
                    plan.price_kes,
                    humantime::format_duration(duration),
                    plan.id
                )?;
            }
        }
        PlanCommand::Move { plan, up, down, position, json } => {
            let to = match (up, down, position) {
                (true, _, _) => PlanMove::Up,
                (_, true, _) => PlanMove::Down,
                (_, _, Some(place)) => PlanMove::To(place),
                _ => bail!("say where: --up, --down or --position N"),
            };
            let found = store.plan(plan).await?.with_context(|| format!("no plan {plan}"))?;
            let place = move_plan(store, found.tenant_id, plan, to).await?.with_context(|| format!("no plan {plan}"))?;
            if json {
                writeln!(out, "{}", json!({ "id": plan, "position": place }))?;
            } else {
                writeln!(out, "plan {} is now number {place} on the portal", found.name)?;
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
                    writeln!(out, "{:>3}  {}  {:>6} KES  {:<10}  {}", p.position, p.id, p.price_kes, duration.to_string(), p.name)?;
                }
            }
        }
    }
    Ok(())
}
