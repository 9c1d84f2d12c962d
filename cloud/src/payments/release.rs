//! "Wrong number? Start again": the page that started a payment stops waiting for its
//! prompt and lets the device start another payment. The payment itself goes on as before
//! (reconciled, and honoured if the customer approves it after all); only the device's
//! one-prompt-at-a-time slot is let go. The phone's slot stays held, so a second prompt to
//! the same phone is still refused while the first is open.

use super::service::{Payments, PortalError};
use crate::model::PaymentId;

impl Payments {
    /// Lets the device of `id` start another payment, for whoever holds its view key (the
    /// page that started it). `Ok(false)` when there was nothing to let go: the payment is
    /// settled already, has no device, or its slot was released or taken over before.
    pub async fn release_device(&self, id: PaymentId, view_key: Option<&str>) -> Result<bool, PortalError> {
        let not_found = || PortalError::BadRequest("no such payment".into());
        // Without its key the id alone could free someone else's device: same answer as an
        // unknown payment.
        if !view_key.is_some_and(|key| self.sealer.is_view_key(id, key)) {
            return Err(not_found());
        }
        let payment = self.store.payment(id).await?.ok_or_else(not_found)?;
        let Some(mac) = payment.device_mac.filter(|_| payment.state.is_open()) else { return Ok(false) };
        let released = self.store.release_device_claim(payment.router_id, &format!("mac:{mac}"), id).await?;
        if released {
            tracing::info!(payment = %id, router = %payment.router_id, "customer started again: device released from its prompt");
        }
        Ok(released)
    }
}
