//! The provider's answer to a push, written down even when the database is away for a
//! moment. Until it is written, its reference exists only in this process: for Daraja,
//! which can be asked about a payment only by that reference, a lost answer leaves the
//! payment to its callback alone, and a callback that is lost too (the cloud restarting
//! when it came) leaves a paying customer unserved. So a write that fails is retried in the
//! background, with backoff, for up to [`KEEP_TRYING`]; the customer is answered as for an
//! unanswered push (the page keeps following the payment).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::held::HeldPolls;
use super::service::Payments;
use crate::model::PaymentId;
use crate::store::{Store, StoreError, now_ms};

/// How long a failed write of a push's answer is retried.
pub const KEEP_TRYING: Duration = Duration::from_secs(600);

/// What the provider answered to a push.
#[derive(Clone, Debug)]
pub(super) struct PushAnswer {
    /// The payment pushed.
    pub payment: PaymentId,
    /// The provider's reference.
    pub provider_ref: String,
    /// A second reference (PayHero's CheckoutRequestID).
    pub secondary_ref: Option<String>,
    /// When reconciliation first asks about it (Unix ms).
    pub next_check_ms: i64,
}

impl Payments {
    /// Writes `answer`. Says whether it is written now; if the database failed, a task
    /// keeps trying in the background.
    pub(super) async fn record_push_answer(&self, answer: PushAnswer) -> bool {
        match write(self.store.as_ref(), &answer).await {
            Ok(()) => true,
            Err(StoreError::Database(error)) => {
                tracing::warn!(payment = %answer.payment, %error, "could not write the push's answer; retrying in the background");
                let (store, changes, held) = (self.store.clone(), self.changes.clone(), self.held.clone());
                tokio::spawn(keep_trying(store, changes, held, answer));
                false
            }
            Err(error) => {
                tracing::error!(payment = %answer.payment, %error, "the push's answer was refused by the store");
                false
            }
        }
    }
}

async fn write(store: &dyn Store, answer: &PushAnswer) -> Result<(), StoreError> {
    store.mark_prompt_sent(answer.payment, &answer.provider_ref, answer.secondary_ref.as_deref(), answer.next_check_ms, now_ms()).await
}

/// Retries the write with a doubling pause (100 ms to 5 s) until it succeeds, fails for a
/// reason other than the database, or [`KEEP_TRYING`] has passed.
async fn keep_trying(store: Arc<dyn Store>, changes: watch::Sender<u64>, held: Arc<HeldPolls>, answer: PushAnswer) {
    let deadline = tokio::time::Instant::now() + KEEP_TRYING;
    let mut pause = Duration::from_millis(100);
    let mut attempts = 1u32;
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
        attempts += 1;
        match write(store.as_ref(), &answer).await {
            Ok(()) => {
                tracing::info!(payment = %answer.payment, attempts, "the push's answer is written");
                changes.send_modify(|n| *n = n.wrapping_add(1));
                held.wake(answer.payment);
                return;
            }
            Err(StoreError::Database(_)) => {}
            Err(error) => {
                tracing::error!(payment = %answer.payment, %error, "the push's answer was refused by the store");
                return;
            }
        }
    }
    tracing::error!(payment = %answer.payment, attempts, "gave up writing the push's answer; only its callback can settle it");
}
