//! The expiries of the entitlements in the journal, kept in memory in time order, so the
//! maintenance loop finds the next expiry (and the due ones) without reading every
//! entitlement back from disk each time a command arrives.
//!
//! An expiry whose enforcement failed waits out a pause before its next attempt, doubling
//! from one failure to the next, so a router that keeps refusing (a missing policy, a
//! missing menu) is asked again a few times a minute at most, not in a tight loop.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use jasiyo_shared::UnixTime;
use tokio::time::Instant;

use crate::link::backoff::Backoff;

/// Name → expiry, the same ordered by time, and the expiries waiting to be tried again.
#[derive(Debug, Default)]
pub struct Expiries {
    by_name: HashMap<String, i64>,
    by_time: BTreeSet<(i64, String)>,
    /// Past-due expiries whose last attempt failed. Always a subset of `by_name`.
    failing: HashMap<String, Failing>,
    /// Failures recorded so far: orders the failing expiries by their first failure.
    failures: u64,
}

/// A past-due expiry whose last attempt failed.
#[derive(Debug)]
struct Failing {
    backoff: Backoff,
    /// No attempt before this.
    retry_at: Instant,
    /// What the last attempt ran into.
    error: String,
    /// Attempts so far.
    attempts: u32,
    /// The user is off the router and that was reported; only ending its sessions is left.
    removal_reported: bool,
    /// When (in failures recorded) this expiry first failed.
    since: u64,
}

/// The next attempt at a failing expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// The pause before it.
    pub delay: Duration,
    /// Attempts that failed so far.
    pub attempts: u32,
}

impl Expiries {
    /// Records (or moves) `name`'s expiry; `None` forgets it (a user without an expiry).
    /// A new expiry starts afresh: no pause, nothing reported.
    pub fn set(&mut self, name: &str, expires_at: Option<UnixTime>) {
        self.remove(name);
        if let Some(at) = expires_at {
            self.by_name.insert(name.to_string(), at.0);
            self.by_time.insert((at.0, name.to_string()));
        }
    }

    /// Forgets `name`.
    pub fn remove(&mut self, name: &str) {
        if let Some(at) = self.by_name.remove(name) {
            self.by_time.remove(&(at, name.to_string()));
        }
        self.failing.remove(name);
    }

    /// The earliest expiry not yet tried (failing ones wait for [`Expiries::next_retry`]).
    pub fn earliest(&self) -> Option<UnixTime> {
        self.by_time.iter().find(|(_, name)| !self.failing.contains_key(name)).map(|(at, _)| UnixTime(*at))
    }

    /// When the first retry pause ends, and its expiry is due by the wall clock, which `at`
    /// reads as an instant (a clock set back must not make a pause that ended look due).
    pub fn next_retry(&self, at: impl Fn(UnixTime) -> Instant) -> Option<Instant> {
        self.failing.iter().map(|(name, f)| self.by_name.get(name).map_or(f.retry_at, |t| f.retry_at.max(at(UnixTime(*t))))).min()
    }

    /// Names whose expiry is at or before `now` and that are not pausing at `instant`,
    /// earliest first.
    pub fn due(&self, now: UnixTime, instant: Instant) -> Vec<String> {
        self.by_time
            .iter()
            .take_while(|(at, _)| *at <= now.0)
            .filter(|(_, name)| self.failing.get(name).is_none_or(|f| f.retry_at <= instant))
            .map(|(_, name)| name.clone())
            .collect()
    }

    /// Records that an attempt at `name`'s expiry failed with `error` at `instant`, and
    /// whether the user's removal has been reported. The pause before the next attempt
    /// starts at `first` and doubles up to `max`. `None` when the expiry is no longer due
    /// at `now` (it was forgotten or moved while the attempt ran): there is nothing to retry.
    pub fn failed(
        &mut self,
        name: &str,
        now: UnixTime,
        failure: Failure,
        instant: Instant,
        first: Duration,
        max: Duration,
    ) -> Option<Retry> {
        if self.by_name.get(name).is_none_or(|at| *at > now.0) {
            return None;
        }
        let since = self.failures;
        self.failures += 1;
        let entry = self.failing.entry(name.to_string()).or_insert_with(|| Failing {
            backoff: Backoff::new(first, max),
            retry_at: instant,
            error: String::new(),
            attempts: 0,
            removal_reported: false,
            since,
        });
        let delay = entry.backoff.next_delay();
        entry.retry_at = instant + delay;
        entry.error = failure.error;
        entry.attempts += 1;
        entry.removal_reported |= failure.removal_reported;
        Some(Retry { delay, attempts: entry.attempts })
    }

    /// Ends every retry pause at `instant` (the router is back: try again now). The pauses
    /// still grow from where they were if the attempts fail again.
    pub fn retry_now(&mut self, instant: Instant) {
        for failing in self.failing.values_mut() {
            failing.retry_at = failing.retry_at.min(instant);
        }
    }

    /// Whether `name`'s removal from the router was already reported.
    pub fn removal_reported(&self, name: &str) -> bool {
        self.failing.get(name).is_some_and(|f| f.removal_reported)
    }

    /// The expiry failing the longest, and its latest error.
    pub fn oldest_failure(&self) -> Option<(&str, &str)> {
        self.failing.iter().min_by_key(|(_, f)| f.since).map(|(name, f)| (name.as_str(), f.error.as_str()))
    }
}

