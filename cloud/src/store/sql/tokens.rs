//! Secrets kept as hashes or with an expiry: operator API tokens and the providers' access
//! tokens shared by every instance. Compiled once per backend (see `sql/mod.rs`).

use super::This;
use crate::store::StoreResult;
use crate::store::sql::{Backend, conflict_or};

pub(super) async fn create_operator_token(store: &This, name: &str, token_hash: &str, now_ms: i64) -> StoreResult<()> {
    sqlx::query("INSERT INTO operator_tokens (token_hash, name, created_at) VALUES ($1, $2, $3)")
        .bind(token_hash)
        .bind(name)
        .bind(now_ms)
        .execute(store.writes())
        .await
        .map_err(|e| conflict_or(e, "operator token"))?;
    Ok(())
}

pub(super) async fn operator_token_exists(store: &This, token_hash: &str) -> StoreResult<bool> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT name FROM operator_tokens WHERE token_hash = $1").bind(token_hash).fetch_optional(store.reads()).await?;
    Ok(found.is_some())
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
