//! `payment ...`: a router's payments and one payment's timeline; the operator's answers to
//! "I paid but I'm not online": ask the provider again, or settle on their own word.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use jasiyo_shared::RouterId;
use serde_json::json;

use super::zones;
use crate::model::PaymentId;
use crate::payments::Payments;
use crate::store::Store;
use crate::time::{show_ms, show_secs, with_rfc3339};

/// `payment ...`
#[derive(Debug, Subcommand)]
pub enum PaymentCommand {
    /// A router's payments, newest first.
    List {
        /// The router id.
        #[arg(long)]
        router: RouterId,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Lets "Already paid?" move the payment's plan to another device again today (a
    /// customer who changed phones twice, after the shop checked).
    ResetMoves {
        /// The payment id.
        payment: PaymentId,
    },
    /// Asks the payment's provider where it stands now and applies the answer (a payment
    /// that timed out here but was paid is provisioned).
    Recheck {
        /// The payment id.
        payment: PaymentId,
    },
    /// Records the payment paid on the operator's word, after checking the M-Pesa statement:
    /// provisions it like any paid payment, and writes the reason on its timeline.
    Settle {
        /// The payment id.
        payment: PaymentId,
        /// The M-Pesa receipt (transaction code) of the payment.
        #[arg(long)]
        receipt: String,
        /// Why (who checked what): kept on the payment's record.
        #[arg(long)]
        reason: String,
    },
    /// One payment with its timeline.
    Show {
        /// The payment id.
        payment: PaymentId,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `payment ...`.
pub(super) async fn run(
    store: &dyn Store,
    command: PaymentCommand,
    service: &dyn Fn() -> anyhow::Result<Arc<Payments>>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        PaymentCommand::Recheck { payment } => {
            let rechecked = service()?.recheck(payment).await?;
            match &rechecked.answer {
                Some(answer) => writeln!(
                    out,
                    "payment {payment}: the provider says {} {} ({:?}); the payment is {}",
                    answer.code,
                    answer.description,
                    answer.status,
                    rechecked.state.as_str()
                )?,
                None => writeln!(out, "payment {payment} is paid; nothing to ask (`payment show` has its timeline)")?,
            }
        }
        PaymentCommand::Settle { payment, receipt, reason } => {
            service()?.settle_by_operator(payment, &receipt, &reason).await?;
            writeln!(out, "payment {payment}: paid (settled by the operator); its plan is on the way to the router")?;
        }
        PaymentCommand::List { router, limit, json } => {
            let payments = store.list_payments(router, limit).await?;
            let tz = zones::of_router(store, router).await?;
            if json {
                let mut value = serde_json::to_value(&payments)?;
                with_rfc3339(&mut value, &tz);
                writeln!(out, "{value}")?;
            } else {
                for p in payments {
                    let reason = p.reason.as_deref().or(p.receipt.as_deref()).unwrap_or("");
                    let at = show_ms(p.created_at, &tz);
                    writeln!(out, "{}  {at}  {:>6} KES  {}  {:<10}  {}", p.id, p.amount_kes, p.msisdn, p.state.as_str(), reason)?;
                }
            }
        }
        PaymentCommand::ResetMoves { payment } => {
            if !store.reset_moves(payment).await? {
                anyhow::bail!("payment {payment} bought no plan");
            }
            store.add_payment_event(payment, "moves_reset", "another move allowed today (operator)", crate::store::now_ms()).await?;
            writeln!(out, "payment {payment}: its plan may move to another device again")?;
        }
        PaymentCommand::Show { payment, json } => {
            let p = store.payment(payment).await?.with_context(|| format!("no payment {payment}"))?;
            let events = store.payment_events(payment).await?;
            let entitlement = store.entitlement_for_payment(payment).await?;
            let tz = zones::of_tenant(store, p.tenant_id).await?;
            if json {
                let mut value = json!({ "payment": p, "timeline": events, "entitlement": entitlement });
                with_rfc3339(&mut value, &tz);
                writeln!(out, "{value}")?;
            } else {
                writeln!(
                    out,
                    "payment {}: {} KES from {} via {}, {}",
                    p.id,
                    p.amount_kes,
                    p.msisdn,
                    p.provider.as_str(),
                    p.state.as_str()
                )?;
                for e in events {
                    writeln!(out, "  {}  {:<20} {}", show_ms(e.at, &tz), e.kind, e.detail)?;
                }
                if let Some(e) = entitlement {
                    writeln!(out, "hotspot user {} until {}", e.username, show_secs(e.expires_at, &tz))?;
                }
            }
        }
    }
    Ok(())
}
