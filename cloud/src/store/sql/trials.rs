//! The free trial's settings and uses; [`TrialStore`] is implemented here. Compiled once
//! per backend (see `sql/mod.rs`).

use async_trait::async_trait;
use jasiyo_shared::{Command, MacAddress, RouterId, Seq};

use super::{This, outbox};
use crate::store::sql::Backend;
use crate::store::trials::{TrialStore, TrialUses};
use crate::store::{StoreError, StoreResult};

const DAY_MS: i64 = 86_400_000;

#[async_trait]
impl TrialStore for This {
    async fn set_trial(&self, router: RouterId, minutes: Option<u32>, command: &Command, now_ms: i64) -> StoreResult<Seq> {
        let mut tx = self.writes().begin().await?;
        let known: Option<String> =
            sqlx::query_scalar("SELECT id FROM routers WHERE id = $1").bind(router.to_string()).fetch_optional(&mut *tx).await?;
        if known.is_none() {
            return Err(StoreError::NotFound(format!("router {router}")));
        }
        match minutes {
            Some(minutes) => {
                sqlx::query(
                    "INSERT INTO router_trials (router_id, minutes, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (router_id) DO UPDATE SET minutes = excluded.minutes, updated_at = excluded.updated_at",
                )
                .bind(router.to_string())
                .bind(i64::from(minutes))
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM router_trials WHERE router_id = $1").bind(router.to_string()).execute(&mut *tx).await?;
            }
        }
        let (seq, _) = outbox::enqueue_tx(&mut tx, router, command, now_ms).await?;
        tx.commit().await?;
        Ok(seq)
    }

    async fn trial_minutes(&self, router: RouterId) -> StoreResult<Option<u32>> {
        let minutes: Option<i64> = sqlx::query_scalar("SELECT minutes FROM router_trials WHERE router_id = $1")
            .bind(router.to_string())
            .fetch_optional(self.reads())
            .await?;
        Ok(minutes.map(|m| m.clamp(0, i64::from(u32::MAX)) as u32))
    }

    async fn record_trial_uses(&self, router: RouterId, macs: &[MacAddress], now_ms: i64) -> StoreResult<u64> {
        let mut added = 0;
        for mac in macs {
            let done = sqlx::query(
                "INSERT INTO trial_uses (router_id, mac, day, first_seen_at) SELECT id, $2, $3, $4 FROM routers WHERE id = $1 \
                 ON CONFLICT DO NOTHING",
            )
            .bind(router.to_string())
            .bind(mac.to_string())
            .bind(now_ms.div_euclid(DAY_MS))
            .bind(now_ms)
            .execute(self.writes())
            .await?;
            added += done.rows_affected();
        }
        Ok(added)
    }

    async fn trial_uses(&self, router: RouterId, since_ms: i64) -> StoreResult<TrialUses> {
        let (recent, total): (i64, i64) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(CASE WHEN first_seen_at >= $2 THEN 1 ELSE 0 END), 0) AS BIGINT), COUNT(*) \
             FROM trial_uses WHERE router_id = $1",
        )
        .bind(router.to_string())
        .bind(since_ms)
        .fetch_one(self.reads())
        .await?;
        Ok(TrialUses { recent, total })
    }
}
