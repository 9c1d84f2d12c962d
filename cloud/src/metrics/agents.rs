//! The agents' own counters (protocol 3), summed over the fleet: commands applied and
//! refused, how long RouterOS took for them, RouterOS errors by kind, and reconnections to
//! the cloud and to the router. No series names a router (a fleet of 20,000 must not make
//! 20,000 series); the routers with the most RouterOS errors are the scraped gauge
//! `agent_top_routeros_errors` (see [`super::gauges`]), and each router's own numbers are
//! in its status (`router list --json`, the APIs, its dashboard page).
//!
//! An agent's counters count from its start. The hub adds the difference between the
//! counters it writes for a router and those written before (the whole report when the
//! agent restarted), so each increase is counted once, by the instance that wrote it, and
//! these are ordinary monotonic counters.

use std::sync::Arc;
use std::time::Duration;

use jasiyo_shared::AgentCounters;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use super::db::TallyHistogram;
use crate::tally::Tally;

/// [`jasiyo_shared::APPLY_BUCKETS_MS`] in seconds.
pub const APPLY_BOUNDS_SECS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// The agents' series.
#[derive(Clone)]
pub struct AgentMetrics {
    commands: Family<[(&'static str, &'static str); 1], Counter>,
    errors: Family<[(&'static str, &'static str); 1], Counter>,
    reconnects: Family<[(&'static str, &'static str); 1], Counter>,
    apply: Arc<Tally>,
}

impl AgentMetrics {
    pub(super) fn register(registry: &mut Registry) -> AgentMetrics {
        let metrics = AgentMetrics {
            commands: Family::default(),
            errors: Family::default(),
            reconnects: Family::default(),
            apply: Arc::new(Tally::new(APPLY_BOUNDS_SECS)),
        };
        registry.register(
            "agent_commands",
            "Commands the agents carried out (applied) or had refused for good (failed), as they count them",
            metrics.commands.clone(),
        );
        registry.register(
            "agent_routeros_errors",
            "Failed RouterOS API calls reported by the agents, by kind (refused, fatal, timeout, connection, protocol, login, tls)",
            metrics.errors.clone(),
        );
        registry.register(
            "agent_reconnects",
            "Links re-established by the agents: to the cloud, and to their router's API",
            metrics.reconnects.clone(),
        );
        registry.register(
            "agent_apply_seconds",
            "How long RouterOS took to apply (or refuse) each command, as the agents time it",
            TallyHistogram(metrics.apply.clone()),
        );
        metrics
    }

    /// Counts what happened between `before` (the counters last written for the router, if
    /// any) and `now`. A restarted agent (another start, or counts that went down) counts
    /// from zero.
    pub fn count(&self, before: Option<&AgentCounters>, now: &AgentCounters) {
        let delta = difference(before, now);
        self.commands.get_or_create(&[("outcome", "applied")]).inc_by(delta.commands_applied);
        self.commands.get_or_create(&[("outcome", "failed")]).inc_by(delta.commands_failed);
        for (kind, n) in delta.routeros_errors.by_kind() {
            self.errors.get_or_create(&[("kind", kind)]).inc_by(n);
        }
        self.reconnects.get_or_create(&[("link", "cloud")]).inc_by(delta.cloud_reconnects);
        self.reconnects.get_or_create(&[("link", "router")]).inc_by(delta.router_reconnects);
        if delta.well_formed() {
            self.apply.add(&delta.apply_buckets, Duration::from_millis(delta.apply_sum_ms));
        }
    }
}

/// What `now` counted since `before`: field by field when both come from the same start
/// and none went down, else `now` whole.
pub fn difference(before: Option<&AgentCounters>, now: &AgentCounters) -> AgentCounters {
    let Some(before) = before.filter(|b| b.since_ms == now.since_ms && b.apply_buckets.len() == now.apply_buckets.len()) else {
        return now.clone();
    };
    let (b, n) = (&before.routeros_errors, &now.routeros_errors);
    let pairs = [
        (before.commands_applied, now.commands_applied),
        (before.commands_failed, now.commands_failed),
        (before.apply_sum_ms, now.apply_sum_ms),
        (before.cloud_reconnects, now.cloud_reconnects),
        (before.router_reconnects, now.router_reconnects),
        (b.refused, n.refused),
        (b.fatal, n.fatal),
        (b.timeout, n.timeout),
        (b.connection, n.connection),
        (b.protocol, n.protocol),
        (b.login, n.login),
        (b.tls, n.tls),
    ];
    let buckets = before.apply_buckets.iter().zip(&now.apply_buckets);
    if pairs.iter().any(|(b, n)| n < b) || buckets.clone().any(|(b, n)| n < b) {
        return now.clone();
    }
    let mut delta = now.clone();
    delta.commands_applied -= before.commands_applied;
    delta.commands_failed -= before.commands_failed;
    delta.apply_sum_ms -= before.apply_sum_ms;
    delta.cloud_reconnects -= before.cloud_reconnects;
    delta.router_reconnects -= before.router_reconnects;
    delta.apply_buckets = buckets.map(|(b, n)| n - b).collect();
    let e = &mut delta.routeros_errors;
    (e.refused, e.fatal, e.timeout, e.connection) =
        (n.refused - b.refused, n.fatal - b.fatal, n.timeout - b.timeout, n.connection - b.connection);
    (e.protocol, e.login, e.tls) = (n.protocol - b.protocol, n.login - b.login, n.tls - b.tls);
    delta
}

#[cfg(test)]
mod tests {
    use jasiyo_shared::APPLY_BUCKETS_MS;

    use super::*;

    fn counters(since_ms: i64, applied: u64, refused: u64) -> AgentCounters {
        let mut c = AgentCounters { since_ms, commands_applied: applied, apply_buckets: vec![0; 11], ..Default::default() };
        c.apply_buckets[2] = applied;
        c.routeros_errors.refused = refused;
        c
    }

    #[test]
    fn the_bounds_are_the_agents() {
        let ms: Vec<f64> = APPLY_BUCKETS_MS.iter().map(|ms| f64::from(*ms) / 1000.0).collect();
        assert_eq!(ms, APPLY_BOUNDS_SECS);
    }

    #[test]
    fn differences_count_each_increase_once_and_restarts_from_zero() {
        let d = difference(Some(&counters(1, 5, 2)), &counters(1, 8, 3));
        assert_eq!((d.commands_applied, d.routeros_errors.refused, d.apply_buckets[2]), (3, 1, 3));
        // Restarted: a new start, or counts that went down.
        assert_eq!(difference(Some(&counters(1, 5, 2)), &counters(2, 8, 3)), counters(2, 8, 3));
        assert_eq!(difference(Some(&counters(1, 5, 2)), &counters(1, 1, 3)), counters(1, 1, 3));
        assert_eq!(difference(None, &counters(1, 1, 0)), counters(1, 1, 0));
    }
}
