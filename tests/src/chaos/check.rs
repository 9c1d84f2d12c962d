//! After the stream: wait (bounded) until the system is quiet, then check the invariants
//! from the emulators' own records and the cloud's database, site by site
//! ([`super::site_check`]), and sum up. On each site (each provider's tenant and router):
//!
//! - Every prompt the provider reports as approved is a payment the cloud holds as paid,
//!   once, with one user on that site's router whose expiry is the plan's length after
//!   payment.
//! - Every other payment is not paid and has no user.
//! - The router holds no user that is not a paid payment's; no phone got two prompts.
//! - Every command has its result; none is left in the outbox.
//! - The agent's journal, read after a SIGKILL, agrees with the router ([`super::journal`]).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use jasiyo_cloud::model::{CommandState, Entitlement, Payment};
use jasiyo_shared::{Command, MacAddress};
use tokio::time::Instant;

use super::ChaosConfig;
use super::breakdown;
use super::driver::Customer;
use super::faults::Injected;
use super::site::Site;
use super::site_check::{self, Shared};
use super::stack::{PLAN_SECS, Stack};
use super::stretches::Stretches;
use super::summary::Summary;
use crate::payment_emulator::{Prompt, Provider};

/// Waits for quiet, then checks.
pub async fn check(
    stack: &Stack,
    customers: &[Customer],
    injected: Injected,
    config: &ChaosConfig,
    started: Instant,
) -> anyhow::Result<Summary> {
    let mut summary = Summary { faults: injected.counts.iter().map(|(f, n)| (f.label(), *n)).collect(), ..Summary::default() };
    let quiet = settle(stack, customers, config.settle_limit).await?;
    let last_fault = injected.last_over.unwrap_or(started);
    for ((fault, _, _), site) in injected.spans.iter().zip(&injected.sites) {
        if let Some(site) = site {
            *summary.fault_sites.entry(fault.label()).or_default().entry(stack.sites[*site].label()).or_default() += 1;
        }
    }
    summary.elapsed = started.elapsed();
    summary.stretches = Stretches::cover(&injected.spans, config.stream_length());
    let prompts: HashMap<String, Prompt> = stack.pay.prompts().await.into_iter().map(|p| (p.provider_ref.clone(), p)).collect();
    let mut per_phone: HashMap<String, usize> = HashMap::new();
    for prompt in prompts.values() {
        *per_phone.entry(prompt.msisdn.clone()).or_default() += 1;
    }
    let shared = Shared { prompts, per_phone, injected: &injected, last_fault, clock: breakdown::Clock::now() };
    // Users put on the routers for what customers did after the faults (late approvals):
    // their arrival is not a repair, and is left out of the convergence time.
    let mut not_repairs: Vec<NotRepairs> = stack.sites.iter().map(|_| NotRepairs::default()).collect();
    for (index, not_repairs) in not_repairs.iter_mut().enumerate() {
        site_check::check_site(stack, index, customers, &shared, &mut summary, not_repairs).await?;
    }
    summary.link_back.sort();
    callbacks(stack, &mut summary).await;
    if quiet {
        let mut last = None;
        for (site, not_repairs) in stack.sites.iter().zip(&not_repairs) {
            let at = last_repair(stack, site, not_repairs).await?;
            last = Some(last.map_or(at, |l: Instant| l.max(at)));
        }
        summary.converged_after = last.map(|at| at.saturating_duration_since(last_fault));
    }
    summary.latencies_ms.sort_by(f64::total_cmp);
    summary.reconciled_ms.sort_by(f64::total_cmp);
    summary.after_faults_ms.sort_by(f64::total_cmp);
    summary.stretches.sort();
    Ok(summary)
}

/// Counts the callbacks the provider emulator sent, by provider, and those the cloud took
/// (2xx). One it refused (4xx) is a violation: that tenant's callback or webhook (its URL,
/// token or signature) is not set up as the product needs it. Those that found the cloud
/// down or failing are left to the provider's retries and to reconciliation.
async fn callbacks(stack: &Stack, summary: &mut Summary) {
    for callback in stack.pay.callbacks().await {
        let provider = match callback.provider {
            Provider::Daraja => "Daraja",
            Provider::PayHero => "PayHero",
            Provider::Paystack => "Paystack",
        };
        let (taken, sent) = summary.callbacks.entry(provider).or_default();
        *sent += 1;
        match callback.status {
            Some(200..=299) => *taken += 1,
            Some(status @ 400..=499) => {
                summary.violations.push(format!("{provider} callback for {} refused: HTTP {status}", callback.provider_ref))
            }
            _ => {}
        }
    }
}

