//! Tenants and routers: registration, agent tokens, sessions, last seen and status.
//! Compiled once per backend (see `sql/mod.rs`).

use jasiyo_shared::{AgentCounters, RouterId, RouterStatus};
use uuid::Uuid;

use super::{Db, This};
use crate::model::{Router, Tenant, TenantId};
use crate::store::sql::rows::{ROUTER_COLUMNS, RouterRow, TENANT_COLUMNS, TenantRow};
use crate::store::sql::{Backend, conflict_or, to_json};
use crate::store::{StoreError, StoreResult};

pub(super) async fn create_tenant(store: &This, name: &str, now_ms: i64) -> StoreResult<Tenant> {
    let mut tx = store.writes().begin().await?;
    let tenant = insert_tenant(&mut tx, name, now_ms).await?;
    tx.commit().await?;
    Ok(tenant)
}

/// Inserts a tenant inside `tx`; its name must be unused and must not look like an id.
pub(super) async fn insert_tenant(tx: &mut sqlx::Transaction<'_, Db>, name: &str, now_ms: i64) -> StoreResult<Tenant> {
    if Uuid::parse_str(name.trim()).is_ok() {
        return Err(StoreError::Conflict(format!("a tenant name shaped like an id ({name:?})")));
    }
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(id.to_string())
        .bind(name)
        .bind(now_ms)
        .execute(&mut **tx)
        .await
        .map_err(|e| conflict_or(e, format!("tenant {name:?}")))?;
    Ok(Tenant {
        id: TenantId(id),
        name: name.to_string(),
        created_at: now_ms,
        time_zone: crate::time::DEFAULT_TIME_ZONE.into(),
        suspended_at: None,
    })
}

pub(super) async fn set_time_zone(store: &This, tenant: TenantId, time_zone: &str) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE tenants SET time_zone = $2 WHERE id = $1")
        .bind(tenant.to_string())
        .bind(time_zone)
        .execute(store.writes())
        .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn find_tenant(store: &This, id_or_name: &str) -> StoreResult<Option<Tenant>> {
    // An id finds by id only, so a tenant named like another's id cannot stand in for it.
    let sql = match Uuid::parse_str(id_or_name.trim()) {
        Ok(_) => format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1"),
        Err(_) => format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE name = $1"),
    };
    let row: Option<TenantRow> = sqlx::query_as(&sql).bind(id_or_name.trim()).fetch_optional(store.reads()).await?;
    row.map(Tenant::try_from).transpose()
}

pub(super) async fn create_router(store: &This, tenant: TenantId, name: &str, token_hash: &str, now_ms: i64) -> StoreResult<Router> {
    let id = RouterId::new();
    sqlx::query("INSERT INTO routers (id, tenant_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id.to_string())
        .bind(tenant.to_string())
        .bind(name)
        .bind(token_hash)
        .bind(now_ms)
        .execute(store.writes())
        .await
        .map_err(|e| conflict_or(e, format!("router {name:?}")))?;
    router(store, id).await?.ok_or_else(|| StoreError::NotFound(format!("router {id}")))
}

pub(super) async fn router(store: &This, id: RouterId) -> StoreResult<Option<Router>> {
    let sql = format!("SELECT {ROUTER_COLUMNS} FROM routers WHERE id = $1");
    let row: Option<RouterRow> = sqlx::query_as(&sql).bind(id.to_string()).fetch_optional(store.reads()).await?;
    row.map(Router::try_from).transpose()
}

pub(super) async fn routers_by_id(store: &This, ids: &[RouterId]) -> StoreResult<Vec<Router>> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut query = sqlx::QueryBuilder::<Db>::new(format!("SELECT {ROUTER_COLUMNS} FROM routers WHERE id IN "));
        crate::store::sql::push_list(&mut query, chunk.iter().map(|id| id.to_string()));
        let rows: Vec<RouterRow> = query.build_query_as().fetch_all(store.reads()).await?;
        for row in rows {
            found.push(Router::try_from(row)?);
        }
    }
    Ok(found)
}

pub(super) async fn list_routers(store: &This, tenant: Option<TenantId>) -> StoreResult<Vec<Router>> {
    let sql = format!("SELECT {ROUTER_COLUMNS} FROM routers WHERE $1 IS NULL OR tenant_id = $1 ORDER BY name, id");
    let rows: Vec<RouterRow> = sqlx::query_as(&sql).bind(tenant.map(|t| t.to_string())).fetch_all(store.reads()).await?;
    rows.into_iter().map(Router::try_from).collect()
}

