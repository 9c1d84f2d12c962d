//! How fast the link came back after each fault that broke it, and how fast the commands
//! waiting at that moment reached the agent: the first target of "back to sub-second after
//! a fault" (reconnected within 2 s, every pending command delivered within 1 s of it).
//!
//! - Reconnect: from a link-breaking fault's end (the cut made, the freeze thawed, the
//!   killed process started again) to the relay's next welcome. A freeze that ends before
//!   the agent's detection may leave the old connection working: no welcome follows within
//!   [`KEPT_AFTER`], and the fault is counted as "link kept".
//! - Catch-up: from that welcome to the last durable receipt on the agent of the commands
//!   created before it and not yet received.
//!
//! A fault whose recovery the next fault interrupted is counted apart, not measured.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use jasiyo_cloud::model::StoredCommand;
use tokio::time::Instant;

use super::breakdown::Clock;
use super::faults::Fault;

/// With no welcome this long after a freeze's end (and no other fault meanwhile), the old
/// connection carried on.
const KEPT_AFTER: Duration = Duration::from_secs(5);

/// The link's recoveries in a run.
#[derive(Debug, Default)]
pub struct LinkBack {
    /// Fault's end -> welcome (ms, sorted).
    pub reconnect_ms: Vec<f64>,
    /// The same by kind of fault (issue 20's 2 s target is for cuts, freezes and agent
    /// restarts; a cloud restart has the fleet's own).
    pub reconnect_by_kind: BTreeMap<&'static str, Vec<f64>>,
    /// Welcome -> every command waiting then received by the agent (ms, sorted).
    pub catch_up_ms: Vec<f64>,
    /// Freezes after which the old connection carried on.
    pub link_kept: usize,
    /// Faults whose recovery the next fault cut short.
    pub interrupted: usize,
    /// Faults after which the link did not come back before the next fault, though it was
    /// [`KEPT_AFTER`] or more away (or there was none).
    pub not_back: usize,
}

impl LinkBack {
    /// Adds another site's recoveries to these (call [`sort`](Self::sort) after).
    pub fn absorb(&mut self, other: LinkBack) {
        self.reconnect_ms.extend(other.reconnect_ms);
        for (kind, times) in other.reconnect_by_kind {
            self.reconnect_by_kind.entry(kind).or_default().extend(times);
        }
        self.catch_up_ms.extend(other.catch_up_ms);
        self.link_kept += other.link_kept;
        self.interrupted += other.interrupted;
        self.not_back += other.not_back;
    }

    /// Sorts the times, for their percentiles.
    pub fn sort(&mut self) {
        self.reconnect_ms.sort_by(f64::total_cmp);
        self.catch_up_ms.sort_by(f64::total_cmp);
        for times in self.reconnect_by_kind.values_mut() {
            times.sort_by(f64::total_cmp);
        }
    }
}

/// Whether a fault breaks the agent's connection.
fn breaks_link(fault: Fault) -> bool {
    matches!(fault, Fault::CloudKilled | Fault::AgentKilled | Fault::LinkCut | Fault::LinkFrozen)
}

/// Measures every link-breaking fault of `spans` (those that reached one site) against its
/// relay's `welcomes` and its router's `commands`.
pub fn measure(
    spans: &[(Fault, Instant, Instant)],
    welcomes: &[Instant],
    commands: &HashMap<u64, StoredCommand>,
    clock: Clock,
) -> LinkBack {
    let mut back = LinkBack::default();
    for (i, (fault, began, over)) in spans.iter().enumerate() {
        if !breaks_link(*fault) {
            continue;
        }
        let next = spans.get(i + 1).map(|s| s.1);
        let welcome = welcomes.iter().copied().find(|w| w >= began && next.is_none_or(|next| *w < next));
        let Some(welcome) = welcome else {
            match (*fault, next.is_some_and(|next| next < *over + KEPT_AFTER)) {
                (_, true) => back.interrupted += 1,
                (Fault::LinkFrozen, false) => back.link_kept += 1,
                (_, false) => back.not_back += 1,
            }
            continue;
        };
        let reconnect = welcome.saturating_duration_since(*over).as_secs_f64() * 1000.0;
        back.reconnect_ms.push(reconnect);
        back.reconnect_by_kind.entry(fault.label()).or_default().push(reconnect);
        let at = clock.unix_ms(welcome);
        let waiting: Vec<i64> =
            commands.values().filter(|c| c.created_at < at).filter_map(|c| c.received_at).filter(|received| *received > at).collect();
        let Some(last) = waiting.iter().max() else { continue };
        if next.is_some_and(|next| clock.unix_ms(next) <= *last) {
            back.interrupted += 1;
            continue;
        }
        back.catch_up_ms.push((last - at) as f64);
    }
    back.sort();
    back
}

impl fmt::Display for LinkBack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (r, c) = (&self.reconnect_ms, &self.catch_up_ms);
        let p = super::summary::percentile;
        writeln!(
            f,
            "  link back after a fault (its end -> welcome): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({}; {} freezes kept the link, {} cut short by the next fault, {} NOT BACK)",
            p(r, 0.5),
            p(r, 0.99),
            p(r, 1.0),
            r.len(),
            self.link_kept,
            self.interrupted,
            self.not_back
        )?;
        let kinds: Vec<String> =
            self.reconnect_by_kind.iter().map(|(kind, t)| format!("{kind} {:.0}/{:.0} ms ({})", p(t, 0.5), p(t, 1.0), t.len())).collect();
        writeln!(f, "    by fault, p50/max: {}", kinds.join(", "))?;
        writeln!(
            f,
            "    commands waiting then, all on the agent: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms after the welcome ({})",
            p(c, 0.5),
            p(c, 0.99),
            p(c, 1.0),
            c.len()
        )
    }
}
