//! How many agents are between their upgrade request and their welcome, the cap on it, and
//! the line in front of the cap.
//!
//! After a cloud restart every agent of the fleet dials at once; each handshake costs a
//! token check and a share of a database write (`connects.rs`), and thousands at once would all be slow
//! together (and time out, and come again). So at most [`HandshakeLimits::max_under_way`]
//! are under way; an upgrade past that waits in a line for a place, for at most
//! [`HandshakeLimits::max_wait`] and with at most [`HandshakeLimits::max_waiting`] in the
//! line. One accepted connection and one parsed request per agent is cheaper than sending it
//! away and parsing it again (an earlier version answered every upgrade past the cap with a
//! 503 at once: a 19,000-agent fleet came back with over 100,000 of them). Only a full line
//! or a wait that runs out is answered with HTTP 503 and a `Retry-After` (see [`Deferred`]).
//! The defaults hold a 20,000-agent fleet in line: an agent sent away from a long line only
//! comes back into it, so a short line or a short wait brought the fleet back later.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

/// The cap on handshakes and the line in front of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandshakeLimits {
    /// Agents between their upgrade request and their welcome, at most (one or more).
    pub max_under_way: usize,
    /// Upgrades waiting for a place, at most; past that they are sent away at once.
    pub max_waiting: usize,
    /// How long an upgrade waits for a place before it is sent away. Below the agent's own
    /// connect timeout (10 s), so a waiting agent is answered before it gives up.
    pub max_wait: Duration,
}

impl Default for HandshakeLimits {
    fn default() -> Self {
        HandshakeLimits { max_under_way: 512, max_waiting: 32_768, max_wait: Duration::from_secs(8) }
    }
}

/// Why an upgrade was not given a place: answered 503 with [`Deferred::retry_after`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deferred {
    /// The line was full: the agent is told to come back once the line ahead of it has
    /// passed (admitted or sent away), the longest wait, at least a second.
    LineFull(Duration),
    /// It waited its longest without a place: it has had its turn in the line, and is told
    /// to come back in a second.
    WaitedOut,
}

impl Deferred {
    /// The `Retry-After` to answer with (whole seconds, at least one).
    pub fn retry_after(self) -> Duration {
        match self {
            Deferred::LineFull(max_wait) => Duration::from_secs(max_wait.as_secs_f64().ceil().max(1.0) as u64),
            Deferred::WaitedOut => Duration::from_secs(1),
        }
    }

    /// For logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Deferred::LineFull(_) => "line_full",
            Deferred::WaitedOut => "waited_out",
        }
    }
}

/// The places and the line, shared by the hub and each handshake's [`HandshakeSlot`].
#[derive(Debug)]
pub struct Handshakes {
    limits: HandshakeLimits,
    places: Arc<Semaphore>,
    /// How many wait in the line; a watch so that tests (and observers) can wait for it.
    waiting: watch::Sender<usize>,
}

/// One handshake's place under the cap; freed when dropped (welcome sent, or the
/// connection gone before it).
#[derive(Debug)]
pub struct HandshakeSlot {
    _place: OwnedSemaphorePermit,
}

/// A place in the line, given back when the wait ends however it ends (the request's
/// future dropped included).
struct InLine<'a>(&'a watch::Sender<usize>);

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|waiting| *waiting -= 1);
    }
}

impl Handshakes {
    /// Places for `limits.max_under_way` handshakes (at least one).
    pub fn new(limits: HandshakeLimits) -> Self {
        let max_under_way = limits.max_under_way.clamp(1, Semaphore::MAX_PERMITS);
        let limits = HandshakeLimits { max_under_way, ..limits };
        Handshakes { limits, places: Arc::new(Semaphore::new(max_under_way)), waiting: watch::channel(0).0 }
    }

    /// A place for one more handshake: at once if one is free, else after waiting in line
    /// (first come, first served); or why not.
    pub async fn admit(&self) -> Result<HandshakeSlot, Deferred> {
        if let Ok(place) = self.places.clone().try_acquire_owned() {
            return Ok(HandshakeSlot { _place: place });
        }
        let max_waiting = self.limits.max_waiting;
        let queued = self.waiting.send_if_modified(|waiting| {
            if *waiting >= max_waiting {
                return false;
            }
            *waiting += 1;
            true
        });
        if !queued {
            return Err(Deferred::LineFull(self.limits.max_wait));
        }
        let _in_line = InLine(&self.waiting);
        match tokio::time::timeout(self.limits.max_wait, self.places.clone().acquire_owned()).await {
            Ok(Ok(place)) => Ok(HandshakeSlot { _place: place }),
            // The semaphore is never closed; were it, the agent would come back later.
            Ok(Err(_)) | Err(_) => Err(Deferred::WaitedOut),
        }
    }

