//! Alerts and the evaluator's facts; [`AlertStore`] is implemented here directly. Compiled
//! once per backend (see `sql/mod.rs`). Opening relies on the partial unique index
//! `alerts_one_open`: `ON CONFLICT DO NOTHING` inserts nothing when an alert is open.

use async_trait::async_trait;
use sqlx::FromRow;
use uuid::Uuid;

use super::{Db, This, deliveries};
use crate::model::TenantId;
use crate::store::StoreResult;
use crate::store::alerts::{
    Alert, AlertSettings, AlertStore, Channel, DueDelivery, FailureCount, RouterSales, StuckCommands, Thresholds, Webhook,
};
use crate::store::sql::rows::parse_router;
use crate::store::sql::{Backend, parse_uuid};

/// An alert's columns, as [`AlertRow`] reads them.
pub(super) const ALERT_COLUMNS: &str = "id, tenant_id, kind, subject, detail, opened_at, closed_at, open_delivery, close_delivery";
const COLUMNS: &str = ALERT_COLUMNS;

#[derive(FromRow)]
pub(super) struct AlertRow {
    id: String,
    tenant_id: String,
    kind: String,
    subject: String,
    detail: String,
    opened_at: i64,
    closed_at: Option<i64>,
    open_delivery: String,
    close_delivery: Option<String>,
}

impl TryFrom<AlertRow> for Alert {
    type Error = crate::store::StoreError;
    fn try_from(row: AlertRow) -> StoreResult<Alert> {
        Ok(Alert {
            id: parse_uuid("alert id", &row.id)?,
            tenant_id: TenantId(parse_uuid("tenant id", &row.tenant_id)?),
            kind: row.kind,
            subject: row.subject,
            detail: row.detail,
            opened_at: row.opened_at,
            closed_at: row.closed_at,
            open_delivery: row.open_delivery,
            close_delivery: row.close_delivery,
        })
    }
}

#[derive(FromRow)]
struct SettingsRow {
    tenant_id: String,
    offline_minutes: i64,
    quiet_hours: i64,
    failures: i64,
    webhook_url: Option<String>,
    webhook_secret: Option<String>,
}

impl SettingsRow {
    fn settings(self) -> AlertSettings {
        let thresholds = Thresholds { offline_minutes: self.offline_minutes, quiet_hours: self.quiet_hours, failures: self.failures };
        let webhook = match (self.webhook_url, self.webhook_secret) {
            (Some(url), Some(sealed_secret)) => Some(Webhook { url, sealed_secret }),
            _ => None,
        };
        AlertSettings { thresholds, webhook }
    }
}

const SETTINGS: &str = "SELECT tenant_id, offline_minutes, quiet_hours, failures, webhook_url, webhook_secret FROM alert_settings";

