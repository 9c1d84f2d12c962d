//! A tenant's plans (in the owner's order, `plan_order.rs`) and its payment provider's
//! settings (current, and those kept for payments still in flight after a switch). Compiled
//! once per backend (see `sql/mod.rs`).

use std::sync::LazyLock;

use uuid::Uuid;

use super::This;
use super::plan_order::{self, PLAN_ORDER, Placed};
use crate::model::{NewPlan, Plan, PlanId, ProviderKind, StoredProvider, TenantId};
use crate::store::sql::rows::{PLAN_COLUMNS, PlanRow, ProviderRow, prefixed};
use crate::store::sql::{Backend, conflict_or};
use crate::store::{StoreError, StoreResult};

/// `SELECT` of a plan row from `plans pl`.
static SELECT_PLAN: LazyLock<String> = LazyLock::new(|| format!("SELECT {} FROM plans pl", prefixed(PLAN_COLUMNS, "pl")));

pub(super) async fn create_plan(store: &This, tenant: TenantId, plan: &NewPlan, now_ms: i64) -> StoreResult<Plan> {
    let id = PlanId(Uuid::new_v4());
    let mut tx = store.writes().begin().await?;
    let mut order = plan_order::hold(&mut tx, tenant).await?;
    sqlx::query(
        "INSERT INTO plans (id, tenant_id, name, price_kes, duration_secs, data_mb, rate_limit, profile, active, created_at, position, \
         shared_users) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, 0, $10)",
    )
    .bind(id.to_string())
    .bind(tenant.to_string())
    .bind(&plan.name)
    .bind(i64::from(plan.price_kes))
    .bind(plan.duration_secs as i64)
    .bind(plan.data_mb.map(|v| v as i64))
    .bind(&plan.rate_limit)
    .bind(&plan.profile)
    .bind(now_ms)
    .bind(plan.shared_users.map(i64::from))
    .execute(&mut *tx)
    .await
    .map_err(|e| conflict_or(e, format!("plan {:?}", plan.name)))?;
    plan_order::insert_natural(&mut order, Placed::new(id, plan.duration_secs, plan.price_kes, plan.data_mb, &plan.name));
    plan_order::write(&mut tx, &order).await?;
    tx.commit().await?;
    self::plan(store, id).await?.ok_or_else(|| StoreError::NotFound("plan".into()))
}

pub(super) async fn list_plans(store: &This, tenant: TenantId) -> StoreResult<Vec<Plan>> {
    let sql = format!("{} WHERE pl.tenant_id = $1 ORDER BY {PLAN_ORDER}", *SELECT_PLAN);
    let rows: Vec<PlanRow> = sqlx::query_as(&sql).bind(tenant.to_string()).fetch_all(store.reads()).await?;
    rows.into_iter().map(Plan::try_from).collect()
}

pub(super) async fn plan(store: &This, id: PlanId) -> StoreResult<Option<Plan>> {
    let sql = format!("{} WHERE pl.id = $1", *SELECT_PLAN);
    let row: Option<PlanRow> = sqlx::query_as(&sql).bind(id.to_string()).fetch_optional(store.reads()).await?;
    row.map(Plan::try_from).transpose()
}

