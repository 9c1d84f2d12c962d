//! The checks of one site (one provider's tenant, its router and its agent): every
//! customer who paid there, the users on its router and its commands (see [`super::check`]
//! for the invariants). The providers differ in what a status query takes: Paystack's takes
//! our reference, so a lost callback is always settled by reconciliation; Daraja's and
//! PayHero's need the reference their push's answer gave (PayHero's callback carries ours
//! as `ExternalReference`, its status query does not take it: `docs/providers-notes.md`).

use std::collections::HashMap;

use jasiyo_cloud::model::{CommandState, Payment, PaymentState, ProviderKind};
use tokio::time::Instant;

use super::breakdown::{self, Clock};
use super::check::{NotRepairs, expiry_problem, timeline};
use super::driver::{Answer, Customer};
use super::faults::{Fault, Injected};
use super::link_back;
use super::recovery::{self, Checked};
use super::stack::Stack;
use super::summary::Summary;
use crate::payment_emulator::{Prompt, PromptState, Resolution};

/// What every site's check shares.
pub(super) struct Shared<'a> {
    /// Every prompt the provider emulator made, by its reference.
    pub prompts: HashMap<String, Prompt>,
    /// Prompts per phone (`2547...`).
    pub per_phone: HashMap<String, usize>,
    /// The faults of the run.
    pub injected: &'a Injected,
    /// When the last fault was over.
    pub last_fault: Instant,
    /// Instants to Unix ms.
    pub clock: Clock,
}