/// Makes the tenant's settings row (with the defaults) if it has none.
async fn ensure_settings(tx: &mut sqlx::Transaction<'_, Db>, tenant: TenantId) -> StoreResult<()> {
    let defaults = Thresholds::default();
    sqlx::query(
        "INSERT INTO alert_settings (tenant_id, offline_minutes, quiet_hours, failures) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(tenant.to_string())
    .bind(defaults.offline_minutes)
    .bind(defaults.quiet_hours)
    .bind(defaults.failures)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn alerts(rows: Vec<AlertRow>) -> StoreResult<Vec<Alert>> {
    rows.into_iter().map(Alert::try_from).collect()
}

#[async_trait]
impl AlertStore for This {
    async fn alert_settings(&self, tenant: TenantId) -> StoreResult<AlertSettings> {
        let row: Option<SettingsRow> =
            sqlx::query_as(&format!("{SETTINGS} WHERE tenant_id = $1")).bind(tenant.to_string()).fetch_optional(self.reads()).await?;
        Ok(row.map(SettingsRow::settings).unwrap_or_default())
    }

    async fn all_alert_settings(&self) -> StoreResult<Vec<(TenantId, AlertSettings)>> {
        let rows: Vec<SettingsRow> = sqlx::query_as(SETTINGS).fetch_all(self.reads()).await?;
        rows.into_iter().map(|row| Ok((TenantId(parse_uuid("tenant id", &row.tenant_id)?), row.settings()))).collect()
    }

    async fn set_thresholds(&self, tenant: TenantId, thresholds: Thresholds) -> StoreResult<()> {
        let mut tx = self.writes().begin().await?;
        ensure_settings(&mut tx, tenant).await?;
        sqlx::query("UPDATE alert_settings SET offline_minutes = $2, quiet_hours = $3, failures = $4 WHERE tenant_id = $1")
            .bind(tenant.to_string())
            .bind(thresholds.offline_minutes)
            .bind(thresholds.quiet_hours)
            .bind(thresholds.failures)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_webhook(&self, tenant: TenantId, webhook: Option<&Webhook>) -> StoreResult<()> {
        let mut tx = self.writes().begin().await?;
        ensure_settings(&mut tx, tenant).await?;
        sqlx::query("UPDATE alert_settings SET webhook_url = $2, webhook_secret = $3 WHERE tenant_id = $1")
            .bind(tenant.to_string())
            .bind(webhook.map(|w| w.url.clone()))
            .bind(webhook.map(|w| w.sealed_secret.clone()))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn clear_webhook_secrets(&self) -> StoreResult<Vec<(TenantId, String)>> {
        // Sealed secrets start `v2.` (payments/sealer.rs); a clear one is hex.
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT tenant_id, webhook_secret FROM alert_settings WHERE webhook_secret IS NOT NULL AND webhook_secret NOT LIKE 'v2.%'",
        )
        .fetch_all(self.reads())
        .await?;
        rows.into_iter().map(|(tenant, secret)| Ok((TenantId(parse_uuid("tenant id", &tenant)?), secret))).collect()
    }

    async fn reseal_webhook_secret(&self, tenant: TenantId, old: &str, new: &str) -> StoreResult<u64> {
        let done = sqlx::query("UPDATE alert_settings SET webhook_secret = $3 WHERE tenant_id = $1 AND webhook_secret = $2")
            .bind(tenant.to_string())
            .bind(old)
            .bind(new)
            .execute(self.writes())
            .await?;
        Ok(done.rows_affected())
    }

    async fn open_alert(&self, tenant: TenantId, kind: &str, subject: &str, detail: &str, now_ms: i64) -> StoreResult<Option<Alert>> {
        let mut tx = self.writes().begin().await?;
        let row: Option<AlertRow> = sqlx::query_as(&format!(
            "INSERT INTO alerts (id, tenant_id, kind, subject, detail, opened_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT DO NOTHING RETURNING {COLUMNS}"
        ))
        .bind(Uuid::new_v4().to_string())
        .bind(tenant.to_string())
        .bind(kind)
        .bind(subject)
        .bind(detail)
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await?;
        let alert = row.map(Alert::try_from).transpose()?;
        if let Some(alert) = &alert {
            deliveries::record(&mut tx, alert.id, false, now_ms).await?;
        }
        tx.commit().await?;
        Ok(alert)
    }

    async fn close_alert(&self, id: Uuid, now_ms: i64) -> StoreResult<Option<Alert>> {
        let mut tx = self.writes().begin().await?;
        let row: Option<AlertRow> = sqlx::query_as(&format!(
            "UPDATE alerts SET closed_at = $2, close_delivery = 'pending' WHERE id = $1 AND closed_at IS NULL RETURNING {COLUMNS}"
        ))
        .bind(id.to_string())
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await?;
        let alert = row.map(Alert::try_from).transpose()?;
        if alert.is_some() {
            deliveries::record(&mut tx, id, true, now_ms).await?;
        }
        tx.commit().await?;
        Ok(alert)
    }

    async fn claim_deliveries(&self, now_ms: i64, lease_until_ms: i64, limit: u32) -> StoreResult<Vec<DueDelivery>> {
        deliveries::claim(self, now_ms, lease_until_ms, limit).await
    }

    async fn finish_delivery(
        &self,
        id: Uuid,
        closing: bool,
        channel: Channel,
        outcome: &str,
        retry_at_ms: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<()> {
        deliveries::finish(self, id, closing, channel, outcome, retry_at_ms, now_ms).await
    }

    async fn open_alerts(&self, tenant: Option<TenantId>) -> StoreResult<Vec<Alert>> {
        let mut query = sqlx::QueryBuilder::<Db>::new(format!("SELECT {COLUMNS} FROM alerts WHERE closed_at IS NULL"));
        if let Some(tenant) = tenant {
            query.push(" AND tenant_id = ").push_bind(tenant.to_string());
        }
        query.push(" ORDER BY opened_at, id");
        alerts(query.build_query_as().fetch_all(self.reads()).await?)
    }

    async fn closed_alerts(&self, tenant: TenantId, limit: u32) -> StoreResult<Vec<Alert>> {
        let rows = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM alerts WHERE tenant_id = $1 AND closed_at IS NOT NULL ORDER BY closed_at DESC, id LIMIT $2"
        ))
        .bind(tenant.to_string())
        .bind(i64::from(limit))
        .fetch_all(self.reads())
        .await?;
        alerts(rows)
    }

    async fn failures_since(&self, since_ms: i64) -> StoreResult<Vec<FailureCount>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT tenant_id, reason, CAST(COUNT(*) AS BIGINT) FROM payments \
             WHERE state = 'failed' AND updated_at >= $1 AND reason IS NOT NULL GROUP BY tenant_id, reason",
        )
        .bind(since_ms)
        .fetch_all(self.reads())
        .await?;
        rows.into_iter()
            .map(|(tenant, reason, count)| Ok(FailureCount { tenant_id: TenantId(parse_uuid("tenant id", &tenant)?), reason, count }))
            .collect()
    }

    async fn sales_since(&self, since_ms: i64) -> StoreResult<Vec<RouterSales>> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT router_id, CAST(COUNT(DISTINCT paid_at / 86400000) AS BIGINT), CAST(MAX(paid_at) AS BIGINT) FROM payments \
             WHERE paid_at IS NOT NULL AND paid_at >= $1 GROUP BY router_id",
        )
        .bind(since_ms)
        .fetch_all(self.reads())
        .await?;
        rows.into_iter()
            .map(|(router, days, last_paid_at)| Ok(RouterSales { router_id: parse_router(&router)?, days, last_paid_at }))
            .collect()
    }

    async fn stuck_commands(&self, before_ms: i64) -> StoreResult<Vec<StuckCommands>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT router_id, CAST(COUNT(*) AS BIGINT) FROM commands WHERE finished_at IS NULL AND created_at < $1 GROUP BY router_id",
        )
        .bind(before_ms)
        .fetch_all(self.reads())
        .await?;
        rows.into_iter().map(|(router, count)| Ok(StuckCommands { router_id: parse_router(&router)?, count })).collect()
    }
}
