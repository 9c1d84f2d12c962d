//! Alert deliveries (`alert_deliveries`, migration 0024): recorded with the alert change
//! they tell, claimed under a lease by the delivery loop, and finished or made due again.
//! Compiled once per backend (see `sql/mod.rs`).
//!
//! The claim is one conditional UPDATE: the outer `due_at <= $1` is checked again against a
//! row another instance updated meanwhile (PostgreSQL re-reads it after the row lock;
//! SQLite has one writer), so two instances never claim the same row, as reconciliation's
//! leases (`checks.rs`) do.

use uuid::Uuid;

use super::alerts::{ALERT_COLUMNS, AlertRow};
use super::{Db, This};
use crate::store::StoreResult;
use crate::store::alerts::{Alert, Channel, DueDelivery};
use crate::store::sql::{Backend, parse_uuid};

/// How a change is stored.
fn change(closing: bool) -> &'static str {
    if closing { "closed" } else { "opened" }
}

/// Records the deliveries of the alert's opening (or `closing`), due at `now_ms`, in `tx`.
pub(super) async fn record(tx: &mut sqlx::Transaction<'_, Db>, alert: Uuid, closing: bool, now_ms: i64) -> StoreResult<()> {
    for channel in Channel::ALL {
        sqlx::query("INSERT INTO alert_deliveries (alert_id, change, channel, due_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind(alert.to_string())
            .bind(change(closing))
            .bind(channel.as_str())
            .bind(now_ms)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub(super) async fn claim(store: &This, now_ms: i64, lease_until_ms: i64, limit: u32) -> StoreResult<Vec<DueDelivery>> {
    let claimed: Vec<(String, String, String, i64)> = sqlx::query_as(
        "UPDATE alert_deliveries SET due_at = $2, attempts = attempts + 1 WHERE due_at <= $1 AND (alert_id, change, channel) IN \
         (SELECT alert_id, change, channel FROM alert_deliveries WHERE due_at IS NOT NULL AND due_at <= $1 ORDER BY due_at LIMIT $3) \
         RETURNING alert_id, change, channel, attempts",
    )
    .bind(now_ms)
    .bind(lease_until_ms)
    .bind(i64::from(limit))
    .fetch_all(store.writes())
    .await?;
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = sqlx::QueryBuilder::<Db>::new(format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id IN ("));
    let mut ids = query.separated(", ");
    for (alert, ..) in &claimed {
        ids.push_bind(alert.clone());
    }
    query.push(")");
    let rows: Vec<AlertRow> = query.build_query_as().fetch_all(store.writes()).await?;
    let alerts = rows.into_iter().map(Alert::try_from).collect::<StoreResult<Vec<_>>>()?;
    let mut due = Vec::with_capacity(claimed.len());
    for (alert_id, change, channel, attempts) in claimed {
        let id = parse_uuid("alert id", &alert_id)?;
        let (Some(alert), Some(channel)) = (alerts.iter().find(|a| a.id == id), Channel::parse(&channel)) else {
            tracing::warn!(alert = %alert_id, channel, "an alert delivery names no alert or no known channel; left alone");
            continue;
        };
        let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
        due.push(DueDelivery { alert: alert.clone(), closing: change == "closed", channel, attempts });
    }
    Ok(due)
}

pub(super) async fn finish(
    store: &This,
    id: Uuid,
    closing: bool,
    channel: Channel,
    outcome: &str,
    retry_at_ms: Option<i64>,
    now_ms: i64,
) -> StoreResult<()> {
    let column = if closing { "close_delivery" } else { "open_delivery" };
    let mut tx = store.writes().begin().await?;
    // Locks the alert's row first, so two channels finishing at once write the summary one
    // after the other, the second reading the first's outcome (PostgreSQL; SQLite has one
    // writer).
    sqlx::query(&format!("UPDATE alerts SET {column} = {column} WHERE id = $1")).bind(id.to_string()).execute(&mut *tx).await?;
    let done_at = retry_at_ms.is_none().then_some(now_ms);
    sqlx::query("UPDATE alert_deliveries SET due_at = $4, done_at = $5, outcome = $6 WHERE alert_id = $1 AND change = $2 AND channel = $3")
        .bind(id.to_string())
        .bind(change(closing))
        .bind(channel.as_str())
        .bind(retry_at_ms)
        .bind(done_at)
        .bind(outcome)
        .execute(&mut *tx)
        .await?;
    let outcomes: Vec<(String, String)> =
        sqlx::query_as("SELECT channel, outcome FROM alert_deliveries WHERE alert_id = $1 AND change = $2")
            .bind(id.to_string())
            .bind(change(closing))
            .fetch_all(&mut *tx)
            .await?;
    // In the channels' order ("mail: …; webhook: …"), whatever order the rows came in.
    let summary: Vec<String> = Channel::ALL
        .iter()
        .filter_map(|c| outcomes.iter().find(|(name, _)| name == c.as_str()))
        .map(|(name, outcome)| if outcome == "pending" { format!("{name}: pending") } else { outcome.clone() })
        .collect();
    let column = if closing { "close_delivery" } else { "open_delivery" };
    sqlx::query(&format!("UPDATE alerts SET {column} = $2 WHERE id = $1"))
        .bind(id.to_string())
        .bind(summary.join("; "))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