pub(super) async fn revoke_router(store: &This, id: RouterId, now_ms: i64) -> StoreResult<bool> {
    let mut tx = store.writes().begin().await?;
    let done = sqlx::query("UPDATE routers SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id.to_string())
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    let revoked = done.rows_affected() == 1;
    if revoked {
        token_changed(&mut tx, id, "revoked", now_ms).await?;
    }
    tx.commit().await?;
    Ok(revoked)
}

pub(super) async fn rotate_router_token(store: &This, id: RouterId, token_hash: &str, now_ms: i64) -> StoreResult<bool> {
    let mut tx = store.writes().begin().await?;
    let done = sqlx::query("UPDATE routers SET token_hash = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id.to_string())
        .bind(token_hash)
        .execute(&mut *tx)
        .await?;
    let rotated = done.rows_affected() == 1;
    if rotated {
        token_changed(&mut tx, id, "rotated", now_ms).await?;
    }
    tx.commit().await?;
    Ok(rotated)
}

/// Records the change in `router_token_events` and announces it to every instance.
async fn token_changed(tx: &mut sqlx::Transaction<'_, Db>, id: RouterId, kind: &str, now_ms: i64) -> StoreResult<()> {
    sqlx::query("INSERT INTO router_token_events (router_id, kind, created_at) VALUES ($1, $2, $3)")
        .bind(id.to_string())
        .bind(kind)
        .bind(now_ms)
        .execute(&mut **tx)
        .await?;
    This::announce_token_change(tx, id).await
}

pub(super) async fn router_connected(store: &This, id: RouterId, session: Uuid, agent_version: &str, now_ms: i64) -> StoreResult<()> {
    sqlx::query("UPDATE routers SET online_session = $2, agent_version = $3, last_seen_at = $4, connected_at = $4 WHERE id = $1")
        .bind(id.to_string())
        .bind(session.to_string())
        .bind(agent_version)
        .bind(now_ms)
        .execute(store.writes())
        .await?;
    Ok(())
}

pub(super) async fn router_disconnected(store: &This, id: RouterId, session: Uuid, now_ms: i64) -> StoreResult<()> {
    sqlx::query("UPDATE routers SET online_session = NULL, last_seen_at = $3, disconnected_at = $3 WHERE id = $1 AND online_session = $2")
        .bind(id.to_string())
        .bind(session.to_string())
        .bind(now_ms)
        .execute(store.writes())
        .await?;
    Ok(())
}

pub(super) async fn routers_seen(store: &This, ids: &[RouterId], now_ms: i64) -> StoreResult<()> {
    // One short statement per chunk, not one long transaction: other writers (command
    // deliveries) wait a few milliseconds at most.
    for chunk in ids.chunks(500) {
        let mut query = sqlx::QueryBuilder::<Db>::new("UPDATE routers SET last_seen_at = ");
        query.push_bind(now_ms).push(" WHERE id IN ");
        crate::store::sql::push_list(&mut query, chunk.iter().map(|id| id.to_string()));
        query.build().execute(store.writes()).await?;
    }
    Ok(())
}

pub(super) async fn sessions_seen(store: &This, sessions: &[(RouterId, Uuid)], now_ms: i64) -> StoreResult<Vec<RouterId>> {
    let mut stale = Vec::new();
    for chunk in sessions.chunks(250) {
        let mut query = sqlx::QueryBuilder::<Db>::new("UPDATE routers SET last_seen_at = ");
        query.push_bind(now_ms).push(" WHERE (id, online_session) IN (VALUES ");
        let mut pairs = query.separated(", ");
        for (id, session) in chunk {
            pairs.push("(").push_bind_unseparated(id.to_string()).push_unseparated(", ");
            pairs.push_bind_unseparated(session.to_string()).push_unseparated(")");
        }
        query.push(") RETURNING id");
        let kept: std::collections::HashSet<String> = query.build_query_scalar().fetch_all(store.writes()).await?.into_iter().collect();
        stale.extend(chunk.iter().map(|(id, _)| *id).filter(|id| !kept.contains(&id.to_string())));
    }
    Ok(stale)
}

pub(super) async fn record_status(
    store: &This,
    id: RouterId,
    status: &RouterStatus,
    counters: Option<&AgentCounters>,
    now_ms: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE routers SET status_json = $2, status_at = $3, last_seen_at = $3, \
         counters_json = COALESCE($4, counters_json), routeros_errors = COALESCE($5, routeros_errors) WHERE id = $1",
    )
    .bind(id.to_string())
    .bind(to_json(status))
    .bind(now_ms)
    .bind(counters.map(to_json))
    .bind(counters.map(|c| i64::try_from(c.routeros_errors.total()).unwrap_or(i64::MAX)))
    .execute(store.writes())
    .await?;
    Ok(())
}

pub(super) async fn record_clock_skew(store: &This, id: RouterId, skew_ms: i64, now_ms: i64) -> StoreResult<()> {
    sqlx::query("UPDATE routers SET clock_skew_ms = $2, clock_skew_at = $3, last_seen_at = $3 WHERE id = $1")
        .bind(id.to_string())
        .bind(skew_ms)
        .bind(now_ms)
        .execute(store.writes())
        .await?;
    Ok(())
}

pub(super) async fn ping(store: &This) -> StoreResult<()> {
    sqlx::query("SELECT 1").execute(store.reads()).await?;
    sqlx::query("SELECT 1").execute(store.writes()).await?;
    Ok(())
}
