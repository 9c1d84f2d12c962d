//! What the money path counts: payments by provider and outcome, how long customers take
//! to approve, provider calls (latency and errors), refused callbacks, reconciliation's
//! questions, and attempts refused by the rate limits.

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::latency_buckets;

/// Labels whose values are fixed words (providers, outcomes, reasons).
type Words<const N: usize> = [(&'static str, &'static str); N];

/// A histogram family over latency buckets.
type Latencies<const N: usize> = Family<Words<N>, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(latency_buckets())
}

/// The money path's series.
#[derive(Clone)]
pub struct PaymentMetrics {
    payments: Family<Words<2>, Counter>,
    initiate_to_callback: Latencies<1>,
    provider_requests: Latencies<2>,
    provider_errors: Family<Words<3>, Counter>,
    callbacks_refused: Family<Words<2>, Counter>,
    reconcile_queries: Family<Words<2>, Counter>,
    rate_limited: Family<Words<1>, Counter>,
}

impl PaymentMetrics {
    pub(super) fn register(registry: &mut Registry) -> PaymentMetrics {
        let metrics = PaymentMetrics {
            payments: Family::default(),
            initiate_to_callback: Family::new_with_constructor(latency_histogram),
            provider_requests: Family::new_with_constructor(latency_histogram),
            provider_errors: Family::default(),
            callbacks_refused: Family::default(),
            reconcile_queries: Family::default(),
            rate_limited: Family::default(),
        };
        registry.register(
            "payments",
            "Payments by provider and outcome (started, paid, failed, cancelled, timed_out, push_refused)",
            metrics.payments.clone(),
        );
        registry.register(
            "payment_initiate_to_callback_seconds",
            "From a payment's start to the provider's callback saying it is paid or not",
            metrics.initiate_to_callback.clone(),
        );
        registry.register(
            "provider_request_seconds",
            "Calls to payment providers by provider and call (push, query), answered or not",
            metrics.provider_requests.clone(),
        );
        registry.register(
            "provider_errors",
            "Failed calls to payment providers by provider, call and kind (rejected, busy, auth, unavailable)",
            metrics.provider_errors.clone(),
        );
        registry.register("callbacks_refused", "Provider callbacks refused, by provider and reason", metrics.callbacks_refused.clone());
        registry.register(
            "reconcile_queries",
            "Reconciliation's status questions by provider and answer (final, not_yet, no_answer, busy, cannot_ask)",
            metrics.reconcile_queries.clone(),
        );
        registry.register("rate_limited", "Payment attempts refused by a rate limit, by limit", metrics.rate_limited.clone());
        metrics
    }

    /// A payment through `provider` reached `outcome`.
    pub fn payment(&self, provider: &'static str, outcome: &'static str) {
        self.payments.get_or_create(&[("provider", provider), ("outcome", outcome)]).inc();
    }

    /// A provider's callback gave a payment its final word `since_start` after it began.
    pub fn callback_latency(&self, provider: &'static str, since_start: Duration) {
        self.initiate_to_callback.get_or_create(&[("provider", provider)]).observe(since_start.as_secs_f64());
    }

    /// A call to a provider took `took`; `error` is its failure's kind, if it failed.
    pub fn provider_call(&self, provider: &'static str, call: &'static str, took: Duration, error: Option<&'static str>) {
        self.provider_requests.get_or_create(&[("provider", provider), ("call", call)]).observe(took.as_secs_f64());
        if let Some(kind) = error {
            self.provider_errors.get_or_create(&[("provider", provider), ("call", call), ("kind", kind)]).inc();
        }
    }

    /// A callback was refused for `reason`.
    pub fn callback_refused(&self, provider: &'static str, reason: &'static str) {
        self.callbacks_refused.get_or_create(&[("provider", provider), ("reason", reason)]).inc();
    }

    /// Reconciliation asked about a payment and got `answer`.
    pub fn reconcile_query(&self, provider: &'static str, answer: &'static str) {
        self.reconcile_queries.get_or_create(&[("provider", provider), ("answer", answer)]).inc();
    }

    /// An attempt was refused by the limit named `limit`.
    pub fn rate_limited(&self, limit: &'static str) {
        self.rate_limited.get_or_create(&[("limit", limit)]).inc();
    }
}
