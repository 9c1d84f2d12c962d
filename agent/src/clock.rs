//! Time as the agent reckons it: the router's wall clock, and the cloud's time worked out
//! from the skew between the two measured at each welcome.
//!
//! Expiries come from the cloud in the cloud's time, and reports go back in it, so a router
//! whose clock is hours off neither gives free time nor refuses every sale: the agent
//! compares expiries against `local now - skew` ([`Clock::cloud_now`]). Until the first
//! welcome of a protocol-2 cloud, the skew is the last one measured (kept in the journal),
//! else 0. This is the one place the agent reads the wall clock for that; the test-only
//! offset (`JASIYO_AGENT_CLOCK_OFFSET_SECS`) is applied here.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jasiyo_shared::UnixTime;

/// The router's clock and the skew to the cloud's.
#[derive(Debug)]
pub struct Clock {
    /// Added to the wall clock: for tests that need a router with a wrong clock.
    offset_ms: i64,
    /// The agent's clock minus the cloud's, in ms.
    skew_ms: AtomicI64,
}

impl Clock {
    /// The wall clock moved by `offset_secs` (0 outside tests), with a skew of `skew_ms` to
    /// the cloud until one is measured.
    pub fn new(offset_secs: i64, skew_ms: i64) -> Clock {
        Clock { offset_ms: offset_secs.saturating_mul(1000), skew_ms: AtomicI64::new(skew_ms) }
    }

    /// The router's clock (Unix ms), as the agent reads it.
    pub fn local_ms(&self) -> i64 {
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        wall.saturating_add(self.offset_ms)
    }

    /// The agent's clock minus the cloud's (ms; positive: the router is fast).
    pub fn skew_ms(&self) -> i64 {
        self.skew_ms.load(Ordering::Relaxed)
    }

    /// Records a newly measured skew.
    pub fn set_skew_ms(&self, skew_ms: i64) {
        self.skew_ms.store(skew_ms, Ordering::Relaxed);
    }

    /// The cloud's time now (Unix ms), as far as the agent can tell.
    pub fn cloud_now_ms(&self) -> i64 {
        self.local_ms().saturating_sub(self.skew_ms())
    }

    /// The cloud's time now, as the protocol counts time (whole seconds).
    pub fn cloud_now(&self) -> UnixTime {
        UnixTime(self.cloud_now_ms().div_euclid(1000))
    }

    /// The tokio instant at which the cloud's time reads `at` (now, if that has passed).
    pub fn instant_at(&self, at: UnixTime) -> tokio::time::Instant {
        tokio::time::Instant::now() + wait_until(self.cloud_now_ms(), at)
    }
}

/// How long from `now_ms` until `at` (zero if it has passed).
fn wait_until(now_ms: i64, at: UnixTime) -> Duration {
    let wait = at.0.saturating_mul(1000).saturating_sub(now_ms);
    Duration::from_millis(wait.max(0) as u64)
}

/// The skew (the agent's clock minus the cloud's, ms) from a welcome carrying the cloud's
/// clock `cloud_ms`, read at `received_ms` on the agent's clock.
///
/// The cloud stamped the welcome at some moment between the hello and its arrival, so the
/// true skew lies between `sent - cloud` and `received - cloud`. The upper end is taken
/// (the round trip ignored): the cloud's time as reckoned is then never ahead of the real
/// one, so an expiry is never enforced early, only late by at most the round trip (the
/// cloud's database writes before the welcome included). Taking the middle would enforce
/// expiries early by half the cloud's processing time.
pub fn measure_skew(received_ms: i64, cloud_ms: i64) -> i64 {
    received_ms.saturating_sub(cloud_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR_MS: i64 = 3_600_000;

    #[test]
    fn skew_is_the_agents_clock_minus_the_clouds_at_the_welcome() {
        let cloud = 1_800_000_000_000;
        // Three hours fast or slow, the welcome 100 ms on its way: off by those 100 ms.
        assert_eq!(measure_skew(cloud + 3 * HOUR_MS + 100, cloud), 3 * HOUR_MS + 100);
        assert_eq!(measure_skew(cloud - 3 * HOUR_MS + 100, cloud), -3 * HOUR_MS + 100);
    }

    #[test]
    fn the_clouds_time_as_reckoned_is_never_ahead_of_it() {
        // A right clock; the cloud stamped its welcome 100 ms before it arrived.
        let clock = Clock::new(0, 0);
        let received = clock.local_ms();
        clock.set_skew_ms(measure_skew(received, received - 100));
        let real = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
        let reckoned = clock.cloud_now_ms();
        assert!(reckoned <= real && reckoned >= real - 1_000, "reckoned {reckoned}, real {real}: an expiry is never early");
    }

    #[test]
    fn cloud_time_is_local_time_minus_the_skew() {
        let fast = Clock::new(3 * 3600, 0);
        let local = fast.local_ms();
        let real = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
        assert!((local - real - 3 * HOUR_MS).abs() < 5_000, "the offset moves the clock: {local} vs {real}");
        // Not measured yet: cloud time is the router's (wrong) time.
        assert!((fast.cloud_now_ms() - local).abs() < 5_000);
        fast.set_skew_ms(3 * HOUR_MS);
        assert!((fast.cloud_now_ms() - real).abs() < 5_000, "with the skew known, cloud time is right again");
        assert!((fast.cloud_now().0 - real / 1000).abs() < 5);

        let slow = Clock::new(-3 * 3600, -3 * HOUR_MS);
        assert!((slow.cloud_now_ms() - real).abs() < 5_000);
    }

    #[test]
    fn an_expiry_is_waited_for_in_cloud_time() {
        assert_eq!(wait_until(10_000, UnixTime(70)), Duration::from_secs(60));
        assert_eq!(wait_until(10_500, UnixTime(10)), Duration::ZERO, "past: now");
        assert_eq!(wait_until(10_000, UnixTime(10)), Duration::ZERO);
        // A router three hours fast: an expiry 60 s away in cloud time is 60 s away.
        let clock = Clock::new(3 * 3600, 3 * HOUR_MS);
        let at = UnixTime(clock.cloud_now().0 + 60);
        let wait = clock.instant_at(at) - tokio::time::Instant::now();
        assert!(wait > Duration::from_secs(55) && wait <= Duration::from_secs(60), "{wait:?}");
    }
}