/// Waits until every approved prompt's user is on its site's router and every outbox is
/// empty, or `limit` passes. Says whether it got quiet.
async fn settle(stack: &Stack, customers: &[Customer], limit: Duration) -> anyhow::Result<bool> {
    let approved: Vec<usize> =
        (0..stack.sites.len()).map(|site| customers.iter().filter(|c| c.site == site && c.approved_at.is_some()).count()).collect();
    let deadline = Instant::now() + limit;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    'waiting: while Instant::now() < deadline {
        tick.tick().await;
        for (site, approved) in stack.sites.iter().zip(&approved) {
            if site.router.users().await.len() < *approved {
                continue 'waiting;
            }
        }
        for site in &stack.sites {
            let commands = stack.store.list_commands(site.creds.id, 1_000_000).await?;
            if !commands.iter().all(|c| matches!(c.state, CommandState::Applied | CommandState::Failed)) {
                continue 'waiting;
            }
        }
        return Ok(true);
    }
    Ok(false)
}

/// The last moment anything was still being put right on `site`: a user appearing on its
/// router or a command finishing, but for the users and devices in `not_repairs` and their
/// commands.
async fn last_repair(stack: &Stack, site: &Site, not_repairs: &NotRepairs) -> anyhow::Result<Instant> {
    let (now, now_unix_ms) = (Instant::now(), jasiyo_cloud::store::now_ms());
    let first_seen = site.first_seen.lock().expect("first-seen lock").clone();
    let seen = first_seen.iter().filter(|(name, _)| !not_repairs.users.contains(*name)).map(|(_, at)| *at).max();
    let commands = stack.store.list_commands(site.creds.id, 1_000_000).await?;
    let repairs = commands.iter().filter(|c| !not_repairs.covers(&c.command));
    let finished = repairs.filter_map(|c| c.finished_at).max();
    let finished = finished.map(|at| now - Duration::from_millis((now_unix_ms - at).max(0) as u64));
    Ok(seen.into_iter().chain(finished).max().unwrap_or(now))
}

/// What customers did of their own accord, after the faults or not (approving late, moving
/// a plan to a second device): the users and devices it concerns, whose changes are not
/// repairs.
#[derive(Default)]
pub(super) struct NotRepairs {
    users: HashSet<String>,
    /// Every command acting on these devices.
    devices: HashSet<MacAddress>,
    /// Devices a plan moved from: only their sessions' end.
    moved_from: HashSet<MacAddress>,
}

impl NotRepairs {
    /// A late approval: its user, both its devices.
    pub(super) fn add_late(&mut self, customer: &Customer, entitlement: &Entitlement) {
        self.users.insert(entitlement.username.clone());
        self.devices.extend(customer.mac.parse::<MacAddress>().ok());
        self.add_move(customer);
    }

    /// A move to a second device, if the customer made one: the old device's session ended,
    /// the user bound to the new one and the new one logged in.
    pub(super) fn add_move(&mut self, customer: &Customer) {
        let Some(second) = &customer.second else { return };
        self.devices.extend(second.mac.parse::<MacAddress>().ok());
        self.moved_from.extend(customer.mac.parse::<MacAddress>().ok());
    }

    fn covers(&self, command: &Command) -> bool {
        let ended = matches!(command, Command::EndSession { mac } if self.moved_from.contains(mac));
        ended
            || command.user_names().iter().any(|name| self.users.contains(*name))
            || command.device().is_some_and(|d| self.devices.contains(&d))
    }
}

/// Whether the router user's expiry (in its marker) is the cloud's, and the plan's length
/// after payment.
pub(super) fn expiry_problem(payment: &Payment, comment: Option<&str>, expires_at: i64) -> Option<String> {
    let on_router = router_expiry(comment);
    if on_router != Some(expires_at) {
        return Some(format!("expiry on the router {on_router:?}, in the cloud {expires_at}"));
    }
    let paid_at = payment.paid_at.unwrap_or(payment.created_at);
    let length = expires_at - paid_at / 1000;
    (length.abs_diff(PLAN_SECS as i64) > 5).then(|| format!("{length} s of access for a {PLAN_SECS} s plan"))
}

/// The expiry (Unix seconds) in a router user's comment, where the agent marks it.
pub(super) fn router_expiry(comment: Option<&str>) -> Option<i64> {
    comment.and_then(|c| c.strip_prefix("jasiyo exp=")).and_then(|rest| rest.split([' ', '|']).next()?.parse::<i64>().ok())
}

/// The payment's story, for a violation.
pub(super) async fn timeline(stack: &Stack, payment: &Payment) -> String {
    let mut lines = vec![format!("  payment {} {} ref {:?}", payment.id, payment.state.as_str(), payment.provider_ref)];
    for event in stack.store.payment_events(payment.id).await.unwrap_or_default() {
        lines.push(format!("  {} {} {}", event.at, event.kind, event.detail));
    }
    lines.join("\n")
}
