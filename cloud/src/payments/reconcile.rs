//! Payments whose callback never came: ask the provider on a schedule (gentle enough for
//! Daraja's undisclosed rate limits) until a final answer or a cut-off. A success that comes
//! after the cut-off is still honoured by the callback path.
//!
//! Every open payment has a check scheduled from the moment it is inserted, so one whose
//! process died during the push, or whose push answer was never written, is asked about
//! too (by our own reference where the provider takes one: Paystack). Due payments are
//! claimed under a lease (instances sharing a database do not ask twice; a checker that
//! died is replaced when the lease runs out). Tenants are checked side by side, up to
//! [`PaymentsConfig::checks_per_tenant`](super::PaymentsConfig) of a tenant's payments at a
//! time in each pass (passes overlap, up to [`PASSES_IN_FLIGHT`]; 1,000 open payments after
//! a restart are settled in about 12 s at a second per answer: `scripts/bench-reconcile`),
//! so one tenant's slow or dead provider delays no one else. A provider
//! that says it is busy (Daraja's "Spike Arrest") ends that tenant's pass: the rest of its
//! payments are asked about at the next check. One payment's error is logged and retried
//! without stopping the others.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::service::Payments;
use crate::model::{Payment, PaymentState};
use crate::providers::{PaymentStatus, ProviderError};
use crate::store::now_ms;

/// How many due payments one pass claims.
const BATCH: u32 = 200;

/// The shortest wait before asking again about a payment the provider did not answer about
/// (a quarter of the payment's age, at least this; Daraja's "busy" has its own path).
const NO_ANSWER_AGAIN: Duration = Duration::from_secs(2);

/// What asking the provider about a payment gave.
enum Asked {
    /// A final word, applied.
    Final,
    /// The provider answered: not final yet.
    NotYet,
    /// Nothing can be asked: the provider chose the reference and its answer to the push
    /// was never recorded. Only its callback can tell.
    CannotAsk,
    /// No answer (unavailable, timed out, settings unreadable): asked again later.
    NoAnswer,
    /// The provider is busy (rate-limited): asked again later, and its other payments too.
    Busy,
}

impl Asked {
    /// The word it is counted under (`reconcile_queries{answer}`).
    fn label(&self) -> &'static str {
        match self {
            Asked::Final => "final",
            Asked::NotYet => "not_yet",
            Asked::CannotAsk => "cannot_ask",
            Asked::NoAnswer => "no_answer",
            Asked::Busy => "busy",
        }
    }
}

impl Payments {
    /// Asks about every payment whose check is due. Returns how many were asked about.
    pub async fn reconcile_once(&self) -> anyhow::Result<usize> {
        let now = now_ms();
        let lease = now + self.check_lease().as_millis() as i64;
        let due = self.store.claim_due_payments(now, lease, BATCH).await?;
        let count = due.len();
        let mut by_tenant: HashMap<_, Vec<Payment>> = HashMap::new();
        for payment in due {
            by_tenant.entry(payment.tenant_id).or_default().push(payment);
        }
        let per_tenant = self.config.checks_per_tenant.max(1);
        let tenants = by_tenant.into_values().map(|payments| async move {
            let busy = AtomicBool::new(false);
            let checks = payments.into_iter().map(|payment| self.check_logged(payment, lease, &busy));
            futures_util::stream::iter(checks).buffer_unordered(per_tenant).collect::<Vec<()>>().await
        });
        futures_util::future::join_all(tenants).await;
        Ok(count)
    }

    /// [`Self::check`], its error logged: the payment's lease runs out and it is claimed again.
    /// A check that could not finish before `lease` (Unix ms) runs out is not started: the
    /// payment is claimed again after the lease, and never asked about twice at once.
    /// Once `busy` is set (the tenant's provider said so), the payment is not asked about
    /// now but at its next regular check.
    async fn check_logged(&self, payment: Payment, lease: i64, busy: &AtomicBool) {
        if now_ms() + (self.config.http.timeout * 2).as_millis() as i64 >= lease {
            tracing::debug!(payment = %payment.id, "lease too short to check now; left for the next claim");
            return;
        }
        if busy.load(Ordering::Relaxed) {
            let next = now_ms() + self.config.check_every.as_millis() as i64;
            if let Err(error) = self.store.schedule_check(payment.id, Some(next), payment.checks).await {
                tracing::warn!(payment = %payment.id, %error, "could not put off a check");
            }
            return;
        }
        match self.check(&payment).await {
            Ok(Asked::Busy) => busy.store(true, Ordering::Relaxed),
            Ok(_) => {}
            Err(error) => tracing::warn!(payment = %payment.id, error = %format!("{error:#}"), "payment check failed"),
        }
    }

    /// How long a claimed check is left to its checker: a status query's timeout, with room.
    fn check_lease(&self) -> Duration {
        (self.config.http.timeout * 4).max(Duration::from_secs(60))
    }

