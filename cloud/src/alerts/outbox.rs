//! Durable alert deliveries. Opening or closing an alert records, in the same transaction,
//! one delivery per channel (mail to the owners, the webhook: `alert_deliveries`). This loop
//! claims the due ones under a lease, tries each once, and either finishes it or makes it
//! due again after a doubling backoff, giving up (recorded on the alert, logged) after
//! [`AlertsConfig::attempts`](super::AlertsConfig::attempts) tries. A cloud that stops
//! mid-retry loses nothing: whichever instance runs next picks the pending rows up.
//!
//! Delivery is exactly once per alert change and channel in the normal case, and at least
//! once across a crash: an instance that dies after sending but before recording finds the
//! row due again when its lease runs out, and tells it again. For notifications that is the
//! right side to err on; a mail to several owners is likewise retried whole when one of them
//! failed. [`Alerts::deliver_pending`] is the step tests drive.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::Alerts;
use super::deliver::Tried;
use crate::store::StoreResult;
use crate::store::alerts::{Channel, DueDelivery};

/// The most deliveries one step claims.
const BATCH: u32 = 50;

impl Alerts {
    /// One step of the delivery loop at `now_ms`: claims the deliveries due (under a lease of
    /// [`AlertsConfig::lease`](super::AlertsConfig::lease)), tries them side by side and
    /// records each outcome. How many were tried.
    pub async fn deliver_pending(&self, now_ms: i64) -> StoreResult<usize> {
        let lease_until = now_ms.saturating_add(duration_ms(self.config.lease));
        let due = self.store.claim_deliveries(now_ms, lease_until, BATCH).await?;
        let count = due.len();
        let results = futures_util::future::join_all(due.into_iter().map(|delivery| self.try_one(delivery, now_ms))).await;
        results.into_iter().collect::<StoreResult<Vec<()>>>()?;
        Ok(count)
    }

    async fn try_one(&self, delivery: DueDelivery, now_ms: i64) -> StoreResult<()> {
        let DueDelivery { alert, closing, channel, attempts } = delivery;
        let tried = match channel {
            Channel::Mail => self.mail_owners(&alert, closing).await,
            Channel::Webhook => self.post_webhook(&alert, closing).await,
        };
        let most = self.config.attempts.max(1);
        let (outcome, retry_at) = match tried {
            Tried::Done(outcome) => (outcome, None),
            Tried::Failed(error) if attempts >= most => {
                tracing::warn!(alert = %alert.id, tenant = %alert.tenant_id, channel = channel.as_str(), attempts, %error, "alert delivery given up");
                (format!("{error} (after {attempts} attempts)"), None)
            }
            Tried::Failed(error) => {
                let wait = duration_ms(self.config.backoff).saturating_mul(1 << (attempts.saturating_sub(1)).min(20));
                tracing::info!(alert = %alert.id, channel = channel.as_str(), attempts, %error, retry_in_ms = wait, "alert delivery failed; will retry");
                (format!("{error} (attempt {attempts} of {most}; trying again)"), Some(now_ms.saturating_add(wait)))
            }
        };
        self.store.finish_delivery(alert.id, closing, channel, &outcome, retry_at, now_ms).await?;
        // Nobody listening is fine.
        let _ = self.outcomes.send(super::DeliveryOutcome { alert: alert.id, channel: channel.as_str(), outcome });
        Ok(())
    }

    /// Delivers until `stop`: every [`AlertsConfig::delivery_poll`](super::AlertsConfig::delivery_poll),
    /// and at once when a pass changed something. The first step runs at start, picking up
    /// whatever an earlier run left pending.
    pub(super) async fn run_deliveries(self: Arc<Self>, stop: CancellationToken) {
        let mut every = tokio::time::interval(self.config.delivery_poll);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = every.tick() => {}
                _ = self.wake.notified() => {}
            }
            tokio::select! {
                // A try cut short here is due again when its lease runs out.
                _ = stop.cancelled() => return,
                _ = self.drain() => {}
            }
        }
    }

    /// Steps until fewer than a full batch were due.
    async fn drain(&self) {
        loop {
            match self.deliver_pending(crate::store::now_ms()).await {
                Ok(tried) if tried >= BATCH as usize => continue,
                Ok(_) => return,
                Err(error) => {
                    tracing::warn!(%error, "alert deliveries not claimed; trying again soon");
                    return;
                }
            }
        }
    }
}

fn duration_ms(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
