//! Hotspot users for the dashboard; [`UserStore`] is implemented here directly. Compiled
//! once per backend (see `sql/mod.rs`).

use async_trait::async_trait;
use sqlx::FromRow;
use uuid::Uuid;

use super::{Db, This, outbox, payments, voucher_reuse, voucher_usage};
use crate::model::{CommandState, Entitlement, PaymentId, TenantId};
use crate::store::StoreResult;
use crate::store::sql::Backend;
use crate::store::sql::rows::{ENTITLEMENT_COLUMNS, EntitlementRow, parse_payment, prefixed};
use crate::store::users::{DataUsed, UserChange, UserFilter, UserLine, UserStore};
use jasiyo_shared::{RouterId, UserUsage};

/// The listing's columns beside the entitlement's.
#[derive(FromRow)]
struct ExtraRow {
    msisdn: String,
    plan_name: String,
    router_name: String,
    command_state: Option<String>,
    command_kind: Option<String>,
    bytes_in: Option<i64>,
    bytes_out: Option<i64>,
    usage_at: Option<i64>,
}

fn select() -> String {
    format!(
        "SELECT {}, p.msisdn AS msisdn, pl.name AS plan_name, r.name AS router_name, c.state AS command_state, c.kind AS command_kind, \
         ent.bytes_in AS bytes_in, ent.bytes_out AS bytes_out, ent.usage_at AS usage_at \
         FROM entitlements ent JOIN payments p ON p.id = ent.payment_id JOIN plans pl ON pl.id = p.plan_id \
         JOIN routers r ON r.id = ent.router_id \
         LEFT JOIN commands c ON c.router_id = ent.router_id AND c.seq = ent.command_seq WHERE p.tenant_id = ",
        prefixed(ENTITLEMENT_COLUMNS, "ent")
    )
}

fn line(row: &<Db as sqlx::Database>::Row) -> StoreResult<UserLine> {
    let extra = ExtraRow::from_row(row)?;
    Ok(UserLine {
        entitlement: EntitlementRow::from_row(row)?.try_into()?,
        msisdn: extra.msisdn,
        plan_name: extra.plan_name,
        router_name: extra.router_name,
        command: extra.command_state.as_deref().and_then(CommandState::parse),
        command_kind: extra.command_kind,
        usage: match (extra.bytes_in, extra.bytes_out, extra.usage_at) {
            (Some(bytes_in), Some(bytes_out), Some(at)) => {
                Some(DataUsed { bytes_in: bytes_in.max(0) as u64, bytes_out: bytes_out.max(0) as u64, at })
            }
            _ => None,
        },
    })
}

#[async_trait]
impl UserStore for This {
    async fn tenant_users(
        &self,
        tenant: TenantId,
        filter: &UserFilter,
        after: Option<(i64, Uuid)>,
        limit: u32,
    ) -> StoreResult<Vec<UserLine>> {
        let mut query = sqlx::QueryBuilder::<Db>::new(select());
        query.push_bind(tenant.to_string());
        if let Some(router) = filter.router {
            query.push(" AND ent.router_id = ").push_bind(router.to_string());
        }
        if let Some(at) = filter.active_at {
            query.push(" AND ent.expires_at > ").push_bind(at);
        }
        if let Some(search) = &filter.search {
            query
                .push(" AND (ent.username = ")
                .push_bind(search.to_uppercase())
                .push(" OR p.msisdn = ")
                .push_bind(search.clone())
                .push(" OR ent.device_mac = ")
                .push_bind(search.to_uppercase())
                .push(")");
        }
        if let Some((created_at, id)) = after {
            query
                .push(" AND (ent.created_at < ")
                .push_bind(created_at)
                .push(" OR (ent.created_at = ")
                .push_bind(created_at)
                .push(" AND ent.id < ")
                .push_bind(id.to_string())
                .push("))");
        }
        query.push(" ORDER BY ent.created_at DESC, ent.id DESC LIMIT ").push_bind(i64::from(limit));
        let rows = query.build().fetch_all(self.reads()).await?;
        rows.iter().map(line).collect()
    }

