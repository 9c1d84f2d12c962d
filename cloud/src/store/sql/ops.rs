//! The metrics' reads; [`OpsStore`] is implemented here directly. Compiled once per
//! backend (see `sql/mod.rs`); the pool's occupancy comes from the backend's own file.

use super::This;
use crate::store::StoreResult;
use crate::store::ops::{OpsSnapshot, OpsStore, OutboxOf, PoolStats};
use crate::store::sql::{Backend, parse_uuid};
use async_trait::async_trait;

#[async_trait]
impl OpsStore for This {
    async fn ops_snapshot(&self, now_ms: i64, stale_after_ms: i64, top: u32) -> StoreResult<OpsSnapshot> {
        let (online, live): (i64, i64) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(CASE WHEN online_session IS NOT NULL AND last_seen_at >= $1 THEN 1 ELSE 0 END), 0) AS BIGINT), \
             COUNT(*) FROM routers WHERE revoked_at IS NULL",
        )
        .bind(now_ms - stale_after_ms)
        .fetch_one(self.reads())
        .await?;
        let (outbox_depth, outbox_oldest_at): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM commands WHERE finished_at IS NULL").fetch_one(self.reads()).await?;
        let deepest = self.outboxes("COUNT(*) DESC", top).await?;
        let oldest = self.outboxes("MIN(created_at)", top).await?;
        let (checks_due, payments_open): (i64, i64) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(CASE WHEN next_check_at <= $1 THEN 1 ELSE 0 END), 0) AS BIGINT), COUNT(*) \
             FROM payments WHERE state IN ('initiated', 'pending')",
        )
        .bind(now_ms)
        .fetch_one(self.reads())
        .await?;
        let most_errors: Vec<(String, i64)> = sqlx::query_as(
            "SELECT id, routeros_errors FROM routers WHERE revoked_at IS NULL AND routeros_errors > 0 \
             ORDER BY routeros_errors DESC, id LIMIT $1",
        )
        .bind(i64::from(top))
        .fetch_all(self.reads())
        .await?;
        let most_errors =
            most_errors.into_iter().map(|(id, n)| Ok((parse_uuid("router id", &id)?.into(), n))).collect::<StoreResult<_>>()?;
        Ok(OpsSnapshot {
            routers_online: online,
            routers_offline: live - online,
            outbox_depth,
            outbox_oldest_at,
            deepest,
            oldest,
            checks_due,
            payments_open,
            most_errors,
        })
    }

    fn pool_stats(&self) -> PoolStats {
        self.pool_occupancy()
    }

    fn pool_waits(&self) -> std::sync::Arc<crate::tally::Tally> {
        self.pool_wait_tally()
    }
}

impl This {
    /// The `top` routers with open commands, in `order` (an aggregate over the router's
    /// open commands; a constant of this file, never input).
    async fn outboxes(&self, order: &'static str, top: u32) -> StoreResult<Vec<OutboxOf>> {
        let sql = format!(
            "SELECT router_id, COUNT(*), MIN(created_at) FROM commands WHERE finished_at IS NULL \
             GROUP BY router_id ORDER BY {order}, router_id LIMIT $1"
        );
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(&sql).bind(i64::from(top)).fetch_all(self.reads()).await?;
        rows.into_iter()
            .map(|(router, depth, oldest_at)| Ok(OutboxOf { router: parse_uuid("router id", &router)?.into(), depth, oldest_at }))
            .collect()
    }
}
