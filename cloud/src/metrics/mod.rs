//! The operator's numbers: Prometheus metrics for payments, providers, callbacks,
//! reconciliation, agents, outboxes, commands, rate limits, HTTP and the database.
//!
//! One [`Metrics`] handle (cheap to clone) is made per cloud and handed to the hub, the
//! payments service and the HTTP layer, which count as things happen ([`payments`],
//! [`hub`], [`http`], and the agents' own counters as they report them: [`agents`]). What is a state rather than an event (routers online, outbox
//! depths, the reconciliation backlog, the database pool) is read from the store when
//! scraped ([`gauges`]); the database pool's waits are counted by the store ([`db`]). [`serve`] answers `GET /metrics` on its own listener, given only
//! with `serve --metrics-listen`: the numbers are never on the public address.
//!
//! Series are bounded: labels are providers, outcomes, reasons and route templates, never
//! payment ids or raw paths; per-router series exist only for the few routers with the
//! deepest or oldest outboxes ([`gauges::TOP_ROUTERS`]).

pub mod agents;
pub mod db;
pub mod gauges;
pub mod http;
pub mod hub;
pub mod payments;
pub mod serve;

use std::sync::Arc;

use prometheus_client::registry::Registry;

pub use agents::AgentMetrics;
pub use gauges::StoreGauges;
pub use http::HttpMetrics;
pub use hub::HubMetrics;
pub use payments::PaymentMetrics;

/// The cloud's metrics (shared: clones count into the same series).
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    payments: PaymentMetrics,
    hub: HubMetrics,
    agents: AgentMetrics,
    http: HttpMetrics,
    gauges: StoreGauges,
}

impl Metrics {
    /// Fresh metrics, every series at zero, under the `jasiyo_` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("jasiyo");
        let payments = PaymentMetrics::register(&mut registry);
        let hub = HubMetrics::register(&mut registry);
        let agents = AgentMetrics::register(&mut registry);
        let http = HttpMetrics::register(&mut registry);
        let gauges = StoreGauges::register(&mut registry);
        Metrics(Arc::new(Inner { registry, payments, hub, agents, http, gauges }))
    }

    /// Payments, providers, callbacks, reconciliation and rate limits.
    pub fn payments(&self) -> &PaymentMetrics {
        &self.0.payments
    }

    /// Agents and their commands.
    pub fn hub(&self) -> &HubMetrics {
        &self.0.hub
    }

    /// The agents' own counters, summed over the fleet.
    pub fn agents(&self) -> &AgentMetrics {
        &self.0.agents
    }

    /// HTTP requests.
    pub fn http(&self) -> &HttpMetrics {
        &self.0.http
    }

    /// The gauges read from the store when scraped.
    pub fn gauges(&self) -> &StoreGauges {
        &self.0.gauges
    }

    /// Every series in the OpenMetrics text format (which Prometheus reads), as last set:
    /// refresh the gauges first ([`StoreGauges::refresh`]).
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.0.registry).expect("writing to a String cannot fail");
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// Buckets for latencies in seconds, from 5 ms to about 82 s (doubling): provider calls,
/// a customer approving a prompt, a command reaching a router.
pub(crate) fn latency_buckets() -> impl Iterator<Item = f64> {
    prometheus_client::metrics::histogram::exponential_buckets(0.005, 2.0, 15)
}