    async fn tenant_user(&self, tenant: TenantId, id: Uuid) -> StoreResult<Option<UserLine>> {
        let mut query = sqlx::QueryBuilder::<Db>::new(select());
        query.push_bind(tenant.to_string()).push(" AND ent.id = ").push_bind(id.to_string());
        let row = query.build().fetch_optional(self.reads()).await?;
        row.as_ref().map(line).transpose()
    }

    async fn change_user(
        &self,
        tenant: TenantId,
        id: Uuid,
        change: &UserChange<'_>,
        now_ms: i64,
    ) -> StoreResult<Option<(PaymentId, Entitlement)>> {
        let mut tx = self.writes().begin().await?;
        let found: Option<(String, String)> = sqlx::query_as(
            "SELECT ent.router_id, ent.payment_id FROM entitlements ent JOIN payments p ON p.id = ent.payment_id \
             WHERE ent.id = $1 AND p.tenant_id = $2",
        )
        .bind(id.to_string())
        .bind(tenant.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((router, payment)) = found else { return Ok(None) };
        let (router, payment) = (crate::store::sql::rows::parse_router(&router)?, parse_payment(&payment)?);
        let mut first = None;
        for command in change.commands {
            let (seq, _) = outbox::enqueue_tx(&mut tx, router, command, now_ms).await?;
            first.get_or_insert(seq);
        }
        sqlx::query("UPDATE entitlements SET expires_at = $2, command_seq = COALESCE($3, command_seq) WHERE id = $1")
            .bind(id.to_string())
            .bind(change.expires_at)
            .bind(first.map(|s| s.as_i64()))
            .execute(&mut *tx)
            .await?;
        payments::events_tx(&mut tx, payment, &[change.event], now_ms).await?;
        let sql = format!("SELECT {} FROM entitlements ent WHERE ent.id = $1", prefixed(ENTITLEMENT_COLUMNS, "ent"));
        let row: EntitlementRow = sqlx::query_as(&sql).bind(id.to_string()).fetch_one(&mut *tx).await?;
        let entitlement = row.try_into()?;
        tx.commit().await?;
        Ok(Some((payment, entitlement)))
    }

    async fn record_usage(&self, router: RouterId, usage: &[UserUsage], now_ms: i64) -> StoreResult<u64> {
        // The router's own entitlements, and only those its tenant paid for: a report from
        // one router can never touch another's (or another tenant's) users.
        let sql = "UPDATE entitlements SET bytes_in = $3, bytes_out = $4, usage_at = $5 \
                   WHERE router_id = $1 AND username = $2 \
                   AND EXISTS (SELECT 1 FROM payments p JOIN routers r ON r.id = $1 \
                               WHERE p.id = entitlements.payment_id AND p.tenant_id = r.tenant_id)";
        let mut tx = self.writes().begin().await?;
        let mut updated = 0;
        for u in usage {
            let result = sqlx::query(sql)
                .bind(router.to_string())
                .bind(&u.name)
                .bind(i64::try_from(u.bytes_in).unwrap_or(i64::MAX))
                .bind(i64::try_from(u.bytes_out).unwrap_or(i64::MAX))
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            updated += result.rows_affected();
        }
        // A voucher the router counted traffic for has been used, wherever it logged in.
        let used = voucher_usage::note_used(&mut tx, router, usage, now_ms).await?;
        if used > 0 {
            tracing::info!(%router, codes = used, "vouchers first used on the router, as its agent reported");
        }
        // ...and one in use on another router is ended here and removed elsewhere.
        for reuse in voucher_reuse::note_reused(&mut tx, router, usage, now_ms).await? {
            tracing::warn!(
                %router,
                batch = %reuse.batch,
                first_router = %reuse.first,
                removed_from = reuse.removed_from,
                "a voucher code in use on one router logged in on another: its login there is ended and the code removed from the batch's other routers"
            );
        }
        voucher_usage::note_bytes(&mut tx, router, usage, now_ms).await?;
        tx.commit().await?;
        Ok(updated)
    }
}
