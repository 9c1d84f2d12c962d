//! Sending a paid payment's hotspot user to its router again, when the first command
//! failed on the router or is stuck on the way (the owner's "resend to router"): the same
//! user (name, password, device, end time) is enqueued again through the outbox, and the
//! payment's timeline says so, naming the new command so its progress can be shown.

use jasiyo_shared::Seq;

use super::service::Payments;
use super::settle::plan_user;
use crate::model::{CommandState, PaymentId, PaymentState};
use crate::store::{StoreError, now_ms};

/// The timeline kind of a resend; its detail ends with `#<seq>` of the new command.
pub const RESENT: &str = "resent";

/// Why nothing was sent. Nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum ResendError {
    /// No such payment.
    #[error("no payment {0}")]
    NotFound(PaymentId),
    /// Only a paid payment bought a user.
    #[error("payment {0} is not paid: it bought no hotspot user")]
    NotPaid(PaymentId),
    /// The router applied the user already.
    #[error("the router already has this payment's user")]
    AlreadyApplied,
    /// The plan has ended: sending it would create nothing usable.
    #[error("this payment's plan has ended")]
    Expired,
    /// Our fault.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for ResendError {
    fn from(e: StoreError) -> Self {
        ResendError::Internal(e.into())
    }
}

/// The new command's sequence number in a resend's timeline detail.
pub fn resent_seq(detail: &str) -> Option<u64> {
    detail.rsplit_once('#').and_then(|(_, seq)| seq.trim().parse().ok())
}

impl Payments {
    /// Enqueues the paid payment's user-creation command again, unless the router applied
    /// the last one; wakes the router's session and writes the resend on the timeline.
    pub async fn resend_to_router(&self, id: PaymentId) -> Result<Seq, ResendError> {
        let payment = self.store.payment(id).await?.ok_or(ResendError::NotFound(id))?;
        if payment.state != PaymentState::Paid {
            return Err(ResendError::NotPaid(id));
        }
        let entitlement = self.store.entitlement_for_payment(id).await?.ok_or(ResendError::NotPaid(id))?;
        if entitlement.expires_at <= now_ms() / 1000 {
            return Err(ResendError::Expired);
        }
        let last = self
            .store
            .payment_events(id)
            .await?
            .iter()
            .rev()
            .find(|e| e.kind == RESENT)
            .and_then(|e| resent_seq(&e.detail))
            .unwrap_or(entitlement.command_seq);
        if self.store.command_state(payment.router_id, Seq(last)).await? == Some(CommandState::Applied) {
            return Err(ResendError::AlreadyApplied);
        }
        let plan = self
            .store
            .plan(payment.plan_id)
            .await?
            .ok_or_else(|| ResendError::Internal(anyhow::anyhow!("plan {} vanished", payment.plan_id)))?;
        let user = plan_user(
            &plan,
            &entitlement.username,
            &entitlement.password,
            entitlement.device_mac,
            entitlement.expires_at,
            payment.receipt.as_deref(),
        );
        let command = super::settle::plan_upsert(&plan, user);
        let stored = self.store.enqueue_command(payment.router_id, &command, now_ms()).await?;
        // Not one transaction with the enqueue: a crash in between leaves an extra upsert
        // (idempotent on the router) without its line on the timeline, nothing worse.
        let detail = format!("hotspot user sent to the router again as command #{}", stored.seq.0);
        self.store.add_payment_event(id, RESENT, &detail, now_ms()).await?;
        self.hub.wake(payment.router_id);
        self.changed_payment(id);
        tracing::info!(payment = %id, router = %payment.router_id, seq = stored.seq.0, "payment's user resent to the router");
        Ok(stored.seq)
    }
}
