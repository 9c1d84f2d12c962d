//! Payments whose callback never came: ask the provider on a schedule (gentle enough for
//! Daraja's undisclosed rate limits) until a final answer or a cut-off. A success that comes
//! after the cut-off is still honoured by the callback path.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::service::Payments;
use crate::model::PaymentState;
use crate::providers::ProviderError;
use crate::store::now_ms;

impl Payments {
    /// Asks about every payment whose check is due. Returns how many were asked about.
    pub async fn reconcile_once(&self) -> anyhow::Result<usize> {
        let now = now_ms();
        let due = self.store.due_payments(now, 50).await?;
        for payment in &due {
            let age = now - payment.created_at;
            let give_up = age >= self.config.give_up_after.as_millis() as i64;
            if !payment.state.is_open() {
                self.store.schedule_check(payment.id, None, payment.checks).await?;
                continue;
            }
            let answer = match (&payment.provider_ref, self.provider_for(payment).await) {
                (Some(reference), Ok(provider)) => Some(provider.query(reference).await),
                _ => None,
            };
            let mut delay = self.config.check_every;
            match answer {
                Some(Ok(event)) => {
                    if let Err(refused) = self.apply(payment, event, "query").await {
                        tracing::warn!(payment = %payment.id, %refused, "status answer refused");
                    }
                }
                Some(Err(ProviderError::Busy(why))) => {
                    tracing::info!(payment = %payment.id, %why, "provider busy; asking later");
                    delay *= 2;
                }
                Some(Err(error)) => tracing::warn!(payment = %payment.id, %error, "status query failed"),
                None => {}
            }
            let still_open = self.store.payment(payment.id).await?.is_some_and(|p| p.state.is_open());
            if still_open && give_up {
                self.store.mark_failed(payment.id, PaymentState::TimedOut, "timeout", None, now_ms()).await?;
                self.changed_payment(payment.id);
                tracing::info!(payment = %payment.id, "no final word from the provider; timed out");
            } else if still_open {
                let next = now_ms() + delay.as_millis() as i64;
                self.store.schedule_check(payment.id, Some(next), payment.checks + 1).await?;
            }
        }
        Ok(due.len())
    }

    /// Runs [`Payments::reconcile_once`] every `tick` until `shutdown`.
    pub async fn run_reconciler(self: Arc<Self>, tick: Duration, shutdown: CancellationToken) {
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = interval.tick() => {}
            }
            if let Err(error) = self.reconcile_once().await {
                tracing::warn!(%error, "payment reconciliation failed");
            }
        }
    }
}
