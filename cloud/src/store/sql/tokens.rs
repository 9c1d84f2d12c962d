//! Secrets kept as hashes or with an expiry: operator API tokens (with their scope, expiry
//! and the actions made through them), routers' hotspot download credentials, and the
//! providers' access tokens shared by every instance. Compiled once per backend (see
//! `sql/mod.rs`).

use jasiyo_shared::RouterId;

use super::This;
use crate::model::TenantId;
use crate::store::StoreResult;
use crate::store::sql::{Backend, conflict_or, parse_uuid};
use crate::token::{OperatorScope, OperatorToken, operator_token_id};

/// A platform-wide operator token without expiry (tests and benchmarks; the CLI makes
/// scoped, expiring ones).
pub(super) async fn create_operator_token(store: &This, name: &str, token_hash: &str, now_ms: i64) -> StoreResult<()> {
    let token = OperatorToken {
        id: operator_token_id(token_hash),
        name: name.to_string(),
        scope: OperatorScope::Platform,
        created_at: now_ms,
        expires_at: None,
        revoked_at: None,
    };
    create_scoped_operator_token(store, &token, token_hash).await
}

pub(super) async fn create_scoped_operator_token(store: &This, token: &OperatorToken, token_hash: &str) -> StoreResult<()> {
    sqlx::query("INSERT INTO operator_tokens (token_hash, id, name, tenant_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(token_hash)
        .bind(&token.id)
        .bind(&token.name)
        .bind(token.scope.tenant().map(|t| t.to_string()))
        .bind(token.created_at)
        .bind(token.expires_at)
        .execute(store.writes())
        .await
        .map_err(|e| conflict_or(e, "operator token"))?;
    Ok(())
}

/// An operator token's columns, in [`OperatorTokenRow`]'s order.
const TOKEN_COLUMNS: &str = "id, name, tenant_id, created_at, expires_at, revoked_at";

/// id, name, tenant id, created, expires, revoked.
type OperatorTokenRow = (String, String, Option<String>, i64, Option<i64>, Option<i64>);

fn operator_token(row: OperatorTokenRow) -> StoreResult<OperatorToken> {
    let (id, name, tenant, created_at, expires_at, revoked_at) = row;
    let scope = match tenant {
        None => OperatorScope::Platform,
        Some(tenant) => OperatorScope::Tenant(TenantId(parse_uuid("tenant id", &tenant)?)),
    };
    Ok(OperatorToken { id, name, scope, created_at, expires_at, revoked_at })
}

pub(super) async fn active_operator_token(store: &This, token_hash: &str, now_ms: i64) -> StoreResult<Option<OperatorToken>> {
    let sql = format!(
        "SELECT {TOKEN_COLUMNS} FROM operator_tokens WHERE token_hash = $1 AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $2)"
    );
    let row: Option<OperatorTokenRow> = sqlx::query_as(&sql).bind(token_hash).bind(now_ms).fetch_optional(store.reads()).await?;
    row.map(operator_token).transpose()
}

pub(super) async fn list_operator_tokens(store: &This) -> StoreResult<Vec<OperatorToken>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM operator_tokens ORDER BY created_at, id");
    let rows: Vec<OperatorTokenRow> = sqlx::query_as(&sql).fetch_all(store.reads()).await?;
    rows.into_iter().map(operator_token).collect()
}

pub(super) async fn revoke_operator_token(store: &This, id: &str, now_ms: i64) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE operator_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .bind(now_ms)
        .execute(store.writes())
        .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn record_operator_action(
    store: &This,
    token_id: &str,
    action: &str,
    router: Option<RouterId>,
    detail: &str,
    now_ms: i64,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO operator_actions (token_id, action, router_id, detail, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(token_id)
        .bind(action)
        .bind(router.map(|r| r.to_string()))
        .bind(detail)
        .bind(now_ms)
        .execute(store.writes())
        .await?;
    Ok(())
}

pub(super) async fn set_download_token(
    store: &This,
    router: RouterId,
    token_hash: &str,
    agent_token_hash: &str,
    now_ms: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO router_download_tokens (router_id, token_hash, agent_token_hash, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (router_id) DO UPDATE SET token_hash = excluded.token_hash, \
         agent_token_hash = excluded.agent_token_hash, created_at = excluded.created_at",
    )
    .bind(router.to_string())
    .bind(token_hash)
    .bind(agent_token_hash)
    .bind(now_ms)
    .execute(store.writes())
    .await?;
    Ok(())
}

pub(super) async fn download_token_hash(store: &This, router: RouterId) -> StoreResult<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT d.token_hash FROM router_download_tokens d JOIN routers r ON r.id = d.router_id \
         WHERE d.router_id = $1 AND d.agent_token_hash = r.token_hash AND r.revoked_at IS NULL",
    )
    .bind(router.to_string())
    .fetch_optional(store.reads())
    .await?)
}

pub(super) async fn cached_token(store: &This, key: &str, valid_until_ms: i64) -> StoreResult<Option<(String, i64)>> {
    Ok(sqlx::query_as("SELECT token, expires_at FROM provider_tokens WHERE cache_key = $1 AND expires_at > $2")
        .bind(key)
        .bind(valid_until_ms)
        .fetch_optional(store.reads())
        .await?)
}

pub(super) async fn cache_token(store: &This, key: &str, token: &str, expires_at_ms: i64) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO provider_tokens (cache_key, token, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (cache_key) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at",
    )
    .bind(key)
    .bind(token)
    .bind(expires_at_ms)
    .execute(store.writes())
    .await?;
    Ok(())
}

pub(super) async fn forget_token(store: &This, key: &str, token: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM provider_tokens WHERE cache_key = $1 AND token = $2").bind(key).bind(token).execute(store.writes()).await?;
    Ok(())
}

pub(super) async fn claim_token_refresh(store: &This, key: &str, holder: &str, now_ms: i64, lease_until_ms: i64) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO provider_tokens (cache_key, token, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (cache_key) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at \
         WHERE provider_tokens.expires_at <= $4",
    )
    .bind(key)
    .bind(holder)
    .bind(lease_until_ms)
    .bind(now_ms)
    .execute(store.writes())
    .await?;
    Ok(done.rows_affected() == 1)
}
