//! A callback the database could not take, kept and applied again in the background.
//! Daraja sends its callback once: answered with a 500 while the database is away for a
//! moment (connections dropped, a failover), it would be lost, and the paying customer
//! would wait for reconciliation's first question (`first_check_after`, 10 s after the
//! push) to be served. The callback is already verified bytes in this process, and applying
//! one is idempotent in the database (a repeat finds the payment settled and changes
//! nothing), so it is simply applied again, with a doubling pause, until the database takes
//! it or [`KEEP_TRYING`] passes. The provider still hears the 500 (a provider that retries
//! is welcome to: the repeat is a duplicate). Kept in memory only: a cloud that dies
//! meanwhile leaves the payment to reconciliation, which asks about it at start.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use http::HeaderMap;

use super::answer::KEEP_TRYING;
use super::service::Payments;
use super::settle::{CallbackOutcome, Refused};
use crate::providers::ProviderKind;
use crate::store::StoreError;

/// The first pause before a kept callback is applied again.
const FIRST_PAUSE: Duration = Duration::from_millis(100);

/// The longest pause between two tries.
const LONGEST_PAUSE: Duration = Duration::from_secs(2);

impl Payments {
    /// [`Payments::on_callback`], and when the callback was refused only because the
    /// database failed, a task that keeps applying it until the database takes it.
    pub async fn on_callback_kept(
        self: &Arc<Self>,
        kind: ProviderKind,
        token: &str,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<CallbackOutcome, Refused> {
        let outcome = self.on_callback(kind, token, headers, body).await;
        if let Err(refused) = &outcome
            && database_failed(refused)
        {
            tracing::warn!(provider = kind.as_str(), "the database failed on a callback; it is kept and applied again shortly");
            let (payments, token, headers, body) = (self.clone(), token.to_owned(), headers.clone(), body.clone());
            tokio::spawn(async move { payments.keep_applying(kind, &token, &headers, &body).await });
        }
        outcome
    }

    /// Applies a kept callback again until the database takes it (or it is refused for
    /// another reason), or [`KEEP_TRYING`] has passed.
    async fn keep_applying(&self, kind: ProviderKind, token: &str, headers: &HeaderMap, body: &[u8]) {
        let deadline = tokio::time::Instant::now() + KEEP_TRYING;
        let mut pause = FIRST_PAUSE;
        let mut attempts = 1u32;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(LONGEST_PAUSE);
            attempts += 1;
            match self.on_callback(kind, token, headers, body).await {
                Ok(_) => {
                    tracing::info!(provider = kind.as_str(), attempts, "a kept callback is applied");
                    return;
                }
                Err(refused) if database_failed(&refused) => {}
                Err(refused) => {
                    tracing::warn!(provider = kind.as_str(), attempts, reason = %refused, "a kept callback was refused; dropped");
                    return;
                }
            }
        }
        tracing::error!(provider = kind.as_str(), attempts, "gave up applying a kept callback; reconciliation will ask about its payment");
    }
}

/// Whether `refused` means only that the database did not answer (nothing was decided).
pub fn database_failed(refused: &Refused) -> bool {
    match refused {
        Refused::Internal(error) => error.chain().any(|cause| matches!(cause.downcast_ref::<StoreError>(), Some(StoreError::Database(_)))),
        _ => false,
    }
}
