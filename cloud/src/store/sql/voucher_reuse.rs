//! A voucher code used on two routers at once: a code loaded on several routers is for the
//! first one it logs in on. When the agent of another router reports traffic for it, that
//! login is ended (the code is removed from that router, which ends its sessions there) and
//! the code is removed from every router of its batch but the first, so it cannot be used
//! again elsewhere. Recorded on the code (`second_router_id`, `second_seen_at`). Compiled
//! once per backend (see `sql/mod.rs`).
//!
//! The agents' usage reports carry counters, not devices, so the second login is ended by
//! the code (every session of it on that router), not by the device's MAC. The portal
//! follows the same rule when it redeems a code (`vouchers.rs`).

use jasiyo_shared::{Command, RouterId, UserUsage};

use super::{Db, outbox};
use crate::store::StoreResult;
use crate::store::sql::rows::parse_router;

/// A code seen on a second router, as handled.
pub(super) struct Reuse {
    /// The batch of the code.
    pub batch: String,
    /// The router it was first used on.
    pub first: String,
    /// The routers it was removed from.
    pub removed_from: usize,
}

/// Finds, among `usage` reported by `router`, the codes already in use on another router,
/// records each on its code and enqueues its removal from every router of its batch but the
/// first, inside `tx`.
pub(super) async fn note_reused(
    tx: &mut sqlx::Transaction<'_, Db>,
    router: RouterId,
    usage: &[UserUsage],
    now_ms: i64,
) -> StoreResult<Vec<Reuse>> {
    let mut found = Vec::new();
    for u in usage.iter().filter(|u| u.bytes_in > 0 || u.bytes_out > 0) {
        let reused: Option<(String, String)> = sqlx::query_as(
            "UPDATE voucher_codes SET second_router_id = $1, second_seen_at = $3 \
             WHERE code = $2 AND state = 'in_use' AND used_router_id IS NOT NULL AND used_router_id <> $1 \
             AND (second_router_id IS NULL OR second_router_id <> $1) \
             AND tenant_id = (SELECT tenant_id FROM routers WHERE id = $1) \
             AND EXISTS (SELECT 1 FROM voucher_batch_routers br WHERE br.batch_id = voucher_codes.batch_id AND br.router_id = $1) \
             RETURNING batch_id, used_router_id",
        )
        .bind(router.to_string())
        .bind(&u.name)
        .bind(now_ms)
        .fetch_optional(&mut **tx)
        .await?;
        let Some((batch, first)) = reused else { continue };
        let others: Vec<String> =
            sqlx::query_scalar("SELECT router_id FROM voucher_batch_routers WHERE batch_id = $1 AND router_id <> $2 ORDER BY router_id")
                .bind(&batch)
                .bind(&first)
                .fetch_all(&mut **tx)
                .await?;
        let removal = Command::RemoveHotspotUser { name: u.name.clone() };
        for other in &others {
            outbox::enqueue_tx(tx, parse_router(other)?, &removal, now_ms).await?;
        }
        tracing::debug!(%router, code = %u.name, "voucher code used on a second router");
        found.push(Reuse { batch, first, removed_from: others.len() });
    }
    Ok(found)
}
