//! Exponential backoff with jitter, for reconnecting and for retrying commands.

use std::time::Duration;

use rand::Rng;

/// Delays that double after each failure from `initial` up to `max`. Each delay is drawn at
/// random from the upper half of the current step (`[step/2, step]`), so that many agents
/// cut off together (a cloud restart) do not all come back in the same instant; with
/// [`Backoff::spread_first`] the first from all of `[0, initial]`, so that one alone is back
/// at once and a fleet still spreads out.
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    step: Duration,
    /// No delay drawn since the start or the last reset.
    fresh: bool,
    /// The first delay is drawn from `[0, initial]`.
    spread_first: bool,
}

impl Backoff {
    /// A backoff starting at `initial` and never exceeding `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        let initial = initial.min(max);
        Backoff { initial, max, step: initial, fresh: true, spread_first: false }
    }

    /// Draws the first delay (after the start or a reset) from all of `[0, initial]`.
    pub fn spread_first(self) -> Self {
        Backoff { spread_first: true, ..self }
    }

    /// The upper bound of the next delay.
    pub fn step(&self) -> Duration {
        self.step
    }

    /// The delay before the next attempt; the one after will be (about) twice as long.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.draw();
        self.step = self.step.saturating_mul(2).min(self.max);
        delay
    }

    /// A delay from the current step, without growing it.
    fn draw(&mut self) -> Duration {
        let (step, first) = (self.step, std::mem::take(&mut self.fresh) && self.spread_first);
        let nanos = u64::try_from(step.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::rng().random_range(if first { 0 } else { nanos / 2 }..=nanos))
    }

    /// The delay before the next attempt when the other side asked for `hint` (HTTP 503 with
    /// `Retry-After`): the hint plus up to half of it again at random, so that those sent
    /// away together come back spread out, and never less than the backoff's own delay. The
    /// step does not grow: a busy cloud that said when to come back is not a failing link,
    /// and an agent sent away a few times during a fleet's return must not then wait out
    /// the long delays of one whose attempts keep failing.
    pub fn next_delay_at_least(&mut self, hint: Duration) -> Duration {
        let own = self.draw();
        let nanos = u64::try_from(hint.as_nanos()).unwrap_or(u64::MAX);
        own.max(Duration::from_nanos(rand::rng().random_range(nanos..=nanos.saturating_add(nanos / 2))))
    }

    /// The delay before the next attempt after one that cost the other side nothing (a
    /// refused connection: nothing listens there yet, the kernel answered, as while the
    /// cloud restarts): the step grows as usual but never past `cap` (nor shrinks below
    /// `initial`), so that an agent is back within about `cap` of the cloud listening again
    /// instead of sleeping out a step grown while it was down; the jitter still spreads a
    /// fleet over that time.
    pub fn next_delay_capped(&mut self, cap: Duration) -> Duration {
        let cap = cap.max(self.initial);
        self.step = self.step.min(cap);
        let delay = self.draw();
        self.step = self.step.saturating_mul(2).min(self.max).min(cap);
        delay
    }

    /// Starts again from the initial delay (after a success).
    pub fn reset(&mut self) {
        self.step = self.initial;
        self.fresh = true;
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
    fn first_delays_spread_from_zero() {
        let delays: Vec<Duration> = (0..200).map(|_| Backoff::new(1000 * MS, 10_000 * MS).spread_first().next_delay()).collect();
        assert!(delays.iter().all(|d| *d <= 1000 * MS));
        assert!(delays.iter().any(|d| *d < 250 * MS), "no first delay in the lowest quarter: {delays:?}");
        assert!(delays.iter().any(|d| *d > 750 * MS), "no first delay in the highest quarter");
        let mut backoff = Backoff::new(1000 * MS, 10_000 * MS).spread_first();
        backoff.next_delay();
        assert!(backoff.next_delay() >= 1000 * MS, "only the first is spread from zero");
        backoff.reset();
        let after_reset: Vec<Duration> = (0..200)
            .map(|_| {
                backoff.reset();
                backoff.next_delay()
            })
            .collect();
        assert!(after_reset.iter().any(|d| *d < 250 * MS), "a reset spreads the first again");
    }

    #[test]
    fn a_retry_hint_is_honoured_with_jitter() {
        let mut backoff = Backoff::new(10 * MS, 1000 * MS);
        let delays: Vec<Duration> = (0..50).map(|_| backoff.next_delay_at_least(2000 * MS)).collect();
        assert!(delays.iter().all(|d| *d >= 2000 * MS && *d <= 3000 * MS), "{delays:?}");
        assert!(delays.iter().collect::<std::collections::HashSet<_>>().len() > 1, "no jitter");
        let mut backoff = Backoff::new(5000 * MS, 5000 * MS);
        backoff.next_delay();
        assert!(backoff.next_delay_at_least(MS) >= 2500 * MS, "a smaller hint never shortens the backoff");
    }

    #[test]
    fn a_retry_hint_does_not_grow_the_backoff() {
        let mut backoff = Backoff::new(100 * MS, 10_000 * MS);
        backoff.next_delay();
        assert_eq!(backoff.step(), 200 * MS);
        for _ in 0..10 {
            backoff.next_delay_at_least(1000 * MS);
        }
        assert_eq!(backoff.step(), 200 * MS, "sent away ten times with a hint, the own step is where it was");
        let delay = backoff.next_delay();
        assert!(delay <= 200 * MS, "the next failure waits the step it had: {delay:?}");
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
    fn refused_attempts_grow_the_delay_only_up_to_their_cap() {
        let mut backoff = Backoff::new(250 * MS, 60_000 * MS);
        for _ in 0..20 {
            assert!(backoff.next_delay_capped(2000 * MS) <= 2000 * MS);
        }
        assert_eq!(backoff.step(), 2000 * MS);
        for _ in 0..3 {
            backoff.next_delay();
        }
        assert_eq!(backoff.step(), 16_000 * MS, "other failures grow it as before");
        let delay = backoff.next_delay_capped(2000 * MS);
        assert!((1000 * MS..=2000 * MS).contains(&delay), "a refusal brings a grown step back to the cap: {delay:?}");
        let mut slow = Backoff::new(5000 * MS, 60_000 * MS);
        assert!(slow.next_delay_capped(MS) <= 5000 * MS);
        assert_eq!(slow.step(), 5000 * MS, "a cap below the initial delay is the initial delay");
    }

    #[test]
    fn an_initial_delay_above_the_cap_is_capped() {
        let mut backoff = Backoff::new(5000 * MS, 1000 * MS);
        assert!(backoff.next_delay() <= 1000 * MS);
    }
}
