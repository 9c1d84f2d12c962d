//! Portal looks and business names; [`LookStore`] is implemented here directly. Compiled
//! once per backend (see `sql/mod.rs`).

use async_trait::async_trait;

use super::This;
use crate::model::{PortalLook, TenantId};
use crate::store::look::LookStore;
use crate::store::sql::{Backend, conflict_or};
use crate::store::{StoreError, StoreResult};

#[async_trait]
impl LookStore for This {
    async fn portal_look(&self, tenant: TenantId) -> StoreResult<PortalLook> {
        type Row = (Option<String>, Option<String>, Option<String>, Option<String>, Option<String>);
        let row: Option<Row> =
            sqlx::query_as("SELECT welcome, support_phone, color, language, logo FROM portal_looks WHERE tenant_id = $1")
                .bind(tenant.to_string())
                .fetch_optional(self.reads())
                .await?;
        Ok(row
            .map(|(welcome, support_phone, color, language, logo)| PortalLook { welcome, support_phone, color, language, logo })
            .unwrap_or_default())
    }

    async fn set_portal_look(&self, tenant: TenantId, look: &PortalLook) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO portal_looks (tenant_id, welcome, support_phone, color, language, logo) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (tenant_id) DO UPDATE SET welcome = excluded.welcome, support_phone = excluded.support_phone, \
             color = excluded.color, language = excluded.language, logo = excluded.logo",
        )
        .bind(tenant.to_string())
        .bind(&look.welcome)
        .bind(&look.support_phone)
        .bind(&look.color)
        .bind(&look.language)
        .bind(&look.logo)
        .execute(self.writes())
        .await?;
        Ok(())
    }

    async fn rename_tenant(&self, tenant: TenantId, name: &str) -> StoreResult<bool> {
        if uuid::Uuid::parse_str(name.trim()).is_ok() {
            return Err(StoreError::Conflict(format!("a tenant name shaped like an id ({name:?})")));
        }
        let done = sqlx::query("UPDATE tenants SET name = $2 WHERE id = $1")
            .bind(tenant.to_string())
            .bind(name)
            .execute(self.writes())
            .await
            .map_err(|e| conflict_or(e, format!("tenant {name:?}")))?;
        Ok(done.rows_affected() == 1)
    }
}
