//! What the agents' usage reports mean for voucher codes: a code with traffic is in use
//! (its first use the report's time, even when the login happened while the cloud was
//! away), and its data used is that router's count. Both inside the report's transaction.
//! Compiled once per backend (see `sql/mod.rs`).

use jasiyo_shared::RouterId;

use super::Db;
use crate::store::StoreResult;

/// Marks the unused codes among `usage` that the router counted traffic for as in use (a
/// login on the router itself, perhaps while the cloud was away: first use is then when
/// the agent reported it), inside `tx`. Only codes of batches loaded on `router`, of its
/// tenant. Returns how many changed.
pub(super) async fn note_used(
    tx: &mut sqlx::Transaction<'_, Db>,
    router: RouterId,
    usage: &[jasiyo_shared::UserUsage],
    now_ms: i64,
) -> StoreResult<u64> {
    let mut changed = 0;
    for u in usage.iter().filter(|u| u.bytes_in > 0 || u.bytes_out > 0) {
        let done = sqlx::query(
            "UPDATE voucher_codes SET state = 'in_use', first_used_at = $3, used_router_id = $1 \
             WHERE code = $2 AND state = 'unused' \
             AND tenant_id = (SELECT tenant_id FROM routers WHERE id = $1) \
             AND EXISTS (SELECT 1 FROM voucher_batch_routers br WHERE br.batch_id = voucher_codes.batch_id AND br.router_id = $1)",
        )
        .bind(router.to_string())
        .bind(&u.name)
        .bind(now_ms)
        .execute(&mut **tx)
        .await?;
        changed += done.rows_affected();
    }
    Ok(changed)
}

/// Records the data each voucher code among `usage` used, as the router counts it, inside
/// `tx` (after [`note_used`], so a code first used now is already the router's). Only
/// codes of the router's tenant, of batches loaded on it, and in use on it (or not yet
/// used anywhere): the totals are those of the router the code logged in on, not of a
/// second router it was tried on. Returns how many codes changed.
pub(super) async fn note_bytes(
    tx: &mut sqlx::Transaction<'_, Db>,
    router: RouterId,
    usage: &[jasiyo_shared::UserUsage],
    now_ms: i64,
) -> StoreResult<u64> {
    let mut changed = 0;
    for u in usage.iter().filter(|u| u.bytes_in > 0 || u.bytes_out > 0) {
        let done = sqlx::query(
            "UPDATE voucher_codes SET bytes_in = $3, bytes_out = $4, usage_at = $5 \
             WHERE code = $2 AND (used_router_id IS NULL OR used_router_id = $1) \
             AND tenant_id = (SELECT tenant_id FROM routers WHERE id = $1) \
             AND EXISTS (SELECT 1 FROM voucher_batch_routers br WHERE br.batch_id = voucher_codes.batch_id AND br.router_id = $1)",
        )
        .bind(router.to_string())
        .bind(&u.name)
        .bind(i64::try_from(u.bytes_in).unwrap_or(i64::MAX))
        .bind(i64::try_from(u.bytes_out).unwrap_or(i64::MAX))
        .bind(now_ms)
        .execute(&mut **tx)
        .await?;
        changed += done.rows_affected();
    }
    Ok(changed)
}
