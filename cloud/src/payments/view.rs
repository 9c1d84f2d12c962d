//! What the portal sees of a payment: its stage in words the page shows, the countdown,
//! and the login once paid.

use std::net::IpAddr;

use serde::Serialize;

use super::held::Held;

use super::service::{Payments, PortalError};
use crate::model::{CommandState, PaymentId, PaymentState};
use crate::store::now_ms;
use crate::store::payments::PaymentProgress;

/// Where a payment is, in the portal's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The prompt is on the phone.
    WaitingForApproval,
    /// Paid; the router has not been told yet.
    PaymentReceived,
    /// The router's agent has the command.
    Activating,
    /// The user exists on the router.
    Online,
    /// It did not work (see `reason`).
    Failed,
}

/// Login details the portal needs to log the device in once paid.
// Debug hides its secrets: crate::redact.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct LoginInfo {
    /// Hotspot user name.
    pub username: String,
    /// Hotspot password.
    pub password: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// What `GET /api/portal/payments/{id}` returns.
// Debug hides its secrets: crate::redact.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct PaymentView {
    /// The payment's id.
    pub id: PaymentId,
    /// Its state.
    pub status: PaymentState,
    /// Its stage.
    pub stage: Stage,
    /// Why it failed (a machine-readable reason such as `cancelled`, `wrong_pin`).
    pub reason: Option<String>,
    /// The amount.
    pub amount_kes: u32,
    /// Seconds the portal should keep waiting for the customer (0: stop waiting).
    pub wait_secs: u64,
    /// Present once paid.
    pub login: Option<LoginInfo>,
    /// The M-Pesa receipt, once paid.
    pub receipt: Option<String>,
    /// A hint about the phone number, if any.
    pub hint: Option<String>,
    /// The push got no answer from the provider (timeout, server error): the prompt may or
    /// may not be on the phone. The payment stays open; the portal says "if your phone
    /// shows the prompt, approve it" rather than "failed" (a second push could charge twice).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unconfirmed: bool,
    /// The payment's view key: in the answer to the request that started it (and to a
    /// recovery) only; later requests present it to see `login` and `receipt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub view_key: Option<String>,
}

impl Payments {
    /// Tells whoever follows `payment` (tests through [`Payments::changes`], the portal's
    /// long polls held on it) that it changed.
    pub(super) fn changed_payment(&self, payment: PaymentId) {
        self.changed();
        self.held.wake(payment);
    }

    /// Holds a long poll on `payment` from `client`, or `None` over the caps (see
    /// [`super::held::HeldPolls`]).
    pub fn hold(&self, payment: PaymentId, client: Option<IpAddr>) -> Option<Held> {
        self.held.hold(payment, client)
    }

    /// The held long polls (to watch how many are held).
    pub fn held_polls(&self) -> &std::sync::Arc<super::held::HeldPolls> {
        &self.held
    }

    /// What the portal sees of a payment. With its view key, everything; without it (the
    /// payment id alone, which a refused request or a shared screen may give away) its
    /// status and stage, but neither the login nor the receipt.
    pub async fn view(&self, id: PaymentId, view_key: Option<&str>) -> Result<Option<PaymentView>, PortalError> {
        let Some(progress) = self.store.payment_progress(id).await? else { return Ok(None) };
        let mut view = self.view_of(progress);
        if !view_key.is_some_and(|key| self.sealer.is_view_key(id, key)) {
            view.login = None;
            view.receipt = None;
        }
        Ok(Some(view))
    }

    /// The view of the payment for whoever started it (or proved it theirs), with its key.
    pub(super) async fn own_view(&self, id: PaymentId) -> Result<PaymentView, PortalError> {
        let key = self.sealer.view_key(id);
        let mut view = self.view(id, Some(&key)).await?.ok_or_else(|| PortalError::Internal(anyhow::anyhow!("payment {id} vanished")))?;
        view.view_key = Some(key);
        Ok(view)
    }

    pub(super) fn view_of(&self, progress: PaymentProgress) -> PaymentView {
        let PaymentProgress { payment, entitlement, command } = progress;
        let entitlement = entitlement.filter(|_| payment.state == PaymentState::Paid);
        let stage = match (&payment.state, &entitlement) {
            (state, _) if state.is_open() => Stage::WaitingForApproval,
            (PaymentState::Paid, Some(_)) => match command {
                Some(CommandState::Applied) => Stage::Online,
                Some(CommandState::Received) => Stage::Activating,
                Some(CommandState::Failed) => Stage::Failed,
                _ => Stage::PaymentReceived,
            },
            (PaymentState::Paid, None) => Stage::PaymentReceived,
            _ => Stage::Failed,
        };
        let waited = (now_ms() - payment.created_at).max(0) as u64 / 1000;
        let wait = self.portal_wait_for(payment.provider).as_secs();
        let wait_secs = if payment.state.is_open() { wait.saturating_sub(waited) } else { 0 };
        PaymentView {
            id: payment.id,
            status: payment.state,
            stage,
            reason: payment.reason,
            amount_kes: payment.amount_kes,
            wait_secs,
            login: entitlement.map(|e| LoginInfo { username: e.username, password: e.password, expires_at: e.expires_at }),
            unconfirmed: payment.state == PaymentState::Initiated && payment.provider_ref.is_none() && payment.secondary_ref.is_none(),
            receipt: payment.receipt,
            hint: None,
            view_key: None,
        }
    }
}
