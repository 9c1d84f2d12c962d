//! Held long polls: who is waiting for which payment, so that a change to one payment wakes
//! only the requests waiting for it, and so that the number of held requests is capped per
//! client address and in total (memory and file descriptors stay bounded whatever arrives).
//!
//! A request over a cap is not refused: the portal's long poll then answers at once with
//! the payment as it is, and the page asks again a little later.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::model::PaymentId;

/// How many long polls may be held at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoldLimits {
    /// Per client address (every device behind a hotspot shares its router's address).
    pub per_client: usize,
    /// In this instance.
    pub total: usize,
}

impl Default for HoldLimits {
    fn default() -> Self {
        HoldLimits { per_client: 64, total: 10_000 }
    }
}

#[derive(Default)]
struct Waiting {
    /// Per payment waited on: its wake-up channel and how many requests hold it.
    payments: HashMap<PaymentId, (watch::Sender<()>, usize)>,
    /// Held requests per client address.
    clients: HashMap<IpAddr, usize>,
    total: usize,
}

/// The held long polls of this instance.
pub struct HeldPolls {
    limits: HoldLimits,
    waiting: Mutex<Waiting>,
    /// How many are held, for whoever watches (tests, metrics).
    count: watch::Sender<usize>,
}

impl HeldPolls {
    /// None held yet.
    pub fn new(limits: HoldLimits) -> Arc<HeldPolls> {
        Arc::new(HeldPolls { limits, waiting: Mutex::default(), count: watch::channel(0).0 })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Holds a request waiting for `payment` from `client`, or `None` when a cap is reached.
    pub fn hold(self: &Arc<Self>, payment: PaymentId, client: Option<IpAddr>) -> Option<Held> {
        let mut waiting = self.lock();
        if waiting.total >= self.limits.total {
            return None;
        }
        if let Some(client) = client {
            let count = waiting.clients.get(&client).copied().unwrap_or(0);
            if count >= self.limits.per_client {
                return None;
            }
            waiting.clients.insert(client, count + 1);
        }
        waiting.total += 1;
        self.count.send_replace(waiting.total);
        let (sender, holders) = waiting.payments.entry(payment).or_insert_with(|| (watch::channel(()).0, 0));
        *holders += 1;
        let changes = sender.subscribe();
        Some(Held { polls: self.clone(), payment, client, changes })
    }

    /// Wakes the requests waiting for `payment` (none: nothing to do).
    pub fn wake(&self, payment: PaymentId) {
        if let Some((sender, _)) = self.lock().payments.get(&payment) {
            sender.send_replace(());
        }
    }

    /// Requests held now.
    pub fn held(&self) -> usize {
        self.lock().total
    }

    /// Follows how many requests are held.
    pub fn watch_held(&self) -> watch::Receiver<usize> {
        self.count.subscribe()
    }
}

/// One held request; released when dropped.
pub struct Held {
    polls: Arc<HeldPolls>,
    payment: PaymentId,
    client: Option<IpAddr>,
    changes: watch::Receiver<()>,
}

impl Held {
    /// Marks what happened so far as seen: call before looking at the payment.
    pub fn mark_seen(&mut self) {
        self.changes.borrow_and_update();
    }

    /// Returns once the payment changed since [`Held::mark_seen`].
    pub async fn changed(&mut self) {
        // The sender lives as long as this request holds it: an error cannot happen.
        let _ = self.changes.changed().await;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut waiting = self.polls.lock();
        waiting.total -= 1;
        self.polls.count.send_replace(waiting.total);
        if let Some(client) = self.client
            && let Some(count) = waiting.clients.get_mut(&client)
        {
            *count -= 1;
            if *count == 0 {
                waiting.clients.remove(&client);
            }
        }
        if let Some((_, holders)) = waiting.payments.get_mut(&self.payment) {
            *holders -= 1;
            if *holders == 0 {
                waiting.payments.remove(&self.payment);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_hold_per_client_and_in_total_and_everything_is_released() {
        let polls = HeldPolls::new(HoldLimits { per_client: 2, total: 3 });
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let one = polls.hold(PaymentId::random(), Some(a)).unwrap();
        let two = polls.hold(PaymentId::random(), Some(a)).unwrap();
        assert!(polls.hold(PaymentId::random(), Some(a)).is_none(), "per client");
        let three = polls.hold(PaymentId::random(), Some(b)).unwrap();
        assert!(polls.hold(PaymentId::random(), None).is_none(), "in total");
        drop((one, two, three));
        assert_eq!(polls.held(), 0);
        let waiting = polls.lock();
        assert!(waiting.payments.is_empty() && waiting.clients.is_empty(), "nothing left behind");
    }

    #[tokio::test]
    async fn a_change_wakes_only_its_payment() {
        let polls = HeldPolls::new(HoldLimits::default());
        let (mine, other) = (PaymentId::random(), PaymentId::random());
        let mut held = polls.hold(mine, None).unwrap();
        held.mark_seen();
        polls.wake(other);
        assert!(!held.changes.has_changed().unwrap(), "another payment's change does not wake it");
        polls.wake(mine);
        tokio::time::timeout(std::time::Duration::from_secs(5), held.changed()).await.expect("woken");
    }
}