    /// How many wait in the line, as it changes.
    pub fn waiting(&self) -> watch::Receiver<usize> {
        self.waiting.subscribe()
    }

    /// How many are under way.
    #[cfg(test)]
    pub fn under_way(&self) -> usize {
        self.limits.max_under_way - self.places.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    /// Limits whose longest wait never runs out within a test, unless it is about that.
    fn limits(max_under_way: usize, max_waiting: usize) -> HandshakeLimits {
        HandshakeLimits { max_under_way, max_waiting, max_wait: Duration::from_secs(60) }
    }

    /// `admit` in a task of its own, to wait in the line while the test goes on.
    fn admit_later(handshakes: &Arc<Handshakes>) -> tokio::task::JoinHandle<Result<HandshakeSlot, Deferred>> {
        let handshakes = handshakes.clone();
        tokio::spawn(async move { handshakes.admit().await })
    }

    /// Waits until `n` wait in the line.
    async fn line_reaches(handshakes: &Handshakes, n: usize) {
        let mut waiting = handshakes.waiting();
        tokio::time::timeout(Duration::from_secs(1), waiting.wait_for(|&w| w == n)).await.expect("the line grows").expect("open");
    }

    #[tokio::test]
    async fn the_cap_holds_and_a_freed_place_goes_to_the_first_in_line() {
        let handshakes = Arc::new(Handshakes::new(limits(2, 10)));
        let mut slots = vec![handshakes.admit().await.expect("a place"), handshakes.admit().await.expect("a place")];
        assert_eq!(handshakes.under_way(), 2);
        let first = admit_later(&handshakes);
        line_reaches(&handshakes, 1).await;
        let second = admit_later(&handshakes);
        line_reaches(&handshakes, 2).await;
        drop(slots.pop());
        let first = first.await.expect("joined").expect("admitted after waiting");
        assert!(!second.is_finished(), "one place freed, one admitted");
        assert_eq!(*handshakes.waiting().borrow(), 1);
        drop(first);
        second.await.expect("joined").expect("admitted in turn");
        assert_eq!(*handshakes.waiting().borrow(), 0);
    }

    #[tokio::test]
    async fn a_full_line_sends_away_at_once_with_the_longest_wait_as_the_hint() {
        let handshakes = Arc::new(Handshakes::new(limits(1, 1)));
        let _slot = handshakes.admit().await.expect("a place");
        let waiter = admit_later(&handshakes);
        line_reaches(&handshakes, 1).await;
        let refused = handshakes.admit().await.expect_err("the line is full");
        assert_eq!(refused, Deferred::LineFull(Duration::from_secs(60)));
        assert_eq!(refused.retry_after(), Duration::from_secs(60));
        assert!(!waiter.is_finished(), "the one in line still waits");
        waiter.abort();
    }

    #[tokio::test]
    async fn a_wait_that_runs_out_is_sent_away_and_leaves_the_line() {
        let max_wait = Duration::from_millis(50);
        let handshakes = Handshakes::new(HandshakeLimits { max_wait, ..limits(1, 4) });
        let _slot = handshakes.admit().await.expect("a place");
        let before = tokio::time::Instant::now();
        assert_eq!(handshakes.admit().await.expect_err("no place freed"), Deferred::WaitedOut);
        assert!(before.elapsed() >= max_wait, "waited the longest wait");
        assert_eq!(Deferred::WaitedOut.retry_after(), Duration::from_secs(1));
        assert_eq!(*handshakes.waiting().borrow(), 0);
    }

    #[tokio::test]
    async fn a_request_gone_while_waiting_gives_its_place_in_line_back() {
        let handshakes = Arc::new(Handshakes::new(limits(1, 1)));
        let slot = handshakes.admit().await.expect("a place");
        let gone = admit_later(&handshakes);
        line_reaches(&handshakes, 1).await;
        gone.abort();
        line_reaches(&handshakes, 0).await;
        drop(slot);
        let _slot = handshakes.admit().await.expect("the freed place, not kept for the one gone");
        assert_eq!(handshakes.under_way(), 1);
    }

    #[test]
    fn hints_are_whole_seconds_and_a_zero_cap_is_one() {
        assert_eq!(Deferred::LineFull(Duration::from_millis(2_500)).retry_after(), Duration::from_secs(3));
        assert_eq!(Deferred::LineFull(Duration::ZERO).retry_after(), Duration::from_secs(1));
        let handshakes = Handshakes::new(limits(0, 0));
        let _slot = handshakes.admit().now_or_never().expect("no wait for a free place").expect("one place");
        let refused = handshakes.admit().now_or_never().expect("no wait with no line").expect_err("no place, no line");
        assert_eq!(refused, Deferred::LineFull(Duration::from_secs(60)));
    }
}
