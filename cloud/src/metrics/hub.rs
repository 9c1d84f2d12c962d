//! What the agents' hub counts: agent sessions started and refused, commands by result,
//! and how long commands take from the outbox to a result from the router (for a paid
//! payment's user, the time from the provider's callback to the router).

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::latency_buckets;

/// The hub's series.
#[derive(Clone)]
pub struct HubMetrics {
    sessions: Counter,
    refused: Counter,
    commands: Family<[(&'static str, &'static str); 1], Counter>,
    command_latency: Histogram,
}

impl HubMetrics {
    pub(super) fn register(registry: &mut Registry) -> HubMetrics {
        let metrics = HubMetrics {
            sessions: Counter::default(),
            refused: Counter::default(),
            commands: Family::default(),
            command_latency: Histogram::new(latency_buckets()),
        };
        registry.register("agent_sessions", "Agent sessions started (a rising rate: agents reconnecting)", metrics.sessions.clone());
        registry.register("agents_refused", "Agents refused (bad token, hello or version)", metrics.refused.clone());
        registry.register("commands", "Command results from routers (applied, failed, duplicate, unknown)", metrics.commands.clone());
        registry.register(
            "command_enqueue_to_result_seconds",
            "From a command entering its router's outbox (a payment paid) to the router's result",
            metrics.command_latency.clone(),
        );
        metrics
    }

    /// An agent completed its hello.
    pub fn session_started(&self) {
        self.sessions.inc();
    }

    /// An agent was refused.
    pub fn refused(&self) {
        self.refused.inc();
    }

    /// A router sent a result (`applied`, `failed`, `duplicate`, `unknown`).
    pub fn command_result(&self, result: &'static str) {
        self.commands.get_or_create(&[("result", result)]).inc();
    }

    /// A command got its first result `took` after it was enqueued.
    pub fn command_latency(&self, took: Duration) {
        self.command_latency.observe(took.as_secs_f64());
    }
}
