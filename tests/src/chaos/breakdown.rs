//! Where the slow payments of a chaos run spent their time: for each payment whose user
//! reached the router more than [`SLOW`] after the provider's success, the time to settle
//! it (callback or status query), to get its command durable on the agent, and to apply it
//! on the router, with the faults that overlapped it. Summed by the longest stage and by
//! fault kind, and the slowest listed with their timelines.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use jasiyo_cloud::model::{Entitlement, Payment, StoredCommand};
use tokio::time::Instant;

use super::faults::Fault;
use super::stack::Stack;

/// A payment slower than this is broken down.
pub const SLOW: Duration = Duration::from_secs(3);

/// How many of the slowest are listed.
const LISTED: usize = 12;

/// A fault counts for a payment when it overlaps the payment's wait, or ended this long
/// before the success (a cloud restarted just before still has its backlog).
const LINGER: Duration = Duration::from_secs(3);

/// One slow payment's stages (ms).
#[derive(Debug, Clone)]
pub struct Slow {
    /// The customer's number.
    pub n: usize,
    /// The provider it paid through.
    pub provider: &'static str,
    /// Success to user on the router.
    pub total_ms: i64,
    /// Success to paid in the cloud.
    pub settle_ms: i64,
    /// Paid to the creating command durable on the agent.
    pub deliver_ms: i64,
    /// Durable on the agent to the user on the router.
    pub apply_ms: i64,
    /// The faults that overlapped it.
    pub faults: Vec<&'static str>,
    /// Its events, ms after the success.
    pub events: String,
}

impl Slow {
    /// The longest of its stages.
    pub fn stage(&self) -> &'static str {
        let stages = [
            (self.settle_ms, "settling (callback/query)"),
            (self.deliver_ms, "delivery to the agent"),
            (self.apply_ms, "applying on the router"),
        ];
        stages.iter().max_by_key(|(ms, _)| *ms).map(|(_, name)| *name).unwrap_or("?")
    }
}

/// Turns the test's instants into Unix ms, and back.
#[derive(Clone, Copy)]
pub struct Clock {
    instant: Instant,
    unix_ms: i64,
}

impl Clock {
    /// Now, on both clocks.
    pub fn now() -> Clock {
        Clock { instant: Instant::now(), unix_ms: jasiyo_cloud::store::now_ms() }
    }

    /// `at` in Unix ms.
    pub fn unix_ms(&self, at: Instant) -> i64 {
        self.unix_ms - self.instant.saturating_duration_since(at).as_millis() as i64
    }
}

/// The stages of one payment (customer `n`, paying through `provider`) that reached the
/// router after `approved` (seen at `seen`).
#[allow(clippy::too_many_arguments)]
pub async fn stages(
    stack: &Stack,
    (n, provider): (usize, &'static str),
    payment: &Payment,
    entitlement: &Entitlement,
    commands: &HashMap<u64, StoredCommand>,
    spans: &[(Fault, Instant, Instant)],
    (approved, seen): (Instant, Instant),
    clock: Clock,
) -> Slow {
    let (approved_ms, seen_ms) = (clock.unix_ms(approved), clock.unix_ms(seen));
    let paid_ms = payment.paid_at.unwrap_or(seen_ms);
    // A plan moved to a second device has the move's command; the user came with the first.
    let first = commands.values().filter(|c| c.command.user_names().contains(&entitlement.username.as_str())).map(|c| c.seq.0).min();
    let command_seq = first.unwrap_or(entitlement.command_seq);
    let received_ms = commands.get(&command_seq).and_then(|c| c.received_at).unwrap_or(paid_ms).clamp(paid_ms, seen_ms);
    let faults =
        spans.iter().filter(|(_, began, over)| *began <= seen && *over + LINGER >= approved).map(|(fault, _, _)| fault.label()).collect();
    let events = stack.store.payment_events(payment.id).await.unwrap_or_default();
    let events = events.iter().map(|e| format!("{}@{:+}", e.kind, e.at - approved_ms)).collect::<Vec<_>>().join(" ");
    let command = commands.get(&command_seq);
    let command = command.map(|c| {
        let rel = |at: Option<i64>| at.map_or("-".to_string(), |at| format!("{:+}", at - approved_ms));
        format!(
            " | cmd {} created{} delivered{} received{} done{}",
            c.seq.0,
            rel(Some(c.created_at)),
            rel(c.delivered_at),
            rel(c.received_at),
            rel(c.finished_at)
        )
    });
    Slow {
        n,
        provider,
        total_ms: seen_ms - approved_ms,
        settle_ms: paid_ms - approved_ms,
        deliver_ms: received_ms - paid_ms,
        apply_ms: seen_ms - received_ms,
        faults,
        events: events + &command.unwrap_or_default(),
    }
}

/// The slow payments of a run.
#[derive(Debug, Default)]
pub struct Breakdown {
    /// Every slow payment.
    pub slow: Vec<Slow>,
}

impl fmt::Display for Breakdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.slow.is_empty() {
            return Ok(());
        }
        writeln!(f, "  slower than {} s: {} payments", SLOW.as_secs(), self.slow.len())?;
        let mut by_stage: BTreeMap<&str, (usize, i64)> = BTreeMap::new();
        let mut by_fault: BTreeMap<&str, (usize, i64)> = BTreeMap::new();
        for slow in &self.slow {
            let entry = by_stage.entry(slow.stage()).or_default();
            entry.0 += 1;
            entry.1 = entry.1.max(slow.total_ms);
            let mut kinds = slow.faults.clone();
            kinds.sort();
            kinds.dedup();
            if kinds.is_empty() {
                kinds.push("none");
            }
            for kind in kinds {
                let entry = by_fault.entry(kind).or_default();
                entry.0 += 1;
                entry.1 = entry.1.max(slow.total_ms);
            }
        }
        writeln!(f, "    by longest stage:")?;
        for (stage, (count, max)) in by_stage {
            writeln!(f, "      {stage:<28} {count:>4} (max {:.1} s)", max as f64 / 1000.0)?;
        }
        writeln!(f, "    by fault overlapping it:")?;
        for (fault, (count, max)) in by_fault {
            writeln!(f, "      {fault:<28} {count:>4} (max {:.1} s)", max as f64 / 1000.0)?;
        }
        let mut slowest = self.slow.clone();
        slowest.sort_by_key(|s| std::cmp::Reverse(s.total_ms));
        for s in slowest.iter().take(LISTED) {
            writeln!(
                f,
                "    #{} ({}) {:.1} s: settle {:.1}, deliver {:.1}, apply {:.1}; faults [{}]\n      {}",
                s.n,
                s.provider,
                s.total_ms as f64 / 1000.0,
                s.settle_ms as f64 / 1000.0,
                s.deliver_ms as f64 / 1000.0,
                s.apply_ms as f64 / 1000.0,
                s.faults.join(", "),
                s.events
            )?;
        }
        Ok(())
    }
}
