//! How many agents are between their upgrade request and their welcome, and the cap on it.
//! After a cloud restart every agent of the fleet dials at once; each handshake costs a
//! token check and a write, and thousands at once would all be slow together (and time
//! out, and come again). Past the cap an upgrade is answered with HTTP 503 and a
//! `Retry-After` the agent honours (with jitter), so the fleet comes back in waves the
//! cloud can take.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Handshakes under way, shared by the hub and each one's [`HandshakeSlot`].
#[derive(Debug, Default)]
pub struct Handshakes {
    under_way: Arc<AtomicUsize>,
}

/// One handshake's place under the cap; freed when dropped (welcome sent, or the
/// connection gone before it).
#[derive(Debug)]
pub struct HandshakeSlot {
    under_way: Arc<AtomicUsize>,
}

impl Handshakes {
    /// A place for one more handshake, or (at `max` under way) how long the agent should
    /// wait before trying again: a second per `max` handshakes under way, at least one.
    pub fn begin(&self, max: usize) -> Result<HandshakeSlot, Duration> {
        let max = max.max(1);
        let mut current = self.under_way.load(Ordering::Relaxed);
        loop {
            if current >= max {
                return Err(Duration::from_secs((current / max).max(1) as u64));
            }
            match self.under_way.compare_exchange_weak(current, current + 1, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return Ok(HandshakeSlot { under_way: self.under_way.clone() }),
                Err(now) => current = now,
            }
        }
    }

    /// How many are under way.
    #[cfg(test)]
    pub fn under_way(&self) -> usize {
        self.under_way.load(Ordering::Relaxed)
    }
}

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        self.under_way.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_holds_and_a_freed_slot_is_free_again() {
        let handshakes = Handshakes::default();
        let slots: Vec<HandshakeSlot> = (0..3).map(|_| handshakes.begin(3).expect("under the cap")).collect();
        assert_eq!(handshakes.under_way(), 3);
        assert_eq!(handshakes.begin(3).unwrap_err(), Duration::from_secs(1));
        drop(slots);
        assert_eq!(handshakes.under_way(), 0);
        let _slot = handshakes.begin(3).expect("free again");
    }

    #[test]
    fn the_hint_grows_with_the_crowd() {
        let handshakes = Handshakes::default();
        let _slots: Vec<HandshakeSlot> = (0..10).map(|_| handshakes.begin(10).unwrap()).collect();
        assert_eq!(handshakes.begin(5).unwrap_err(), Duration::from_secs(2));
        assert_eq!(handshakes.begin(0).unwrap_err(), Duration::from_secs(10), "a zero cap is one");
    }
}
