//! The order a tenant's plans are shown in on its portal: each plan's `position` (1 first),
//! kept dense by rewriting them all whenever one is added or moved. A new plan goes where
//! the portal's own order (shortest, cheapest, least data, name) puts it among the plans
//! before it, so an owner who never reorders sees that order; a move is the owner's word.
//! Compiled once per backend (see `sql/mod.rs`).

use super::{Db, This};
use crate::model::{PlanId, PlanMove, TenantId};
use crate::store::StoreResult;
use crate::store::sql::Backend;

/// How every listing orders plans: by position, ties (a race between two additions) by
/// the portal's own order.
pub(super) const PLAN_ORDER: &str = "pl.position, pl.duration_secs, pl.price_kes, pl.name";

/// A plan's place, and what the portal's own order compares.
#[derive(sqlx::FromRow)]
pub(super) struct Placed {
    id: String,
    position: i64,
    duration_secs: i64,
    price_kes: i64,
    data_mb: Option<i64>,
    name: String,
}

impl Placed {
    /// A plan about to be inserted (its position is written by [`write`]).
    pub(super) fn new(id: PlanId, duration_secs: u64, price_kes: u32, data_mb: Option<u64>, name: &str) -> Placed {
        Placed {
            id: id.to_string(),
            position: 0,
            duration_secs: duration_secs as i64,
            price_kes: i64::from(price_kes),
            data_mb: data_mb.map(|mb| mb as i64),
            name: name.to_string(),
        }
    }

    /// The portal's own order: shortest first, then cheapest, then least data (unlimited
    /// last), then by name.
    fn natural(&self) -> (i64, i64, i64, &str) {
        (self.duration_secs, self.price_kes, self.data_mb.unwrap_or(i64::MAX), &self.name)
    }
}

/// Holds the tenant's plan order for the rest of `tx` and reads it. The tenant's row is
/// written first, so that two changes to one tenant's order queue rather than interleave
/// (a row lock on PostgreSQL, the database's write lock on SQLite).
pub(super) async fn hold(tx: &mut sqlx::Transaction<'_, Db>, tenant: TenantId) -> StoreResult<Vec<Placed>> {
    sqlx::query("UPDATE tenants SET name = name WHERE id = $1").bind(tenant.to_string()).execute(&mut **tx).await?;
    let sql = format!(
        "SELECT pl.id, pl.position, pl.duration_secs, pl.price_kes, pl.data_mb, pl.name FROM plans pl \
         WHERE pl.tenant_id = $1 ORDER BY {PLAN_ORDER}"
    );
    Ok(sqlx::query_as(&sql).bind(tenant.to_string()).fetch_all(&mut **tx).await?)
}

/// Puts `plan` where the portal's own order places it: before the first plan in `order`
/// that order puts after it.
pub(super) fn insert_natural(order: &mut Vec<Placed>, plan: Placed) {
    let at = order.iter().position(|p| p.natural() > plan.natural()).unwrap_or(order.len());
    order.insert(at, plan);
}

/// Moves plan `id` in `order`; its new place (1 first), or `None` when `order` (the
/// tenant's plans) has no such plan.
pub(super) fn apply(order: &mut Vec<Placed>, id: PlanId, to: PlanMove) -> Option<u32> {
    let id = id.to_string();
    let from = order.iter().position(|p| p.id == id)?;
    let last = order.len() - 1;
    let to = match to {
        PlanMove::Up => from.saturating_sub(1),
        PlanMove::Down => (from + 1).min(last),
        PlanMove::To(place) => (place.max(1) as usize - 1).min(last),
    };
    let plan = order.remove(from);
    order.insert(to, plan);
    Some(to as u32 + 1)
}

/// Writes positions 1, 2, ... in `order`'s order (only those that changed).
pub(super) async fn write(tx: &mut sqlx::Transaction<'_, Db>, order: &[Placed]) -> StoreResult<()> {
    for (place, plan) in (1_i64..).zip(order) {
        if plan.position != place {
            sqlx::query("UPDATE plans SET position = $2 WHERE id = $1").bind(&plan.id).bind(place).execute(&mut **tx).await?;
        }
    }
    Ok(())
}

/// Moves one of the tenant's plans; its new place, or `None` when the tenant has no such
/// plan (another tenant's plan is not in the order read, so it cannot be moved).
pub(super) async fn move_plan(store: &This, tenant: TenantId, id: PlanId, to: PlanMove) -> StoreResult<Option<u32>> {
    let mut tx = store.writes().begin().await?;
    let mut order = hold(&mut tx, tenant).await?;
    let Some(place) = apply(&mut order, id, to) else { return Ok(None) };
    write(&mut tx, &order).await?;
    tx.commit().await?;
    Ok(Some(place))
}
