//! The customer's own window at a provider that gives longer than the portal's wait.
//! Paystack gives a mobile-money customer about 180 s and calls the charge `abandoned`
//! until they complete it; Verify is meant for after that (reference, section F). So for a
//! Paystack payment: reconciliation first asks only once the window is over, an
//! `abandoned` answer before then is "not yet" (whoever asked), and the portal's countdown
//! lasts at least the window.

use std::time::Duration;

use super::service::Payments;
use crate::model::Payment;
use crate::providers::{PaymentStatus, ProviderEvent, ProviderKind};
use crate::store::now_ms;

/// Paystack's `data.status` for a charge the customer has not completed (yet).
const ABANDONED: &str = "abandoned";

impl Payments {
    /// How long the provider gives the customer, where the payments service must wait it
    /// out (Paystack: [`super::PaymentsConfig::paystack_window`]); zero elsewhere.
    pub(super) fn customer_window(&self, kind: ProviderKind) -> Duration {
        match kind {
            ProviderKind::Paystack => self.config.paystack_window,
            ProviderKind::Daraja | ProviderKind::Payhero => Duration::ZERO,
        }
    }

    /// When a payment with this provider, started (or whose push was answered) at
    /// `from_ms`, is first asked about.
    pub(super) fn first_check_at(&self, kind: ProviderKind, from_ms: i64) -> i64 {
        from_ms + self.config.first_check_after.max(self.customer_window(kind)).as_millis() as i64
    }

    /// How long the portal counts down for a payment with this provider.
    pub(super) fn portal_wait_for(&self, kind: ProviderKind) -> Duration {
        self.config.portal_wait.max(self.customer_window(kind))
    }

    /// `event`, with an `abandoned` failure read as "not yet" while the customer's window
    /// is still open.
    pub(super) fn within_window(&self, payment: &Payment, mut event: ProviderEvent) -> ProviderEvent {
        let age = Duration::from_millis((now_ms() - payment.created_at).max(0) as u64);
        let early = age < self.customer_window(payment.provider);
        if early && event.code == ABANDONED && matches!(event.status, PaymentStatus::Failed(_)) {
            tracing::info!(payment = %payment.id, age_secs = age.as_secs(), "abandoned inside the customer's window: not final yet");
            event.status = PaymentStatus::Pending;
        }
        event
    }
}
