//! Reconciliation's side of payments: which are due (claimed under a lease, so instances
//! sharing a database do not ask twice), when each is asked next, and what a provider's
//! later word adds to a payment (a reference its push's answer never recorded, a receipt
//! after a status query settled it). Compiled once per backend (see `sql/mod.rs`).

use super::This;
use super::payments::events_tx;
use crate::model::{Payment, PaymentId};
use crate::store::StoreResult;
use crate::store::sql::Backend;
use crate::store::sql::rows::{PAYMENT_COLUMNS, PaymentRow};

pub(super) async fn schedule_check(store: &This, id: PaymentId, next_check_ms: Option<i64>, checks: u32) -> StoreResult<()> {
    sqlx::query("UPDATE payments SET next_check_at = $2, checks = $3 WHERE id = $1")
        .bind(id.to_string())
        .bind(next_check_ms)
        .bind(i64::from(checks))
        .execute(store.writes())
        .await?;
    Ok(())
}

pub(super) async fn claim_due_payments(store: &This, now_ms: i64, lease_until_ms: i64, limit: u32) -> StoreResult<Vec<Payment>> {
    // The outer `next_check_at <= $1` is checked again against a row another instance
    // updated meanwhile (PostgreSQL re-reads it after the row lock), so only one claims it.
    let sql = format!(
        "UPDATE payments SET next_check_at = $2 WHERE next_check_at <= $1 AND id IN \
         (SELECT id FROM payments WHERE next_check_at IS NOT NULL AND next_check_at <= $1 ORDER BY next_check_at LIMIT $3) \
         RETURNING {PAYMENT_COLUMNS}"
    );
    let rows: Vec<PaymentRow> =
        sqlx::query_as(&sql).bind(now_ms).bind(lease_until_ms).bind(i64::from(limit)).fetch_all(store.writes()).await?;
    let mut due = rows.into_iter().map(Payment::try_from).collect::<StoreResult<Vec<_>>>()?;
    due.sort_by_key(|p| p.created_at);
    Ok(due)
}

pub(super) async fn hasten_checks(store: &This, since_ms: i64, now_ms: i64) -> StoreResult<u64> {
    let done = sqlx::query(
        "UPDATE payments SET next_check_at = $2 WHERE next_check_at > $2 AND created_at >= $1 \
         AND state IN ('initiated', 'pending')",
    )
    .bind(since_ms)
    .bind(now_ms)
    .execute(store.writes())
    .await?;
    Ok(done.rows_affected())
}

pub(super) async fn adopt_reference(
    store: &This,
    id: PaymentId,
    provider_ref: Option<&str>,
    secondary_ref: Option<&str>,
    now_ms: i64,
) -> StoreResult<bool> {
    let mut tx = store.writes().begin().await?;
    // The "prompt_sent" event is written by a trigger when provider_ref is set.
    let done = sqlx::query(
        "UPDATE payments SET provider_ref = COALESCE(provider_ref, $2), secondary_ref = COALESCE(secondary_ref, $3), \
         updated_at = $4, state = CASE WHEN state = 'initiated' THEN 'pending' ELSE state END \
         WHERE id = $1 AND provider_ref IS NULL AND secondary_ref IS NULL",
    )
    .bind(id.to_string())
    .bind(provider_ref)
    .bind(secondary_ref)
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    let adopted = done.rows_affected() == 1;
    if adopted {
        let detail = format!("reference {} learned from the callback", provider_ref.or(secondary_ref).unwrap_or(""));
        events_tx(&mut tx, id, &[("reference_adopted", &detail)], now_ms).await?;
    }
    tx.commit().await?;
    Ok(adopted)
}

pub(super) async fn record_late_receipt(store: &This, id: PaymentId, receipt: &str, now_ms: i64) -> StoreResult<bool> {
    let mut tx = store.writes().begin().await?;
    let done = sqlx::query("UPDATE payments SET receipt = $2, updated_at = $3 WHERE id = $1 AND state = 'paid' AND receipt IS NULL")
        .bind(id.to_string())
        .bind(receipt)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    let recorded = done.rows_affected() == 1;
    if recorded {
        let detail = format!("receipt {receipt} (after a status query settled the payment)");
        events_tx(&mut tx, id, &[("receipt", &detail)], now_ms).await?;
    }
    tx.commit().await?;
    Ok(recorded)
}
