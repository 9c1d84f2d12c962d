//! What the operator does about "I paid but I'm not online": ask the provider again now
//! (`payment recheck`), or record a payment paid on their own word after checking the
//! M-Pesa statement (`payment settle`, audited on the payment's timeline and in the log).

use super::service::Payments;
use super::settle::Refused;
use crate::model::{PaymentId, PaymentState};
use crate::providers::ProviderEvent;
use crate::store::now_ms;
use crate::store::payments::Heard;

/// What a recheck found.
#[derive(Debug)]
pub struct Rechecked {
    /// The provider's answer, as applied (`None`: the payment is paid, nothing to ask).
    pub answer: Option<ProviderEvent>,
    /// The payment's state afterwards.
    pub state: PaymentState,
}

/// Why a complaint could not be acted on. Nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum ComplaintError {
    /// No such payment.
    #[error("no payment {0}")]
    NotFound(PaymentId),
    /// The provider cannot be asked about it: it chose the reference, and the answer to the
    /// push (which carries it) was never recorded.
    #[error("payment {0} has no provider reference to ask about (its push was never answered); check the statement and settle it")]
    NoReference(PaymentId),
    /// It is paid already.
    #[error("payment {0} is already paid")]
    AlreadyPaid(PaymentId),
    /// The operator's input is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The provider did not answer.
    #[error("the provider did not answer: {0}")]
    Provider(#[from] crate::providers::ProviderError),
    /// The answer or settlement was refused.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// Our fault.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<crate::store::StoreError> for ComplaintError {
    fn from(e: crate::store::StoreError) -> Self {
        ComplaintError::Internal(e.into())
    }
}

impl Payments {
    /// Asks the payment's provider where it stands now and applies the answer, whatever the
    /// payment's state (a timed-out payment the provider calls paid is provisioned); a paid
    /// payment is only reported.
    pub async fn recheck(&self, id: PaymentId) -> Result<Rechecked, ComplaintError> {
        let payment = self.store.payment(id).await?.ok_or(ComplaintError::NotFound(id))?;
        if payment.state == PaymentState::Paid {
            return Ok(Rechecked { answer: None, state: payment.state });
        }
        let provider = self.provider_for(&payment).await.map_err(|e| ComplaintError::Internal(e.into()))?;
        let reference =
            payment.provider_ref.clone().or_else(|| provider.reference_before_answer(id.0)).ok_or(ComplaintError::NoReference(id))?;
        let answer = provider.query(&reference).await?;
        self.store.add_payment_event(id, "recheck", "status asked by the operator", now_ms()).await?;
        self.apply(&payment, answer.clone(), "query").await?;
        let state = self.store.payment(id).await?.map_or(payment.state, |p| p.state);
        tracing::info!(payment = %id, code = %answer.code, state = state.as_str(), "payment rechecked by the operator");
        Ok(Rechecked { answer: Some(answer), state })
    }

    /// Records the payment paid with `receipt` on the operator's word, for `reason` (written
    /// on its timeline and logged), and provisions it like any paid payment.
    pub async fn settle_by_operator(&self, id: PaymentId, receipt: &str, reason: &str) -> Result<(), ComplaintError> {
        let receipt = receipt.trim().to_ascii_uppercase();
        if !(4..=20).contains(&receipt.len()) || !receipt.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ComplaintError::Invalid("a receipt is 4 to 20 letters and digits, as on the M-Pesa message".into()));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ComplaintError::Invalid("say why (--reason): it goes on the payment's record".into()));
        }
        let payment = self.store.payment(id).await?.ok_or(ComplaintError::NotFound(id))?;
        if payment.state == PaymentState::Paid {
            return Err(ComplaintError::AlreadyPaid(id));
        }
        let detail = format!("settled by the operator: {reason}");
        self.provision(&payment, None, Some(&receipt), Heard { source: "operator", detail: &detail }).await?;
        tracing::warn!(payment = %id, router = %payment.router_id, %reason, "payment settled by the operator");
        Ok(())
    }
}
