//! The operator's reads across tenants; [`PlatformStore`] is implemented here directly.
//! Compiled once per backend (see `sql/mod.rs`).

use async_trait::async_trait;

use super::This;
use crate::model::{Tenant, TenantId};
use crate::store::StoreResult;
use crate::store::platform::{PlatformStore, ProviderVolume};
use crate::store::sql::rows::{TENANT_COLUMNS, TenantRow};
use crate::store::sql::{Backend, parse_uuid};

#[async_trait]
impl PlatformStore for This {
    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY name");
        let rows: Vec<TenantRow> = sqlx::query_as(&sql).fetch_all(self.reads()).await?;
        rows.into_iter().map(Tenant::try_from).collect()
    }

    async fn provider_volumes(&self, since_ms: i64) -> StoreResult<Vec<ProviderVolume>> {
        // PostgreSQL sums BIGINTs as NUMERIC: every sum is cast back.
        let rows: Vec<(String, String, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT tenant_id, provider, COUNT(*), \
             CAST(COALESCE(SUM(CASE WHEN state = 'paid' THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN state = 'paid' THEN amount_kes ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN state = 'failed' AND COALESCE(reason, '') NOT IN ('wrong_pin', 'insufficient_funds', 'limit_exceeded') \
               THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM payments WHERE created_at >= $1 GROUP BY tenant_id, provider ORDER BY tenant_id, provider",
        )
        .bind(since_ms)
        .fetch_all(self.reads())
        .await?;
        rows.into_iter()
            .map(|(tenant, provider, started, paid, paid_kes, failed)| {
                Ok(ProviderVolume { tenant: TenantId(parse_uuid("tenant id", &tenant)?), provider, started, paid, paid_kes, failed })
            })
            .collect()
    }
}