pub(super) async fn set_provider(
    store: &This,
    tenant: TenantId,
    kind: ProviderKind,
    sealed: &str,
    callback_token_hash: Option<&str>,
    now_ms: i64,
) -> StoreResult<()> {
    let mut tx = store.writes().begin().await?;
    // Another provider's settings are kept for its payments still in flight.
    sqlx::query(
        "INSERT INTO provider_history (tenant_id, kind, sealed, callback_token_hash, replaced_at) \
         SELECT tenant_id, kind, sealed, callback_token_hash, $3 FROM provider_configs WHERE tenant_id = $1 AND kind <> $2 \
         ON CONFLICT (tenant_id, kind) DO UPDATE SET sealed = excluded.sealed, \
         callback_token_hash = excluded.callback_token_hash, replaced_at = excluded.replaced_at",
    )
    .bind(tenant.to_string())
    .bind(kind.as_str())
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    // Without a new token hash, the one this tenant had for this provider (current, or
    // kept since a switch) stays: the webhook URL on the provider's dashboard keeps working.
    let stored = sqlx::query(
        "INSERT INTO provider_configs (tenant_id, kind, sealed, callback_token_hash, updated_at) \
         SELECT $1, $2, $3, h.hash, $5 FROM (SELECT COALESCE($4, \
           (SELECT callback_token_hash FROM provider_configs WHERE tenant_id = $1 AND kind = $2), \
           (SELECT callback_token_hash FROM provider_history WHERE tenant_id = $1 AND kind = $2)) AS hash) h \
         WHERE h.hash IS NOT NULL \
         ON CONFLICT (tenant_id) DO UPDATE SET kind = excluded.kind, sealed = excluded.sealed, \
         callback_token_hash = excluded.callback_token_hash, updated_at = excluded.updated_at",
    )
    .bind(tenant.to_string())
    .bind(kind.as_str())
    .bind(sealed)
    .bind(callback_token_hash)
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    if stored.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!("no webhook token kept for {}: make a new one", kind.as_str())));
    }
    sqlx::query("INSERT INTO provider_changes (tenant_id, kind, at) VALUES ($1, $2, $3)")
        .bind(tenant.to_string())
        .bind(kind.as_str())
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    // These settings are current again: older ones of the same provider are not needed.
    sqlx::query("DELETE FROM provider_history WHERE tenant_id = $1 AND kind = $2")
        .bind(tenant.to_string())
        .bind(kind.as_str())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn provider_settings(store: &This, tenant: TenantId, kind: ProviderKind) -> StoreResult<Option<StoredProvider>> {
    let sealed: Option<String> = sqlx::query_scalar(
        "SELECT sealed FROM provider_configs WHERE tenant_id = $1 AND kind = $2 \
         UNION ALL SELECT sealed FROM provider_history WHERE tenant_id = $1 AND kind = $2 LIMIT 1",
    )
    .bind(tenant.to_string())
    .bind(kind.as_str())
    .fetch_optional(store.reads())
    .await?;
    Ok(sealed.map(|sealed| StoredProvider { tenant_id: tenant, kind, sealed }))
}

pub(super) async fn provider_by_callback_token(store: &This, token_hash: &str) -> StoreResult<Option<StoredProvider>> {
    let row: Option<ProviderRow> = sqlx::query_as(
        "SELECT tenant_id, kind, sealed FROM provider_configs WHERE callback_token_hash = $1 \
         UNION ALL SELECT tenant_id, kind, sealed FROM provider_history WHERE callback_token_hash = $1 LIMIT 1",
    )
    .bind(token_hash)
    .fetch_optional(store.reads())
    .await?;
    row.map(StoredProvider::try_from).transpose()
}

pub(super) async fn legacy_sealed_providers(store: &This) -> StoreResult<Vec<StoredProvider>> {
    // Sealed with associated data starts `v2.` (payments/sealer.rs); the rest is older.
    let rows: Vec<ProviderRow> = sqlx::query_as(
        "SELECT tenant_id, kind, sealed FROM provider_configs WHERE sealed NOT LIKE 'v2.%' \
         UNION SELECT tenant_id, kind, sealed FROM provider_history WHERE sealed NOT LIKE 'v2.%'",
    )
    .fetch_all(store.reads())
    .await?;
    rows.into_iter().map(StoredProvider::try_from).collect()
}

pub(super) async fn reseal_provider(store: &This, tenant: TenantId, kind: ProviderKind, old: &str, new: &str) -> StoreResult<u64> {
    let mut tx = store.writes().begin().await?;
    let mut changed = 0;
    for table in ["provider_configs", "provider_history"] {
        let sql = format!("UPDATE {table} SET sealed = $4 WHERE tenant_id = $1 AND kind = $2 AND sealed = $3");
        let done = sqlx::query(&sql).bind(tenant.to_string()).bind(kind.as_str()).bind(old).bind(new).execute(&mut *tx).await?;
        changed += done.rows_affected();
    }
    tx.commit().await?;
    Ok(changed)
}
