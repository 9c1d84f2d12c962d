//! The gauges read when `/metrics` is scraped rather than counted as things happen:
//! agents connected to this instance, routers online and offline, outbox depth and the age
//! of the oldest undelivered command (in total, and for the [`TOP_ROUTERS`] worst routers
//! only: a fleet of 20,000 routers must not make 20,000 series), the reconciliation
//! backlog, and the database pool's connections (and, counted by the store, its waits).

use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::hub::Hub;
use crate::store::now_ms;
use crate::store::ops::OpsSnapshot;

/// How many routers get their own outbox series (those with the deepest and the oldest).
pub const TOP_ROUTERS: u32 = 10;

/// A gauge of seconds.
type Seconds = Gauge<f64, AtomicU64>;

/// The scraped gauges.
#[derive(Clone)]
pub struct StoreGauges {
    agents_connected: Gauge,
    routers: Family<[(&'static str, &'static str); 1], Gauge>,
    outbox_depth: Gauge,
    outbox_oldest: Seconds,
    top_depth: Family<[(&'static str, String); 1], Gauge>,
    top_oldest: Family<[(&'static str, String); 1], Seconds>,
    checks_due: Gauge,
    top_errors: Family<[(&'static str, String); 1], Gauge>,
    payments_open: Gauge,
    db_connections: Family<[(&'static str, &'static str); 1], Gauge>,
    db_pool_wait: super::db::PoolWaits,
}

impl StoreGauges {
    pub(super) fn register(registry: &mut Registry) -> StoreGauges {
        let gauges = StoreGauges {
            agents_connected: Gauge::default(),
            routers: Family::default(),
            outbox_depth: Gauge::default(),
            outbox_oldest: Seconds::default(),
            top_depth: Family::default(),
            top_oldest: Family::default(),
            checks_due: Gauge::default(),
            top_errors: Family::default(),
            payments_open: Gauge::default(),
            db_connections: Family::default(),
            db_pool_wait: super::db::PoolWaits::default(),
        };
        registry.register("agents_connected", "Agents connected to this instance", gauges.agents_connected.clone());
        registry.register("routers", "Routers not revoked, by state (online, offline)", gauges.routers.clone());
        registry.register("outbox_depth", "Commands waiting for a result, all routers", gauges.outbox_depth.clone());
        registry.register(
            "outbox_oldest_seconds",
            "Age of the oldest command waiting for a result, all routers",
            gauges.outbox_oldest.clone(),
        );
        registry.register(
            "outbox_top_depth",
            "Commands waiting for a result, for the routers with the most (top 10 only)",
            gauges.top_depth.clone(),
        );
        registry.register(
            "outbox_top_oldest_seconds",
            "Age of the oldest command waiting for a result, for the routers whose is oldest (top 10 only)",
            gauges.top_oldest.clone(),
        );
        registry.register(
            "reconcile_backlog",
            "Payments whose status check is due now and not yet asked (a growing number: reconciliation falls behind)",
            gauges.checks_due.clone(),
        );
        registry.register(
            "agent_top_routeros_errors",
            "RouterOS errors since their agent started, for the routers with the most (top 10 only)",
            gauges.top_errors.clone(),
        );
        registry.register("payments_open", "Payments without a final word yet", gauges.payments_open.clone());
        registry.register(
            "db_connections",
            "Database pool connections by state (idle, in_use, max); in_use at max means callers wait for one",
            gauges.db_connections.clone(),
        );
        registry.register(
            "db_pool_wait_seconds",
            "Time statements and transactions waited for a database connection (kept or from the pool)",
            gauges.db_pool_wait.clone(),
        );
        gauges
    }

    /// Reads the gauges from `hub` and its store. An error leaves the last values.
    pub async fn refresh(&self, hub: &Hub) -> crate::store::StoreResult<()> {
        self.agents_connected.set(hub.connected() as i64);
        let store = hub.store();
        self.db_pool_wait.follow(|| store.pool_waits());
        let stale_after = hub.stale_after().as_millis() as i64;
        let snapshot = store.ops_snapshot(now_ms(), stale_after, TOP_ROUTERS).await?;
        self.set(&snapshot, now_ms());
        let pool = store.pool_stats();
        for (state, value) in [("idle", pool.idle), ("in_use", pool.size.saturating_sub(pool.idle)), ("max", pool.max)] {
            self.db_connections.get_or_create(&[("state", state)]).set(i64::from(value));
        }
        Ok(())
    }

    fn set(&self, snapshot: &OpsSnapshot, now_ms: i64) {
        let age = |created_at: Option<i64>| created_at.map_or(0.0, |at| (now_ms - at).max(0) as f64 / 1000.0);
        self.routers.get_or_create(&[("state", "online")]).set(snapshot.routers_online);
        self.routers.get_or_create(&[("state", "offline")]).set(snapshot.routers_offline);
        self.outbox_depth.set(snapshot.outbox_depth);
        self.outbox_oldest.set(age(snapshot.outbox_oldest_at));
        // Routers that left the top lose their series.
        self.top_depth.clear();
        for router in &snapshot.deepest {
            self.top_depth.get_or_create(&[("router", router.router.to_string())]).set(router.depth);
        }
        self.top_oldest.clear();
        for router in &snapshot.oldest {
            self.top_oldest.get_or_create(&[("router", router.router.to_string())]).set(age(Some(router.oldest_at)));
        }
        self.top_errors.clear();
        for (router, errors) in &snapshot.most_errors {
            self.top_errors.get_or_create(&[("router", router.to_string())]).set(*errors);
        }
        self.checks_due.set(snapshot.checks_due);
        self.payments_open.set(snapshot.payments_open);
    }
}