/// What a failed attempt leaves behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// For people: what failed and why.
    pub error: String,
    /// The user is off the router and its expiry was reported.
    pub removal_reported: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn failure(error: &str, removal_reported: bool) -> Failure {
        Failure { error: error.into(), removal_reported }
    }

    #[test]
    fn ordered_by_time_and_movable() {
        let now = Instant::now();
        let mut e = Expiries::default();
        e.set("b", Some(UnixTime(20)));
        e.set("a", Some(UnixTime(10)));
        e.set("c", Some(UnixTime(30)));
        e.set("forever", None);
        assert_eq!(e.earliest(), Some(UnixTime(10)));
        assert_eq!(e.due(UnixTime(20), now), vec!["a", "b"]);
        e.set("a", Some(UnixTime(40)));
        assert_eq!(e.due(UnixTime(25), now), vec!["b"]);
        e.remove("b");
        assert_eq!(e.earliest(), Some(UnixTime(30)));
        e.set("c", None);
        assert_eq!(e.due(UnixTime(100), now), vec!["a"]);
    }

    #[test]
    fn a_failed_expiry_pauses_and_the_pause_doubles_up_to_the_cap() {
        let start = Instant::now();
        let mut e = Expiries::default();
        e.set("a", Some(UnixTime(10)));
        e.set("b", Some(UnixTime(20)));
        let mut at = start;
        for (attempt, step) in [1, 2, 4, 8, 8].into_iter().enumerate() {
            let retry = e.failed("a", UnixTime(30), failure("refused", false), at, SEC, 8 * SEC).unwrap();
            assert_eq!(retry.attempts, attempt as u32 + 1);
            assert!(retry.delay >= step * SEC / 2 && retry.delay <= step * SEC, "attempt {attempt}: {:?}", retry.delay);
            assert_eq!(e.next_retry(|_| start), Some(at + retry.delay));
            assert_eq!(e.due(UnixTime(30), at), vec!["b"], "a waits out its pause; b is not held up");
            assert_eq!(e.earliest(), Some(UnixTime(20)), "a pausing expiry is not the next to try");
            at += retry.delay;
            assert_eq!(e.due(UnixTime(30), at), vec!["a", "b"]);
        }
        assert_eq!(e.oldest_failure(), Some(("a", "refused")));
    }

    #[test]
    fn retry_now_ends_the_pauses_but_not_the_backoff() {
        let start = Instant::now();
        let mut e = Expiries::default();
        e.set("a", Some(UnixTime(10)));
        e.failed("a", UnixTime(10), failure("down", false), start, SEC, 8 * SEC);
        assert!(e.due(UnixTime(10), start).is_empty());
        e.retry_now(start);
        assert_eq!(e.due(UnixTime(10), start), vec!["a"]);
        let retry = e.failed("a", UnixTime(10), failure("down", false), start, SEC, 8 * SEC).unwrap();
        assert!(retry.delay >= SEC, "the second pause is still the second step: {:?}", retry.delay);
    }

    #[test]
    fn the_reported_removal_is_remembered_until_the_expiry_is_forgotten_or_moved() {
        let now = Instant::now();
        let mut e = Expiries::default();
        e.set("a", Some(UnixTime(10)));
        assert!(!e.removal_reported("a"));
        e.failed("a", UnixTime(10), failure("sessions", true), now, SEC, SEC);
        e.failed("a", UnixTime(10), failure("sessions again", false), now, SEC, SEC);
        assert!(e.removal_reported("a"), "once reported, always reported");
        assert_eq!(e.oldest_failure(), Some(("a", "sessions again")));
        e.set("a", Some(UnixTime(50)));
        assert!(!e.removal_reported("a"), "a new expiry starts afresh");
        assert_eq!((e.next_retry(|_| now), e.oldest_failure()), (None, None));
        e.failed("a", UnixTime(50), failure("x", true), now, SEC, SEC);
        e.remove("a");
        assert_eq!((e.next_retry(|_| now), e.oldest_failure()), (None, None));
    }

    #[test]
    fn failures_of_forgotten_or_not_yet_due_expiries_are_not_kept() {
        let now = Instant::now();
        let mut e = Expiries::default();
        assert_eq!(e.failed("gone", UnixTime(10), failure("x", false), now, SEC, SEC), None);
        e.set("moved", Some(UnixTime(100)));
        assert_eq!(e.failed("moved", UnixTime(10), failure("x", false), now, SEC, SEC), None);
        assert_eq!(e.next_retry(|_| now), None);
    }

    #[test]
    fn a_retry_waits_for_its_expiry_when_the_clock_was_set_back() {
        let now = Instant::now();
        let mut e = Expiries::default();
        e.set("a", Some(UnixTime(10)));
        let retry = e.failed("a", UnixTime(10), failure("x", false), now, SEC, SEC).unwrap();
        // The wall clock now reads 10 as a minute from now.
        let later = now + 60 * SEC;
        assert_eq!(e.next_retry(|_| later), Some(later));
        assert_eq!(e.next_retry(|_| now), Some(now + retry.delay));
    }

    #[test]
    fn the_oldest_failure_is_the_one_that_failed_first() {
        let now = Instant::now();
        let mut e = Expiries::default();
        e.set("a", Some(UnixTime(10)));
        e.set("b", Some(UnixTime(5)));
        e.failed("a", UnixTime(10), failure("first", false), now, SEC, SEC);
        e.failed("b", UnixTime(10), failure("second", false), now, SEC, SEC);
        e.failed("b", UnixTime(10), failure("second again", false), now, SEC, SEC);
        assert_eq!(e.oldest_failure(), Some(("a", "first")));
        e.remove("a");
        assert_eq!(e.oldest_failure(), Some(("b", "second again")));
    }
}
