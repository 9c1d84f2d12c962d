//! Rate-limit counters (see `store/counters.rs`). Compiled once per backend (see
//! `sql/mod.rs`).

use async_trait::async_trait;

use super::This;
use crate::store::StoreResult;
use crate::store::counters::{CounterHit, RateCounters};
use crate::store::sql::Backend;

#[async_trait]
impl RateCounters for This {
    async fn bump_counters(&self, hits: &[CounterHit]) -> StoreResult<Vec<i64>> {
        if hits.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for all: every counter is bumped or none is.
        let values: Vec<String> = (0..hits.len()).map(|i| format!("(${}, ${}, 1, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3)).collect();
        let sql = format!(
            "INSERT INTO rate_counters (counter_key, window_start, hits, expires_at) VALUES {} \
             ON CONFLICT (counter_key, window_start) DO UPDATE SET hits = rate_counters.hits + 1 \
             RETURNING counter_key, hits",
            values.join(", ")
        );
        let mut query = sqlx::query_as::<_, (String, i64)>(&sql);
        for hit in hits {
            query = query.bind(&hit.key).bind(hit.window_start).bind(hit.expires_at);
        }
        let counted = query.fetch_all(self.writes()).await?;
        Ok(hits.iter().map(|hit| counted.iter().find(|(key, _)| *key == hit.key).map_or(0, |(_, n)| *n)).collect())
    }

    async fn forget_counters(&self, now_ms: i64) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM rate_counters WHERE expires_at < $1").bind(now_ms).execute(self.writes()).await?;
        Ok(done.rows_affected())
    }

    async fn cancelled_prompts(&self, msisdn: &str, client_ip: &str, since_ms: i64) -> StoreResult<(i64, Option<i64>)> {
        Ok(sqlx::query_as(
            "SELECT COUNT(*), MAX(updated_at) FROM payments \
             WHERE msisdn = $1 AND created_at > $2 AND state = 'cancelled' AND client_ip = $3",
        )
        .bind(msisdn)
        .bind(since_ms)
        .bind(client_ip)
        .fetch_one(self.reads())
        .await?)
    }
}
