//! What the payments service counts for the operator's metrics (`crate::metrics`): the
//! words each refusal, error and limit is counted under, and the timed provider calls.
//! Kept here so the money path's files gain one line per count, not a paragraph.

use std::time::{Duration, Instant};

use super::limits::LimitHit;
use super::service::{Payments, PortalError};
use super::settle::Refused;
use crate::metrics::PaymentMetrics;
use crate::model::Payment;
use crate::providers::{CallbackError, Provider, ProviderError, ProviderEvent, PushAccepted, PushRequest};
use crate::store::now_ms;

impl Payments {
    /// The money path's metrics.
    pub fn metrics(&self) -> &PaymentMetrics {
        self.config.metrics.payments()
    }

    /// Counts an attempt refused by a rate limit (other errors are not counted here).
    pub(super) fn count_refusal(&self, error: &PortalError) {
        if let PortalError::RateLimited(hit) = error {
            self.metrics().rate_limited(limit_label(*hit));
        }
    }

    /// Counts a payment's final word `outcome` (`paid`, `failed`, ...), heard from `source`;
    /// a callback's also times the customer's approval, from the payment's start.
    pub(super) fn count_final(&self, payment: &Payment, outcome: &'static str, source: &str) {
        let provider = payment.provider.as_str();
        self.metrics().payment(provider, outcome);
        if source == "callback" {
            let since_start = Duration::from_millis((now_ms() - payment.created_at).max(0) as u64);
            self.metrics().callback_latency(provider, since_start);
        }
    }

    /// Sends the STK push, timed and counted.
    pub(super) async fn timed_push(&self, provider: &dyn Provider, push: &PushRequest) -> Result<PushAccepted, ProviderError> {
        let started = Instant::now();
        let answer = provider.initiate(push).await;
        let error = answer.as_ref().err().map(error_kind);
        self.metrics().provider_call(provider.kind().as_str(), "push", started.elapsed(), error);
        answer
    }

    /// Asks the provider where a payment stands, timed and counted.
    pub(super) async fn timed_query(&self, provider: &dyn Provider, reference: &str) -> Result<ProviderEvent, ProviderError> {
        let started = Instant::now();
        let answer = provider.query(reference).await;
        let error = answer.as_ref().err().map(error_kind);
        self.metrics().provider_call(provider.kind().as_str(), "query", started.elapsed(), error);
        answer
    }
}

impl Refused {
    /// The word a refusal is counted under (`callbacks_refused{reason}`).
    pub fn label(&self) -> &'static str {
        match self {
            Refused::UnknownToken => "unknown_token",
            Refused::Callback(CallbackError::BadSignature) => "bad_signature",
            Refused::Callback(CallbackError::Malformed(_)) => "malformed",
            Refused::Callback(CallbackError::Ignored(_)) => "ignored",
            Refused::WrongReference(_) => "wrong_reference",
            Refused::WrongPhone => "wrong_phone",
            Refused::Unconfirmed { .. } => "unconfirmed",
            Refused::WrongAmount { .. } => "wrong_amount",
            Refused::Internal(_) => "internal",
        }
    }
}

/// The word a provider error is counted under (`provider_errors{kind}`).
pub fn error_kind(error: &ProviderError) -> &'static str {
    match error {
        ProviderError::Rejected { .. } => "rejected",
        ProviderError::Busy(_) => "busy",
        ProviderError::Auth(_) => "auth",
        ProviderError::Unavailable(_) => "unavailable",
    }
}

/// The word a limit is counted under (`rate_limited{limit}`).
fn limit_label(hit: LimitHit) -> &'static str {
    match hit {
        LimitHit::Phone => "phone",
        LimitHit::Device => "device",
        LimitHit::Ip => "ip",
        LimitHit::Router => "router",
        LimitHit::Tenant => "tenant",
        LimitHit::Global => "global",
        LimitHit::Backoff => "backoff",
    }
}
