//! What paid payments bought: the hotspot user on a router and the device it is bound to,
//! which "Already paid?" may move to the customer's new device. Compiled once per backend
//! (see `sql/mod.rs`).

use std::sync::LazyLock;

use jasiyo_shared::{MacAddress, RouterId};
use uuid::Uuid;

use sqlx::FromRow;

use super::{This, outbox, payments};
use crate::model::{Entitlement, Payment, PaymentId};
use crate::store::payments::DeviceMove;
use crate::store::sql::Backend;
use crate::store::sql::rows::{
    ENTITLEMENT_COLUMNS, EntitlementRow, PAYMENT_COLUMNS, PaymentRow, parse_payment, parse_router, prefixed, qualified,
};
use crate::store::{StoreError, StoreResult};

/// `SELECT` of an entitlement row from `entitlements ent`.
static SELECT_ENTITLEMENT: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {} FROM entitlements ent", prefixed(ENTITLEMENT_COLUMNS, "ent")));

pub(super) async fn entitlement_for_payment(store: &This, id: PaymentId) -> StoreResult<Option<Entitlement>> {
    let sql = format!("{} WHERE ent.payment_id = $1", *SELECT_ENTITLEMENT);
    let row: Option<EntitlementRow> = sqlx::query_as(&sql).bind(id.to_string()).fetch_optional(store.reads()).await?;
    row.map(Entitlement::try_from).transpose()
}

/// Payments a receipt may name at most (more is a provider's test mode or an anomaly; the
/// newest are the ones a customer may be asking about).
const MAX_BY_RECEIPT: i64 = 10;

pub(super) async fn entitlements_by_receipt(store: &This, router: RouterId, receipt: &str) -> StoreResult<Vec<(Payment, Entitlement)>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {}, {} FROM payments p JOIN entitlements ent ON ent.payment_id = p.id \
             WHERE p.receipt = $1 AND p.router_id = $2 AND p.state = 'paid' ORDER BY p.paid_at DESC, p.id LIMIT $3",
            qualified(PAYMENT_COLUMNS, "p"),
            prefixed(ENTITLEMENT_COLUMNS, "ent")
        )
    });
    let rows = sqlx::query(&SQL).bind(receipt).bind(router.to_string()).bind(MAX_BY_RECEIPT).fetch_all(store.reads()).await?;
    rows.iter().map(|row| Ok((PaymentRow::from_row(row)?.try_into()?, EntitlementRow::from_row(row)?.try_into()?))).collect()
}

pub(super) async fn move_entitlement(
    store: &This,
    id: Uuid,
    from: Option<MacAddress>,
    to: MacAddress,
    moves: &DeviceMove,
    now_ms: i64,
) -> StoreResult<Entitlement> {
    let mut tx = store.writes().begin().await?;
    // The guard on the recorded device makes two concurrent moves of one entitlement a
    // conflict instead of two sessions.
    // A move to a device other than the one that paid is dated (one a day, see recover.rs).
    let moved: Option<(String, String)> = sqlx::query_as(
        "UPDATE entitlements SET device_mac = $2, moved_away_at = CASE WHEN \
         (SELECT p.device_mac FROM payments p WHERE p.id = entitlements.payment_id) IS NOT DISTINCT FROM $2 \
         THEN moved_away_at ELSE $5 END \
         WHERE id = $1 AND expires_at > $3 AND COALESCE(device_mac, '') = $4 RETURNING router_id, payment_id",
    )
    .bind(id.to_string())
    .bind(to.to_string())
    .bind(now_ms / 1000)
    .bind(from.map(|m| m.to_string()).unwrap_or_default())
    .bind(now_ms)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((router, payment)) = moved else {
        return Err(StoreError::Conflict("an unexpired entitlement on that device".into()));
    };
    let (router, payment) = (parse_router(&router)?, parse_payment(&payment)?);
    if let Some(end) = &moves.end_old {
        outbox::enqueue_tx(&mut tx, router, end, now_ms).await?;
    }
    let (upsert_seq, _) = outbox::enqueue_tx(&mut tx, router, &moves.upsert, now_ms).await?;
    let login_seq = match &moves.login {
        Some(login) => Some(outbox::enqueue_tx(&mut tx, router, login, now_ms).await?.0),
        None => None,
    };
    sqlx::query("UPDATE entitlements SET command_seq = $2, login_seq = $3 WHERE id = $1")
        .bind(id.to_string())
        .bind(upsert_seq.as_i64())
        .bind(login_seq.map(|s| s.as_i64()))
        .execute(&mut *tx)
        .await?;
    let from_text = from.map(|m| m.to_string()).unwrap_or_else(|| "no device".into());
    let detail = format!("moved from {from_text} to {to} (command {})", upsert_seq.0);
    payments::events_tx(&mut tx, payment, &[("entitlement_moved", &detail)], now_ms).await?;
    let sql = format!("{} WHERE ent.id = $1", *SELECT_ENTITLEMENT);
    let row: EntitlementRow = sqlx::query_as(&sql).bind(id.to_string()).fetch_one(&mut *tx).await?;
    let entitlement = row.try_into()?;
    tx.commit().await?;
    Ok(entitlement)
}

pub(super) async fn reset_moves(store: &This, payment: PaymentId) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE entitlements SET moved_away_at = NULL WHERE payment_id = $1")
        .bind(payment.to_string())
        .execute(store.writes())
        .await?;
    Ok(done.rows_affected() == 1)
}
