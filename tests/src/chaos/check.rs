//! After the stream: wait (bounded) until the system is quiet, then check the invariants
//! from the emulators' own records and the cloud's database, and sum up.
//!
//! - Every prompt the provider reports as approved is a payment the cloud holds as paid,
//!   once, with one user on the router whose expiry is the plan's length after payment.
//! - Every other payment is not paid and has no user.
//! - The router holds no user that is not a paid payment's; no phone got two prompts.
//! - Every command has its result; none is left in the outbox.
//! - The agent's journal, read after a SIGKILL, agrees with the router ([`super::journal`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::time::Duration;

use jasiyo_cloud::model::{CommandState, Entitlement, Payment, PaymentState, ProviderKind};
use jasiyo_shared::{Command, MacAddress};
use tokio::time::Instant;

use super::ChaosConfig;
use super::breakdown::{self, Breakdown};
use super::driver::{Answer, Customer};
use super::faults::Injected;
use super::journal::JournalCheck;
use super::link_back::{self, LinkBack};
use super::recovery::{self, Checked};
use super::stack::{PLAN_SECS, Stack};
use super::stretches::Stretches;
use crate::payment_emulator::{PromptState, Resolution};

/// What a chaos run found.
#[derive(Debug, Default)]
pub struct Summary {
    /// Customers by what they did (or what stopped them).
    pub outcomes: BTreeMap<String, usize>,
    /// Faults injected by kind.
    pub faults: BTreeMap<&'static str, usize>,
    /// Paid by the provider, no user on the router.
    pub lost: usize,
    /// Served more than once: a second paid payment for one prompt, or a second prompt.
    pub doubled: usize,
    /// Provider success -> user on the router, callbacks delivered (ms, sorted).
    pub latencies_ms: Vec<f64>,
    /// The same for payments whose callback was lost (settled by reconciliation).
    pub reconciled_ms: Vec<f64>,
    /// For each payment of `latencies_ms`: from its provider success, or from the end of
    /// the last fault that ended before its user was on the router if that is later, to the
    /// user on the router (ms, sorted): the wait the system added beyond the faults.
    pub after_faults_ms: Vec<f64>,
    /// Every customer approved (callback delivered) before the last fault ended was on the
    /// router this long after it ended.
    pub caught_up_after: Option<Duration>,
    /// How fast the link came back after each fault that broke it.
    pub link_back: LinkBack,
    /// From the end of the last fault to the last repair (users put on the router for late
    /// approvals, and plans moved to second devices, are not repairs, and are left out).
    pub converged_after: Option<Duration>,
    /// The run's length.
    pub elapsed: Duration,
    /// Customers whose plan moved to their second device as it must ("Already paid?").
    pub recovered: usize,
    /// Customers who could not recover on a second device because the cloud never learnt
    /// the receipt (the callback was lost to a fault; Daraja's status query does not give it).
    pub recoveries_impossible: usize,
    /// What the agent's journal held after quiet (and a SIGKILL), once read and compared
    /// with the router.
    pub journal: Option<JournalCheck>,
    /// Every invariant broken, with the payment's timeline.
    pub violations: Vec<String>,
    /// Where the slow payments (callbacks delivered) spent their time.
    pub breakdown: Breakdown,
    /// How much of the stream the faults covered, and how long they ran back to back.
    pub stretches: Stretches,
}

