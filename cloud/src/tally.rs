//! Durations counted into fixed buckets with atomics, for histograms whose observations
//! are made where the metrics handle is not at hand: the database pool's waits (counted in
//! the store), and observations counted elsewhere that arrive as bucket counts (the
//! agents' apply times). `metrics` encodes a [`Tally`] as a Prometheus histogram.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) for the database pool's waits: from 0.1 ms (a connection was
/// idle) to 5 s (the pool is exhausted and callers queue).
pub const POOL_WAIT_BOUNDS: &[f64] = &[0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// Observations by bucket, with their sum and count.
#[derive(Debug)]
pub struct Tally {
    bounds: &'static [f64],
    /// One per bound, then one for everything above the last.
    counts: Vec<AtomicU64>,
    sum_nanos: AtomicU64,
}

/// A [`Tally`] read at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TallySnapshot {
    /// The sum of the observations, in seconds.
    pub sum: f64,
    /// How many.
    pub count: u64,
    /// Per bucket (not cumulative): upper bound in seconds (`f64::MAX` for the last) and count.
    pub buckets: Vec<(f64, u64)>,
}

impl Tally {
    /// An empty tally over `bounds` (seconds, increasing).
    pub fn new(bounds: &'static [f64]) -> Tally {
        Tally { bounds, counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(), sum_nanos: AtomicU64::new(0) }
    }

    /// Counts one observation.
    pub fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let bucket = self.bounds.iter().position(|bound| secs <= *bound).unwrap_or(self.bounds.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Adds observations counted elsewhere: `counts` per bucket of this tally's bounds (one
    /// more for above the last; extra entries are ignored, missing ones count zero), whose
    /// times add up to `sum`.
    pub fn add(&self, counts: &[u64], sum: Duration) {
        for (slot, n) in self.counts.iter().zip(counts) {
            slot.fetch_add(*n, Ordering::Relaxed);
        }
        self.sum_nanos.fetch_add(u64::try_from(sum.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Runs `work`, counting how long it took.
    pub async fn time<T>(&self, work: impl std::future::Future<Output = T>) -> T {
        let started = std::time::Instant::now();
        let done = work.await;
        self.observe(started.elapsed());
        done
    }

    /// The counts now.
    pub fn snapshot(&self) -> TallySnapshot {
        let bounds = self.bounds.iter().copied().chain([f64::MAX]);
        let buckets: Vec<(f64, u64)> = bounds.zip(&self.counts).map(|(bound, count)| (bound, count.load(Ordering::Relaxed))).collect();
        TallySnapshot { sum: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9, count: buckets.iter().map(|(_, n)| n).sum(), buckets }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_their_bucket() {
        let tally = Tally::new(&[0.001, 0.01]);
        tally.observe(Duration::from_micros(500));
        tally.observe(Duration::from_millis(5));
        tally.observe(Duration::from_millis(10));
        tally.observe(Duration::from_secs(1));
        let snapshot = tally.snapshot();
        assert_eq!(snapshot.count, 4);
        assert_eq!(snapshot.buckets, vec![(0.001, 1), (0.01, 2), (f64::MAX, 1)]);
        assert!((snapshot.sum - 1.0155).abs() < 1e-9, "{}", snapshot.sum);
    }
}
