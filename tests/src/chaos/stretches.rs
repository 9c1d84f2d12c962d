//! How much of a chaos run the faults covered, and how long they ran back to back: the
//! measure behind issue 20's p99 target. A payment approved just as a stretch of faults
//! begins cannot be on the router before the stretch ends (a frozen or cut link carries
//! nothing), so the p99 of success -> user cannot be shorter than the long stretches. The
//! system's own share is what it adds after them ("beyond the faults"), and the wait of the
//! payments whose wait met no fault at all, both printed here and in the summary.
//!
//! Faults less than [`JOIN`] apart make one stretch: the link needs about that long to come
//! back (the chaos run's measured p99 is under a second), so a fault starting sooner finds
//! the system still recovering from the one before.

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

use super::faults::Fault;
use super::summary::percentile;

/// Faults closer than this are one stretch.
pub const JOIN: Duration = Duration::from_secs(1);

/// The faults' cover of a run.
#[derive(Debug, Default)]
pub struct Stretches {
    /// How long the customers' stream lasted.
    pub stream: Duration,
    /// How long at least one fault was under way.
    pub under_fault: Duration,
    /// Stretches of faults less than [`JOIN`] apart, longest first (s).
    pub lengths_s: Vec<f64>,
    /// Success -> user on the router of the payments whose wait (from [`JOIN`] before the
    /// success to the user's arrival) overlapped no fault (ms, sorted).
    pub untouched_ms: Vec<f64>,
}

impl Stretches {
    /// The cover of `spans` (each fault's start and end, every site's) over a stream that
    /// lasted `stream`; the payments' waits are added with [`Stretches::add_wait`].
    pub fn cover(spans: &[(Fault, Instant, Instant)], stream: Duration) -> Stretches {
        let mut sorted: Vec<(Instant, Instant)> = spans.iter().map(|(_, began, over)| (*began, *over)).collect();
        sorted.sort();
        let mut merged: Vec<(Instant, Instant)> = Vec::new();
        let mut under_fault = Duration::ZERO;
        let mut covered_to: Option<Instant> = None;
        for (began, over) in sorted {
            // The union of the spans, each instant counted once.
            let from = covered_to.map_or(began, |to| began.max(to));
            under_fault += over.saturating_duration_since(from);
            covered_to = Some(covered_to.map_or(over, |to| to.max(over)));
            match merged.last_mut() {
                Some(last) if began <= last.1 + JOIN => last.1 = last.1.max(over),
                _ => merged.push((began, over)),
            }
        }
        let mut lengths_s: Vec<f64> = merged.iter().map(|(b, o)| o.saturating_duration_since(*b).as_secs_f64()).collect();
        lengths_s.sort_by(|a, b| b.total_cmp(a));
        Stretches { stream, under_fault, lengths_s, untouched_ms: Vec::new() }
    }

    /// Counts a payment's wait (its provider's success to its user on the router) among
    /// the untouched if none of `spans` (the faults that could reach its site) overlapped it.
    pub fn add_wait(&mut self, spans: &[(Fault, Instant, Instant)], success: Instant, seen: Instant) {
        if !spans.iter().any(|(_, began, over)| *began <= seen && *over + JOIN >= success) {
            self.untouched_ms.push(seen.saturating_duration_since(success).as_secs_f64() * 1000.0);
        }
    }

    /// Sorts the waits, once all are added.
    pub fn sort(&mut self) {
        self.untouched_ms.sort_by(f64::total_cmp);
    }
}

impl fmt::Display for Stretches {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lengths_s.is_empty() {
            return Ok(());
        }
        let share = 100.0 * self.under_fault.as_secs_f64() / self.stream.as_secs_f64().max(0.001);
        let longest: Vec<String> = self.lengths_s.iter().take(3).map(|s| format!("{s:.1} s")).collect();
        writeln!(
            f,
            "  faults under way {:.0} s of the {:.0} s stream ({share:.0}%); {} stretches of faults less than {} s apart, the longest {}",
            self.under_fault.as_secs_f64(),
            self.stream.as_secs_f64(),
            self.lengths_s.len(),
            JOIN.as_secs(),
            longest.join(", ")
        )?;
        let u = &self.untouched_ms;
        writeln!(
            f,
            "    payments whose wait met no fault: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({})",
            percentile(u, 0.5),
            percentile(u, 0.99),
            percentile(u, 1.0),
            u.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn close_faults_join_and_overlaps_count_once() {
        let s = Instant::now();
        let spans = [
            (Fault::LinkCut, at(s, 1_000), at(s, 2_000)),
            // Overlaps the first: its overlap is counted once.
            (Fault::RouterDown, at(s, 1_500), at(s, 3_000)),
            // 500 ms after: the same stretch.
            (Fault::LinkFrozen, at(s, 3_500), at(s, 7_000)),
            // 3 s after: a stretch of its own.
            (Fault::AgentKilled, at(s, 10_000), at(s, 11_000)),
        ];
        let waits = [
            (at(s, 500), at(s, 7_100)),     // met the faults
            (at(s, 8_500), at(s, 8_520)),   // between them, past JOIN after the last
            (at(s, 11_500), at(s, 11_600)), // within JOIN of the last one's end
            (at(s, 20_000), at(s, 20_010)), // long after
        ];
        let mut stretches = Stretches::cover(&spans, Duration::from_secs(26));
        for (success, seen) in waits {
            stretches.add_wait(&spans, success, seen);
        }
        stretches.sort();
        assert_eq!(stretches.under_fault, Duration::from_millis(2_000 + 3_500 + 1_000));
        assert_eq!(stretches.lengths_s, vec![6.0, 1.0]);
        assert_eq!(stretches.untouched_ms, vec![10.0, 20.0]);
        let shown = stretches.to_string();
        assert!(shown.contains("(25%)"), "{shown}");
        assert!(shown.contains("the longest 6.0 s, 1.0 s"), "{shown}");
    }

    #[test]
    fn a_run_without_faults_prints_nothing() {
        let s = Instant::now();
        let mut stretches = Stretches::cover(&[], Duration::from_secs(10));
        stretches.add_wait(&[], s, at(s, 5));
        assert!(stretches.to_string().is_empty());
        assert_eq!(stretches.untouched_ms, vec![5.0]);
    }
}