impl Summary {
    /// Whether every invariant held.
    pub fn ok(&self) -> bool {
        self.violations.is_empty() && self.lost == 0 && self.doubled == 0 && self.converged_after.is_some()
    }
}

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
    summary.elapsed = started.elapsed();
    let prompts: HashMap<String, _> = stack.pay.prompts().into_iter().map(|p| (p.provider_ref.clone(), p)).collect();
    let mut per_phone: HashMap<&str, usize> = HashMap::new();
    for prompt in prompts.values() {
        *per_phone.entry(prompt.msisdn.as_str()).or_default() += 1;
    }
    let router_users: HashMap<String, _> = stack.router.users().into_iter().map(|u| (u.name.clone(), u)).collect();
    let first_seen = stack.first_seen.lock().expect("first-seen lock").clone();
    let commands: HashMap<u64, _> = stack.store.list_commands(stack.creds.id, 1_000_000).await?.into_iter().map(|c| (c.seq.0, c)).collect();
    let clock = breakdown::Clock::now();
    summary.link_back = link_back::measure(&injected.spans, &stack.relay.welcomes(), &commands, clock);
    let mut paid_users = 0;
    let mut waits = Vec::new(); // (success, user on the router) of those whose callback came
    // Users put on the router for what customers did after the faults (late approvals):
    // their arrival is not a repair, and is left out of the convergence time.
    let mut not_repairs = NotRepairs::default();
    let active = stack.router.active();
    for customer in customers {
        let label = match (&customer.refused, &customer.provider_ref) {
            (Some(why), _) => format!("refused by the portal: {why}"),
            (None, None) => "no prompt (push failed)".to_string(),
            (None, Some(_)) => customer.answer.label(),
        };
        *summary.outcomes.entry(label).or_default() += 1;
        if per_phone.get(customer.msisdn.as_str()).copied().unwrap_or(0) > 1 {
            summary.doubled += 1;
            summary.violations.push(format!("customer {}: {} prompts to one phone", customer.n, per_phone[customer.msisdn.as_str()]));
        }
        let payment = stack.store.payment_by_idempotency(stack.creds.id, &customer.key).await?;
        let provider_paid = customer
            .provider_ref
            .as_ref()
            .and_then(|r| prompts.get(r))
            .is_some_and(|p| p.state == PromptState::Resolved(Resolution::Approve));
        let Some(payment) = payment else {
            if customer.provider_ref.is_some() {
                summary.violations.push(format!("customer {}: a prompt reached the phone but the cloud has no payment", customer.n));
                summary.lost += usize::from(provider_paid);
            }
            continue;
        };
        let by_ref = match &customer.provider_ref {
            Some(r) => stack.store.payment_by_provider_ref(ProviderKind::Daraja, r).await?,
            None => None,
        };
        if by_ref.as_ref().is_some_and(|p| p.id != payment.id) {
            summary.doubled += 1;
            summary.violations.push(format!("customer {}: the prompt's reference names another payment", customer.n));
        }
        let entitlement = stack.store.entitlement_for_payment(payment.id).await?;
        match (customer.answer, &entitlement) {
            (Answer::ApproveLate(_), Some(e)) => not_repairs.add_late(customer, e),
            _ => not_repairs.add_move(customer),
        }
        let problem = match (provider_paid, payment.state, &entitlement) {
            (true, PaymentState::Paid, Some(e)) => match router_users.get(&e.username) {
                None => {
                    summary.lost += 1;
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
                                let faults_over = injected.spans.iter().map(|s| s.2).filter(|end| end <= seen).max();
                                let from = faults_over.map_or(approved, |end| end.max(approved));
                                summary.after_faults_ms.push(seen.saturating_duration_since(from).as_secs_f64() * 1000.0);
                                waits.push((approved, *seen));
                                if approved < last_fault {
                                    let after = seen.saturating_duration_since(last_fault);
                                    summary.caught_up_after = Some(summary.caught_up_after.map_or(after, |d| d.max(after)));
                                }
                            }
                        }
                        let lost = customer.answer == Answer::ApproveCallbackLost;
                        if !lost && ms >= breakdown::SLOW.as_millis() as f64 {
                            let times = (approved, *seen);
                            let slow = breakdown::stages(stack, customer.n, &payment, e, &commands, &injected.spans, times, clock).await;
                            summary.breakdown.slow.push(slow);
                        }
                    }
                    let moved = match &customer.second {
                        Some(second) => match recovery::check(second, &customer.mac, &payment, e, &router_users, &active) {
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
                summary.lost += 1;
                let why = if payment.provider_ref.is_none() && payment.secondary_ref.is_none() {
                    " (the push's answer was never written and no callback came: Daraja can be asked only by its reference)"
                } else {
                    ""
                };
                Some(format!("{}: paid by the provider, {} in the cloud{why}", customer.answer.label(), state.as_str()))
            }
            (false, PaymentState::Paid, _) => {
                summary.doubled += 1;
                Some("paid in the cloud, not by the provider".to_string())
            }
            (false, _, Some(e)) => Some(format!("not paid, but has user {}", e.username)),
            (false, _, None) => None,
        };
        if let Some(problem) = problem {
            summary.violations.push(format!("customer {}: {problem}\n{}", customer.n, timeline(stack, &payment).await));
        }
    }
    if router_users.len() != paid_users {
        summary.doubled += router_users.len().saturating_sub(paid_users);
        summary.violations.push(format!("{} users on the router for {paid_users} paid payments", router_users.len()));
    }
    for command in commands.into_values() {
        match (command.state, &command.outcome) {
            (CommandState::Applied, Some(_)) => {}
            (CommandState::Failed, Some(outcome)) => {
                summary.violations.push(format!("command {} ({}) failed: {outcome:?}", command.seq.0, command.command.kind()))
            }
            (state, _) => summary.violations.push(format!("command {} ({}) left {state:?}", command.seq.0, command.command.kind())),
        }
    }
    if quiet {
        summary.converged_after = Some(last_repair(stack, &not_repairs).await?.saturating_duration_since(last_fault));
    }
    summary.stretches = Stretches::measure(&injected.spans, started, config.stream_length(), &waits);
    summary.latencies_ms.sort_by(f64::total_cmp);
    summary.reconciled_ms.sort_by(f64::total_cmp);
    summary.after_faults_ms.sort_by(f64::total_cmp);
    Ok(summary)
}

