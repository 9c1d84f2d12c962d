//! What the operator's metrics read from the database when scraped (`metrics::gauges`):
//! routers online and offline, the outboxes' depth and age with the worst few routers, and
//! the reconciliation backlog; and the connection pool's occupancy and waits.

use async_trait::async_trait;
use jasiyo_shared::RouterId;

use super::StoreResult;

/// One router's open commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxOf {
    /// The router.
    pub router: RouterId,
    /// Commands without a result.
    pub depth: i64,
    /// When the oldest of them was enqueued (Unix ms).
    pub oldest_at: i64,
}

/// The platform's state at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpsSnapshot {
    /// Routers not revoked whose agent is connected and was heard from recently.
    pub routers_online: i64,
    /// Routers not revoked that are not online.
    pub routers_offline: i64,
    /// Commands without a result, all routers.
    pub outbox_depth: i64,
    /// When the oldest of them was enqueued (Unix ms).
    pub outbox_oldest_at: Option<i64>,
    /// The routers with the most open commands, most first.
    pub deepest: Vec<OutboxOf>,
    /// The routers whose oldest open command is oldest, oldest first.
    pub oldest: Vec<OutboxOf>,
    /// Payments whose status check is due (reconciliation's backlog).
    pub checks_due: i64,
    /// Payments without a final word.
    pub payments_open: i64,
    /// The routers not revoked whose agents reported the most RouterOS errors since they
    /// started (protocol 3), most first, with that count; none with zero.
    pub most_errors: Vec<(RouterId, i64)>,
}

/// The connection pool's occupancy (summed over a backend's pools).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open.
    pub size: u32,
    /// Of those, idle in the pool.
    pub idle: u32,
    /// The most the pool opens.
    pub max: u32,
}

/// The metrics' reads.
#[async_trait]
pub trait OpsStore: Send + Sync {
    /// The platform's state at `now_ms`; a router silent for more than `stale_after_ms`
    /// counts as offline; `top` routers at most in each list.
    async fn ops_snapshot(&self, now_ms: i64, stale_after_ms: i64, top: u32) -> StoreResult<OpsSnapshot>;
    /// The connection pool's occupancy now.
    fn pool_stats(&self) -> PoolStats;
    /// How long statements and transactions have waited for a connection (kept by the
    /// store, counted as they happen).
    fn pool_waits(&self) -> std::sync::Arc<crate::tally::Tally>;
}
