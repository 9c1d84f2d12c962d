//! The maintenance loop: expiries on time, status refreshes, logins waiting for their
//! device, and reconciliation both
//! periodically and as soon as the router's API is back after its connection was lost (an
//! outage, a reset), so users missing from a router that came back are restored at once.
//! Failures are retried after pauses that double, never straight away.

use std::sync::Arc;

use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::Edge;
use crate::link::backoff::Backoff;
use crate::routeros::Connections;

/// What is due when.
struct Schedule {
    next_reconcile: Instant,
    next_status: Instant,
    /// Pauses between failed reconciliations (while the router is down, these are the
    /// attempts to reach it again).
    reconcile_retry: Backoff,
    /// Router connections opened and lost, as of the last reconciliation attempt. One lost
    /// since: the router may be changing (a reset) while we cannot see it, so reconcile as
    /// soon as it is back (the attempts, failing meanwhile, are the probes). One opened
    /// since: it is back.
    seen: Connections,
}

impl Edge {
    /// Keeps the router true to the journal until `shutdown`: expiries on time,
    /// reconciliation periodically and after reconnects, status refreshes.
    pub async fn run_maintenance(self: Arc<Self>, shutdown: CancellationToken) {
        let now = Instant::now();
        let mut schedule = Schedule {
            next_reconcile: now,
            next_status: now,
            reconcile_retry: Backoff::new(self.config.retry_after, self.config.retry_max),
            seen: self.router.connection_counts(),
        };
        let mut connections = self.router.connections();
        loop {
            // Shutdown does not wait for a round against a slow router: one cut short is left
            // as a crash would leave it (every step is idempotent, and one whose end is not
            // in the journal is done again after the restart).
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                () = self.maintain_once(&mut schedule) => {}
            }
            let wake = self.next_wake(&schedule);
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                _ = self.changed.notified() => {}
                // A connection opened (by a command, a status refresh) or lost: see next round.
                Ok(()) = connections.changed() => {}
                _ = sleep_until(wake) => {}
            }
        }
    }

    /// One round: whatever is due now.
    async fn maintain_once(&self, schedule: &mut Schedule) {
        let now = Instant::now();
        let connections = self.router.connection_counts();
        if connections.opened != schedule.seen.opened {
            info!("connected to the router again; reconciling now");
            schedule.next_reconcile = now;
            // Expiries that failed while the router was away need not wait out their pause.
            self.expiries().retry_now(now);
        } else if connections.lost != schedule.seen.lost {
            warn!("lost the router's API connection; reconciling as soon as it is back");
            schedule.next_reconcile = now;
        }
        // A failing expiry waits out its own pause (see `expiries`), not this loop's.
        self.expire_once(self.now()).await;
        self.publish_problem();
        if now >= schedule.next_reconcile {
            self.reconcile_on_schedule(schedule, now).await;
        }
        self.log_in_returned_devices().await;
        if now >= schedule.next_status {
            self.refresh_status().await;
            schedule.next_status = now + self.config.status_every;
        }
    }

    async fn reconcile_on_schedule(&self, schedule: &mut Schedule, now: Instant) {
        match self.reconcile_once(self.now()).await {
            Ok(_) => {
                schedule.reconcile_retry.reset();
                schedule.next_reconcile = now + self.config.reconcile_every;
            }
            Err(e) => {
                let delay = schedule.reconcile_retry.next_delay();
                let retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
                warn!(error = %e, retry_in_ms, "reconciliation failed; will retry");
                schedule.next_reconcile = now + delay;
            }
        }
        // A connection the reconciliation opened or lost itself is one it has seen. (A loss
        // counted a moment late costs one more attempt, not a missed repair.)
        schedule.seen = self.router.connection_counts();
    }

    fn next_wake(&self, schedule: &Schedule) -> Instant {
        let wake = schedule.next_reconcile.min(schedule.next_status);
        let wake = self.waiting().next_look().map_or(wake, |at| wake.min(at));
        self.next_expiry_attempt().map_or(wake, |at| wake.min(at))
    }
}
