//! `voucher ...`: batches of printed codes sold for cash, loaded onto routers through their
//! outboxes (a running `serve` delivers them).

use std::io::Write;

use anyhow::{Context, bail};
use clap::Subcommand;
use jasiyo_shared::RouterId;
use serde_json::json;

use crate::model::{MAX_BATCH_CODES, PlanId, TenantId, VoucherBatch, VoucherBatchId, VoucherBatchInput};
use crate::store::{Store, now_ms};
use crate::vouchers::{create_batch, csv, revoke};

/// `voucher ...`
#[derive(Debug, Subcommand)]
pub enum VoucherCommand {
    /// Create a batch of codes for a plan and load it onto routers.
    Create {
        /// The tenant, by id or name.
        #[arg(long)]
        tenant: String,
        /// The plan each code gives, by id or name.
        #[arg(long)]
        plan: String,
        /// How many codes.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_BATCH_CODES)))]
        count: u32,
        /// Random characters per code (7 to 16).
        #[arg(long, default_value_t = 8)]
        length: u32,
        /// Printed before every code (up to 6 letters and digits).
        #[arg(long)]
        prefix: Option<String>,
        /// What each code sells for, in KES (for the record).
        #[arg(long)]
        price: Option<u32>,
        /// Unsold codes stop working at the end of this day (UTC), `YYYY-MM-DD`.
        #[arg(long)]
        valid_until: Option<jiff::civil::Date>,
        /// A router to load the codes on, by id or name (repeat for several).
        #[arg(long = "router", required = true)]
        routers: Vec<String>,
        /// Print JSON (with the codes).
        #[arg(long)]
        json: bool,
    },
    /// List a tenant's batches with their codes counted by state.
    List {
        /// The tenant, by id or name.
        #[arg(long)]
        tenant: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a batch: its counts and each code's state, first login, device and data used.
    Show {
        /// The batch id.
        batch: VoucherBatchId,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a batch's codes as CSV.
    Export {
        /// The batch id.
        batch: VoucherBatchId,
        /// CSV (the only format).
        #[arg(long, required = true)]
        csv: bool,
    },
    /// Revoke a batch, or one code of it: removed from the routers, refused on the portal.
    Revoke {
        /// The batch id.
        batch: VoucherBatchId,
        /// Only this code.
        #[arg(long)]
        code: Option<String>,
    },
}

/// Runs `voucher ...`.
pub(super) async fn run(store: &dyn Store, command: VoucherCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    match command {
        VoucherCommand::Create { tenant, plan, count, length, prefix, price, valid_until, routers, json } => {
            let tenant = store.find_tenant(&tenant).await?.with_context(|| format!("no tenant {tenant:?}"))?.id;
            let input = VoucherBatchInput {
                plan_id: find_plan(store, tenant, &plan).await?,
                count,
                code_length: length,
                prefix,
                price_kes: price,
                valid_until: valid_until.map(end_of_day).transpose()?,
                routers: find_routers(store, tenant, &routers).await?,
            };
            let (batch, codes) = create_batch(store, tenant, input).await?;
            if json {
                let codes: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
                writeln!(out, "{}", json!({ "batch": batch, "codes": codes }))?;
            } else {
                writeln!(out, "voucher batch {} created: {} codes on {} router(s)", batch.id, codes.len(), batch.routers.len())?;
                writeln!(out, "export them with: jasiyo-cloud voucher export {} --csv", batch.id)?;
            }
        }
        VoucherCommand::List { tenant, json } => {
            let tenant = store.find_tenant(&tenant).await?.with_context(|| format!("no tenant {tenant:?}"))?.id;
            let batches = store.voucher_batches(tenant, now_ms() / 1000).await?;
            if json {
                let list: Vec<_> = batches.iter().map(|(batch, counts)| json!({ "batch": batch, "counts": counts })).collect();
                writeln!(out, "{}", serde_json::Value::Array(list))?;
            } else {
                for (b, c) in batches {
                    let state = if b.revoked_at.is_some() { "revoked" } else { "" };
                    writeln!(
                        out,
                        "{}  {:>5} codes  unused {:>5}  in use {:>5}  expired {:>5}  revoked {:>5}  {state}",
                        b.id, b.count, c.unused, c.in_use, c.expired, c.revoked
                    )?;
                }
            }
        }
        VoucherCommand::Show { batch, json } => {
            let (found, plan) = batch_of(store, batch).await?;
            let lines = store.voucher_codes(found.tenant_id, batch, now_ms() / 1000).await?;
            let mut counts = crate::model::VoucherCounts::default();
            lines.iter().for_each(|l| counts.add(l.state));
            if json {
                writeln!(out, "{}", json!({ "batch": found, "plan": plan, "counts": counts, "codes": lines }))?;
            } else {
                writeln!(out, "batch {} of plan {plan}: {} codes on {} router(s)", found.id, found.count, found.routers.len())?;
                writeln!(
                    out,
                    "unused {}  in use {}  expired {}  revoked {}",
                    counts.unused, counts.in_use, counts.expired, counts.revoked
                )?;
                for line in lines {
                    let mac = line.device_mac.map_or_else(|| "-".into(), |m| m.to_string());
                    let first = line.first_used_at.and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok());
                    let first = first.map_or_else(|| "-".into(), |t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
                    let used = line.usage.map_or_else(|| "-".into(), |u| u.describe());
                    let second = line.second_router.map(|r| format!("  also used on router {r}: ended there")).unwrap_or_default();
                    writeln!(out, "{}  {:<8}  {first:<20}  {mac:<17}  {used}{second}", line.code.as_str(), line.state.as_str())?;
                }
            }
        }
        VoucherCommand::Export { batch, csv: _ } => {
            let (found, plan) = batch_of(store, batch).await?;
            let lines = store.voucher_codes(found.tenant_id, batch, now_ms() / 1000).await?;
            write!(out, "{}", csv::export(&found, &plan, &lines))?;
        }
        VoucherCommand::Revoke { batch, code } => {
            let (found, _) = batch_of(store, batch).await?;
            let revoked = revoke(store, found.tenant_id, batch, code.as_deref()).await?;
            writeln!(out, "{revoked} code(s) revoked; their removal is queued for {} router(s)", found.routers.len())?;
        }
    }
    Ok(())
}

/// The batch (whichever tenant's: the operator sees all) and its plan's name.
async fn batch_of(store: &dyn Store, id: VoucherBatchId) -> anyhow::Result<(VoucherBatch, String)> {
    let batch = store.voucher_batch_any(id).await?.with_context(|| format!("no voucher batch {id}"))?;
    let plan = store.plan(batch.plan_id).await?.map(|p| p.name).unwrap_or_default();
    Ok((batch, plan))
}

async fn find_plan(store: &dyn Store, tenant: TenantId, plan: &str) -> anyhow::Result<PlanId> {
    let plans = store.list_plans(tenant).await?;
    let by_id: Option<PlanId> = plan.parse().ok();
    plans
        .into_iter()
        .find(|p| Some(p.id) == by_id || p.name == plan)
        .map(|p| p.id)
        .with_context(|| format!("no plan {plan:?} for this tenant"))
}

async fn find_routers(store: &dyn Store, tenant: TenantId, names: &[String]) -> anyhow::Result<Vec<RouterId>> {
    let routers = store.list_routers(Some(tenant)).await?;
    let mut found = Vec::new();
    for name in names {
        let by_id: Option<RouterId> = name.parse().ok();
        match routers.iter().find(|r| Some(r.id) == by_id || &r.name == name) {
            Some(router) => found.push(router.id),
            None => bail!("no router {name:?} for this tenant"),
        }
    }
    Ok(found)
}

/// The last second of `day` (UTC), as Unix seconds: codes are good through that day.
fn end_of_day(day: jiff::civil::Date) -> anyhow::Result<i64> {
    let next = day.tomorrow().context("date out of range")?;
    Ok(next.to_zoned(jiff::tz::TimeZone::UTC)?.timestamp().as_second() - 1)
}
