//! Exponential backoff with jitter, for reconnecting and for retrying commands.

use std::time::Duration;

use rand::Rng;

/// Delays that double after each failure from `initial` up to `max`. Each delay is drawn at
/// random from the upper half of the current step (`[step/2, step]`), so that many agents
/// cut off together (a cloud restart) do not all come back in the same instant.
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    step: Duration,
}

impl Backoff {
    /// A backoff starting at `initial` and never exceeding `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        let initial = initial.min(max);
        Backoff { initial, max, step: initial }
    }

    /// The upper bound of the next delay.
    pub fn step(&self) -> Duration {
        self.step
    }

    /// The delay before the next attempt; the one after will be (about) twice as long.
    pub fn next_delay(&mut self) -> Duration {
        let step = self.step;
        self.step = step.saturating_mul(2).min(self.max);
        let nanos = u64::try_from(step.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::rng().random_range(nanos / 2..=nanos))
    }

    /// Starts again from the initial delay (after a success).
    pub fn reset(&mut self) {
        self.step = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn delays_grow_and_stay_within_the_jitter_bounds() {
        let mut backoff = Backoff::new(100 * MS, 10_000 * MS);
        for expected_step in [100, 200, 400, 800, 1600, 3200, 6400] {
            assert_eq!(backoff.step(), expected_step * MS);
            let delay = backoff.next_delay();
            assert!(delay >= expected_step * MS / 2 && delay <= expected_step * MS, "{delay:?} for step {expected_step}");
        }
    }

    #[test]
    fn delays_are_capped() {
        let mut backoff = Backoff::new(100 * MS, 1000 * MS);
        for _ in 0..100 {
            assert!(backoff.next_delay() <= 1000 * MS);
        }
        assert_eq!(backoff.step(), 1000 * MS);
        let delay = backoff.next_delay();
        assert!(delay >= 500 * MS, "a capped delay keeps its lower jitter bound: {delay:?}");
    }

    #[test]
    fn jitter_actually_varies() {
        let mut backoff = Backoff::new(1000 * MS, 1000 * MS);
        let delays: std::collections::HashSet<Duration> = (0..20).map(|_| backoff.next_delay()).collect();
        assert!(delays.len() > 1, "twenty identical delays: no jitter");
    }

    #[test]
    fn reset_starts_again_from_the_initial_delay() {
        let mut backoff = Backoff::new(10 * MS, 1000 * MS);
        for _ in 0..5 {
            backoff.next_delay();
        }
        assert_eq!(backoff.step(), 320 * MS);
        backoff.reset();
        assert_eq!(backoff.step(), 10 * MS);
        assert!(backoff.next_delay() <= 10 * MS);
    }

    #[test]
    fn an_initial_delay_above_the_cap_is_capped() {
        let mut backoff = Backoff::new(5000 * MS, 1000 * MS);
        assert!(backoff.next_delay() <= 1000 * MS);
    }
}