/// Waits until every approved prompt's user is on the router and the outbox is empty, or
/// `limit` passes. Says whether it got quiet.
async fn settle(stack: &Stack, customers: &[Customer], limit: Duration) -> anyhow::Result<bool> {
    let approved = customers.iter().filter(|c| c.approved_at.is_some()).count();
    let deadline = Instant::now() + limit;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    while Instant::now() < deadline {
        tick.tick().await;
        if stack.router.users().len() < approved {
            continue;
        }
        let commands = stack.store.list_commands(stack.creds.id, 1_000_000).await?;
        if commands.iter().all(|c| matches!(c.state, CommandState::Applied | CommandState::Failed)) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The last moment anything was still being put right: a user appearing on the router or
/// a command finishing, but for the users and devices in `not_repairs` and their commands.
async fn last_repair(stack: &Stack, not_repairs: &NotRepairs) -> anyhow::Result<Instant> {
    let (now, now_unix_ms) = (Instant::now(), jasiyo_cloud::store::now_ms());
    let first_seen = stack.first_seen.lock().expect("first-seen lock").clone();
    let seen = first_seen.iter().filter(|(name, _)| !not_repairs.users.contains(*name)).map(|(_, at)| *at).max();
    let commands = stack.store.list_commands(stack.creds.id, 1_000_000).await?;
    let repairs = commands.iter().filter(|c| !not_repairs.covers(&c.command));
    let finished = repairs.filter_map(|c| c.finished_at).max();
    let finished = finished.map(|at| now - Duration::from_millis((now_unix_ms - at).max(0) as u64));
    Ok(seen.into_iter().chain(finished).max().unwrap_or(now))
}

/// What customers did of their own accord, after the faults or not (approving late, moving
/// a plan to a second device): the users and devices it concerns, whose changes are not
/// repairs.
#[derive(Default)]
struct NotRepairs {
    users: HashSet<String>,
    /// Every command acting on these devices.
    devices: HashSet<MacAddress>,
    /// Devices a plan moved from: only their sessions' end.
    moved_from: HashSet<MacAddress>,
}

impl NotRepairs {
    /// A late approval: its user, both its devices.
    fn add_late(&mut self, customer: &Customer, entitlement: &Entitlement) {
        self.users.insert(entitlement.username.clone());
        self.devices.extend(customer.mac.parse::<MacAddress>().ok());
        self.add_move(customer);
    }

    /// A move to a second device, if the customer made one: the old device's session ended,
    /// the user bound to the new one and the new one logged in.
    fn add_move(&mut self, customer: &Customer) {
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
fn expiry_problem(payment: &Payment, comment: Option<&str>, expires_at: i64) -> Option<String> {
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
async fn timeline(stack: &Stack, payment: &Payment) -> String {
    let mut lines = vec![format!("  payment {} {} ref {:?}", payment.id, payment.state.as_str(), payment.provider_ref)];
    for event in stack.store.payment_events(payment.id).await.unwrap_or_default() {
        lines.push(format!("  {} {} {}", event.at, event.kind, event.detail));
    }
    lines.join("\n")
}

pub(super) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total: usize = self.outcomes.values().sum();
        writeln!(f, "  payments: {total} in {:.0} s", self.elapsed.as_secs_f64())?;
        for (outcome, n) in &self.outcomes {
            writeln!(f, "    {outcome:<28} {n}")?;
        }
        let faults: usize = self.faults.values().sum();
        writeln!(f, "  faults: {faults}")?;
        for (fault, n) in &self.faults {
            writeln!(f, "    {fault:<28} {n}")?;
        }
        writeln!(f, "  LOST (paid, not served): {}   DOUBLED: {}", self.lost, self.doubled)?;
        let (l, r) = (&self.latencies_ms, &self.reconciled_ms);
        writeln!(
            f,
            "  provider success -> user on router: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} payments)",
            percentile(l, 0.5),
            percentile(l, 0.99),
            percentile(l, 1.0),
            l.len()
        )?;
        writeln!(
            f,
            "    callback lost, found by reconciliation: p50 {:.0} ms, max {:.0} ms ({})",
            percentile(r, 0.5),
            percentile(r, 1.0),
            r.len()
        )?;
        let a = &self.after_faults_ms;
        writeln!(
            f,
            "    beyond the faults (from success or the last fault's end, if later): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            percentile(a, 0.5),
            percentile(a, 0.99),
            percentile(a, 1.0)
        )?;
        writeln!(
            f,
            "  second-device recoveries: {} moved (one user, on the new device alone), {} impossible (the cloud never got the receipt)",
            self.recovered, self.recoveries_impossible
        )?;
        write!(f, "{}", self.link_back)?;
        if let Some(after) = self.caught_up_after {
            writeln!(f, "  everyone approved before the last fault ended was online {:.1} s after it", after.as_secs_f64())?;
        }
        if let Some(journal) = &self.journal {
            let agrees = if self.violations.iter().any(|v| v.starts_with("journal:")) { "DISAGREES" } else { "agrees" };
            writeln!(f, "  agent journal after a SIGKILL: {journal}; {agrees} with the router")?;
        }
        match self.converged_after {
            Some(after) => writeln!(f, "  converged {:.1} s after the last fault", after.as_secs_f64())?,
            None => writeln!(f, "  DID NOT CONVERGE")?,
        }
        write!(f, "{}", self.stretches)?;
        write!(f, "{}", self.breakdown)?;
        for violation in &self.violations {
            writeln!(f, "  VIOLATION {violation}")?;
        }
        Ok(())
    }
}