/// Checks site `index` and its customers (those of `customers` who paid there), adding to
/// `summary` and to the site's `not_repairs`.
pub(super) async fn check_site(
    stack: &Stack,
    index: usize,
    customers: &[Customer],
    shared: &Shared<'_>,
    summary: &mut Summary,
    not_repairs: &mut NotRepairs,
) -> anyhow::Result<()> {
    let site = &stack.sites[index];
    let provider = site.label();
    let spans = shared.injected.spans_for(index);
    let router_users: HashMap<String, _> = site.router.users().await.into_iter().map(|u| (u.name.clone(), u)).collect();
    let first_seen = site.first_seen.lock().expect("first-seen lock").clone();
    let commands: HashMap<u64, _> = stack.store.list_commands(site.creds.id, 1_000_000).await?.into_iter().map(|c| (c.seq.0, c)).collect();
    summary.link_back.absorb(link_back::measure(&spans, &site.relay.welcomes(), &commands, shared.clock));
    let mut paid_users = 0;
    let active = site.router.active().await;
    for customer in customers.iter().filter(|c| c.site == index) {
        let label = match (&customer.refused, &customer.provider_ref) {
            (Some(why), _) => format!("refused by the portal: {why}"),
            (None, None) => "no prompt (push failed)".to_string(),
            (None, Some(_)) => customer.answer.label(),
        };
        summary.outcome(provider, label);
        let prompted = shared.per_phone.get(&customer.msisdn).copied().unwrap_or(0);
        if prompted > 1 {
            summary.doubled(provider, 1);
            summary.violations.push(format!("{provider} customer {}: {prompted} prompts to one phone", customer.n));
        }
        let payment = stack.store.payment_by_idempotency(site.creds.id, &customer.key).await?;
        let provider_paid = customer
            .provider_ref
            .as_ref()
            .and_then(|r| shared.prompts.get(r))
            .is_some_and(|p| p.state == PromptState::Resolved(Resolution::Approve));
        let Some(payment) = payment else {
            if customer.provider_ref.is_some() {
                summary
                    .violations
                    .push(format!("{provider} customer {}: a prompt reached the phone but the cloud has no payment", customer.n));
                summary.lost(provider, usize::from(provider_paid));
            }
            continue;
        };
        let by_ref = match &customer.provider_ref {
            Some(r) => stack.store.payment_by_provider_ref(site.kind, r).await?,
            None => None,
        };
        if by_ref.as_ref().is_some_and(|p| p.id != payment.id) {
            summary.doubled(provider, 1);
            summary.violations.push(format!("{provider} customer {}: the prompt's reference names another payment", customer.n));
        }
        let entitlement = stack.store.entitlement_for_payment(payment.id).await?;
        match (customer.answer, &entitlement) {
            (Answer::ApproveLate(_), Some(e)) => not_repairs.add_late(customer, e),
            _ => not_repairs.add_move(customer),
        }
        let problem = match (provider_paid, payment.state, &entitlement) {
            (true, PaymentState::Paid, Some(e)) => match router_users.get(&e.username) {
                None => {
                    summary.lost(provider, 1);
                    Some(format!("user {} is not on the router", e.username))
                }
                Some(user) => {
                    paid_users += 1;
                    if let (Some(approved), Some(seen)) = (customer.approved_at, first_seen.get(&e.username)) {
                        let ms = seen.saturating_duration_since(approved).as_secs_f64() * 1000.0;
                        match customer.answer {
                            Answer::ApproveCallbackLost => summary.reconciled_ms.push(ms),
                            _ => {
                                summary.latencies_ms.push(ms);
                                let faults_over = spans.iter().map(|s| s.2).filter(|end| end <= seen).max();
                                let from = faults_over.map_or(approved, |end| end.max(approved));
                                summary.after_faults_ms.push(seen.saturating_duration_since(from).as_secs_f64() * 1000.0);
                                summary.stretches.add_wait(&spans, approved, *seen);
                                if approved < shared.last_fault {
                                    let after = seen.saturating_duration_since(shared.last_fault);
                                    summary.caught_up_after = Some(summary.caught_up_after.map_or(after, |d| d.max(after)));
                                }
                            }
                        }
                        let lost = customer.answer == Answer::ApproveCallbackLost;
                        if !lost && ms >= breakdown::SLOW.as_millis() as f64 {
                            let times = (approved, *seen);
                            let slow =
                                breakdown::stages(stack, (customer.n, provider), &payment, e, &commands, &spans, times, shared.clock).await;
                            summary.breakdown.slow.push(slow);
                        }
                    }
                    // A reboot of this site's router may have logged the second device out.
                    let rebooted = customer.second.as_ref().is_some_and(|second| site.router.reboot_since(second.at));
                    let moved = match &customer.second {
                        Some(second) => match recovery::check(second, &customer.mac, &payment, e, &router_users, &active, rebooted) {
                            Checked::Moved => {
                                summary.recovered += 1;
                                None
                            }
                            Checked::Impossible => {
                                summary.recoveries_impossible += 1;
                                None
                            }
                            Checked::Problem(problem) => Some(problem),
                        },
                        None => None,
                    };
                    moved.or_else(|| expiry_problem(&payment, user.comment.as_deref(), e.expires_at))
                }
            },
            (true, state, _) => {
                let unasked = site.kind != ProviderKind::Paystack && payment.provider_ref.is_none() && payment.secondary_ref.is_none();
                let story = format!("{}: paid by the provider, {} in the cloud", customer.answer.label(), state.as_str());
                if unasked && beyond_reach(stack, shared, &payment).await {
                    let story = format!("{provider} customer {}: {story}\n{}", customer.n, timeline(stack, &payment).await);
                    summary.unconfirmable(provider, story);
                    None
                } else {
                    summary.lost(provider, 1);
                    Some(story)
                }
            }
            (false, PaymentState::Paid, _) => {
                summary.doubled(provider, 1);
                Some("paid in the cloud, not by the provider".to_string())
            }
            (false, _, Some(e)) => Some(format!("not paid, but has user {}", e.username)),
            (false, _, None) => None,
        };
        if let Some(problem) = problem {
            summary.violations.push(format!("{provider} customer {}: {problem}\n{}", customer.n, timeline(stack, &payment).await));
        }
    }
    if router_users.len() != paid_users {
        summary.doubled(provider, router_users.len().saturating_sub(paid_users));
        summary.violations.push(format!("{provider}: {} users on the router for {paid_users} paid payments", router_users.len()));
    }
    for command in commands.into_values() {
        match (command.state, &command.outcome) {
            (CommandState::Applied, Some(_)) => {}
            (CommandState::Failed, Some(outcome)) => {
                summary.violations.push(format!("{provider} command {} ({}) failed: {outcome:?}", command.seq.0, command.command.kind()))
            }
            (state, _) => {
                summary.violations.push(format!("{provider} command {} ({}) left {state:?}", command.seq.0, command.command.kind()))
            }
        }
    }
    Ok(())
}

/// Whether an open payment whose push's answer was never written is out of the cloud's
/// reach: no callback ever reached the cloud for it, and a cloud kill began while its push
/// could still be under way (from its creation to the provider client's 15 s timeout, and
/// a second more). Anything else unserved is lost.
async fn beyond_reach(stack: &Stack, shared: &Shared<'_>, payment: &Payment) -> bool {
    let events = stack.store.payment_events(payment.id).await.unwrap_or_default();
    let heard = events.iter().any(|e| e.kind == "callback");
    let push = payment.created_at..=payment.created_at + 16_000;
    let killed =
        shared.injected.spans.iter().any(|(fault, began, _)| *fault == Fault::CloudKilled && push.contains(&shared.clock.unix_ms(*began)));
    !heard && killed
}