    /// Asks about one payment and schedules its next check, or gives up on it. Returns
    /// what asking gave.
    async fn check(&self, payment: &Payment) -> anyhow::Result<Asked> {
        if !payment.state.is_open() {
            self.store.schedule_check(payment.id, None, payment.checks).await?;
            return Ok(Asked::Final);
        }
        let asked = self.ask(payment).await?;
        self.metrics().reconcile_query(payment.provider.as_str(), asked.label());
        if matches!(asked, Asked::Final) {
            return Ok(asked);
        }
        let still_open = self.store.payment(payment.id).await?.is_some_and(|p| p.state.is_open());
        if !still_open {
            return Ok(asked);
        }
        let age = Duration::from_millis((now_ms() - payment.created_at).max(0) as u64);
        let (give_up, delay) = match asked {
            // The customer had their chance: a prompt lives about a minute.
            Asked::NotYet => (age >= self.config.give_up_after, self.config.check_every),
            // The provider did not answer (a 5xx, a timeout: often a moment's trouble, and a
            // young payment's customer is still at the portal): soon again, then less often
            // as the payment ages, up to hours.
            Asked::NoAnswer => (
                age >= self.config.keep_asking_for,
                (age / 4).clamp(NO_ANSWER_AGAIN.min(self.config.check_every), self.config.max_check_every),
            ),
            // It cannot be asked until its callback brings the reference: keep the payment
            // open for hours, looking less often as time goes on.
            _ => (age >= self.config.keep_asking_for, (age / 4).clamp(self.config.check_every, self.config.max_check_every)),
        };
        if give_up {
            let reason = if matches!(asked, Asked::NotYet) { "timeout" } else { "no answer from the provider" };
            if self.store.mark_failed(payment.id, PaymentState::TimedOut, reason, None, now_ms()).await? {
                self.changed_payment(payment.id);
                self.count_final(payment, PaymentState::TimedOut.as_str(), "reconciliation");
                tracing::info!(payment = %payment.id, reason, "no final word from the provider; timed out");
            }
        } else {
            let next = now_ms() + delay.as_millis() as i64;
            self.store.schedule_check(payment.id, Some(next), payment.checks + 1).await?;
        }
        Ok(asked)
    }

    /// Asks the provider about `payment` and applies a final answer.
    async fn ask(&self, payment: &Payment) -> anyhow::Result<Asked> {
        let provider = match self.provider_for(payment).await {
            Ok(provider) => provider,
            Err(error) => {
                tracing::warn!(payment = %payment.id, %error, "cannot build the payment's provider; asking later");
                return Ok(Asked::NoAnswer);
            }
        };
        let Some(reference) = payment.provider_ref.clone().or_else(|| provider.reference_before_answer(payment.id.0)) else {
            return Ok(Asked::CannotAsk);
        };
        match self.timed_query(provider.as_ref(), &reference).await {
            Ok(event) if event.status == PaymentStatus::Pending => {
                self.apply(payment, event, "query").await.map_err(|refused| anyhow::anyhow!("{refused}"))?;
                Ok(Asked::NotYet)
            }
            Ok(event) => {
                if let Err(refused) = self.apply(payment, event, "query").await {
                    tracing::warn!(payment = %payment.id, %refused, "status answer refused");
                    return Ok(Asked::NotYet);
                }
                Ok(Asked::Final)
            }
            Err(ProviderError::Busy(why)) => {
                tracing::info!(payment = %payment.id, %why, "provider busy; asking later");
                Ok(Asked::Busy)
            }
            Err(error) => {
                tracing::warn!(payment = %payment.id, %error, "status query failed; asking later");
                Ok(Asked::NoAnswer)
            }
        }
    }

    /// Runs [`Payments::reconcile_once`] every `tick` until `shutdown`. A pass is not
    /// waited for before the next starts (up to [`PASSES_IN_FLIGHT`] at once): a provider
    /// that hangs until its timeout holds up only its own payments, whose leases keep later
    /// passes off them.
    pub async fn run_reconciler(self: Arc<Self>, tick: Duration, shutdown: CancellationToken) {
        self.hasten_recent_checks().await;
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut passes = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = interval.tick() => {}
            }
            while passes.try_join_next().is_some() {}
            if passes.len() >= PASSES_IN_FLIGHT {
                continue;
            }
            let payments = self.clone();
            passes.spawn(async move {
                if let Err(error) = payments.reconcile_once().await {
                    tracing::warn!(%error, "payment reconciliation failed");
                }
            });
        }
        // Checks cut short here are claimed again when their lease runs out.
        passes.shutdown().await;
    }
}

impl Payments {
    /// At start-up: the payments of the last few minutes that are still open are asked about
    /// at once, not at their scheduled check. A callback sent while this cloud was down (or
    /// restarting) was lost; its customer is still looking at the portal.
    async fn hasten_recent_checks(&self) {
        let now = now_ms();
        let since = now - self.config.give_up_after.as_millis() as i64;
        match self.store.hasten_checks(since, now).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "open payments from before the start asked about at once"),
            Err(error) => tracing::warn!(%error, "could not bring open payments' checks forward"),
        }
    }
}

/// How many reconciliation passes may be under way at once.
const PASSES_IN_FLIGHT: usize = 8;
