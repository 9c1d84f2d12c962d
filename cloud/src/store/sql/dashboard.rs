//! The dashboard's tenant-scoped reads; [`DashboardStore`] is implemented here directly.
//! Every query binds the session's tenant. Compiled once per backend (see `sql/mod.rs`).

use async_trait::async_trait;

use super::{Db, This};
use jasiyo_shared::RouterId;

use crate::model::{NewPlan, Payment, PaymentId, Plan, PlanId, PlanMove, ProviderKind, StoredCommand, TenantId};
use crate::store::dashboard::{DashboardStore, DaySales, PaymentCursor, PaymentFilter, PaymentLine, Totals};
use crate::store::sql::rows::{COMMAND_COLUMNS, CommandRow, PAYMENT_COLUMNS, PLAN_COLUMNS, PaymentRow, PlanRow, prefixed, qualified};
use crate::store::sql::{Backend, conflict_or, push_list};
use crate::store::{StoreError, StoreResult};

// PostgreSQL sums BIGINTs as NUMERIC: every sum is cast back to BIGINT.

/// A payment row with its router's and plan's names.
#[derive(sqlx::FromRow)]
struct LineRow {
    router_name: String,
    plan_name: String,
    #[sqlx(flatten)]
    payment: PaymentRow,
}

impl LineRow {
    fn into_line(self) -> StoreResult<PaymentLine> {
        Ok(PaymentLine { payment: Payment::try_from(self.payment)?, router_name: self.router_name, plan_name: self.plan_name })
    }
}

/// Appends the filter's conditions (after `WHERE p.tenant_id = ...`).
fn push_filter<'a>(query: &mut sqlx::QueryBuilder<'a, Db>, filter: &'a PaymentFilter) {
    if let Some(state) = filter.state {
        query.push(" AND p.state = ").push_bind(state.as_str());
    }
    if let Some(router) = filter.router {
        query.push(" AND p.router_id = ").push_bind(router.to_string());
    }
    if let Some(plan) = filter.plan {
        query.push(" AND p.plan_id = ").push_bind(plan.to_string());
    }
    if let Some(from) = filter.from_ms {
        query.push(" AND p.created_at >= ").push_bind(from);
    }
    if let Some(to) = filter.to_ms {
        query.push(" AND p.created_at < ").push_bind(to);
    }
    if let Some(search) = &filter.search {
        query.push(" AND (p.msisdn = ").push_bind(search.as_str()).push(" OR p.receipt = ").push_bind(search.as_str()).push(")");
    }
}

const LINE_FROM: &str = " FROM payments p JOIN routers r ON r.id = p.router_id JOIN plans pl ON pl.id = p.plan_id WHERE p.tenant_id = ";

#[async_trait]
impl DashboardStore for This {
    async fn payment_lines(
        &self,
        tenant: TenantId,
        filter: &PaymentFilter,
        after: Option<PaymentCursor>,
        limit: u32,
    ) -> StoreResult<Vec<PaymentLine>> {
        let mut query = sqlx::QueryBuilder::<Db>::new(format!(
            "SELECT r.name AS router_name, pl.name AS plan_name, {}",
            qualified(PAYMENT_COLUMNS, "p")
        ));
        query.push(LINE_FROM).push_bind(tenant.to_string());
        push_filter(&mut query, filter);
        if let Some(after) = after {
            // The redundant `created_at <=` bounds the index range: with the OR alone,
            // SQLite walks the index from the newest payment down to the cursor.
            query
                .push(" AND p.created_at <= ")
                .push_bind(after.created_at)
                .push(" AND (p.created_at < ")
                .push_bind(after.created_at)
                .push(" OR (p.created_at = ")
                .push_bind(after.created_at)
                .push(" AND p.id < ")
                .push_bind(after.id.to_string())
                .push("))");
        }
        query.push(" ORDER BY p.created_at DESC, p.id DESC LIMIT ").push_bind(i64::from(limit));
        let rows: Vec<LineRow> = query.build_query_as().fetch_all(self.reads()).await?;
        rows.into_iter().map(LineRow::into_line).collect()
    }

    async fn payment_totals(&self, tenant: TenantId, filter: &PaymentFilter) -> StoreResult<Totals> {
        let mut query = sqlx::QueryBuilder::<Db>::new(
            "SELECT COUNT(*) AS count, CAST(COALESCE(SUM(CASE WHEN p.state = 'paid' THEN 1 ELSE 0 END), 0) AS BIGINT) AS paid, \
             CAST(COALESCE(SUM(CASE WHEN p.state = 'paid' THEN p.amount_kes ELSE 0 END), 0) AS BIGINT) AS paid_kes \
             FROM payments p WHERE p.tenant_id = ",
        );
        query.push_bind(tenant.to_string());
        push_filter(&mut query, filter);
        let (count, paid, paid_kes): (i64, i64, i64) = query.build_query_as().fetch_one(self.reads()).await?;
        Ok(Totals { count, paid, paid_kes })
    }

    async fn tenant_payment(&self, tenant: TenantId, id: PaymentId) -> StoreResult<Option<PaymentLine>> {
        let mut query = sqlx::QueryBuilder::<Db>::new(format!(
            "SELECT r.name AS router_name, pl.name AS plan_name, {}",
            qualified(PAYMENT_COLUMNS, "p")
        ));
        query.push(LINE_FROM).push_bind(tenant.to_string()).push(" AND p.id = ").push_bind(id.to_string());
        let row: Option<LineRow> = query.build_query_as().fetch_optional(self.reads()).await?;
        row.map(LineRow::into_line).transpose()
    }

    async fn sales_by_day(&self, tenant: TenantId, since_ms: i64, utc_offset_secs: i64) -> StoreResult<Vec<DaySales>> {
        let offset_ms = utc_offset_secs * 1000;
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT (paid_at + $3) / 86400000 AS day, COUNT(*) AS count, CAST(COALESCE(SUM(amount_kes), 0) AS BIGINT) AS kes FROM payments \
             WHERE tenant_id = $1 AND state = 'paid' AND paid_at >= $2 GROUP BY (paid_at + $3) / 86400000 ORDER BY day",
        )
        .bind(tenant.to_string())
        .bind(since_ms)
        .bind(offset_ms)
        .fetch_all(self.reads())
        .await?;
        Ok(rows.into_iter().map(|(day, count, kes)| DaySales { day, count, kes }).collect())
    }

    async fn tenant_plan(&self, tenant: TenantId, id: PlanId) -> StoreResult<Option<Plan>> {
        let sql = format!("SELECT {} FROM plans pl WHERE pl.tenant_id = $1 AND pl.id = $2", prefixed(PLAN_COLUMNS, "pl"));
        let row: Option<PlanRow> = sqlx::query_as(&sql).bind(tenant.to_string()).bind(id.to_string()).fetch_optional(self.reads()).await?;
        row.map(Plan::try_from).transpose()
    }

    async fn update_plan(&self, tenant: TenantId, id: PlanId, plan: &NewPlan) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE plans SET name = $3, price_kes = $4, duration_secs = $5, data_mb = $6, rate_limit = $7, profile = $8, \
             shared_users = $9 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.to_string())
        .bind(id.to_string())
        .bind(&plan.name)
        .bind(i64::from(plan.price_kes))
        .bind(plan.duration_secs as i64)
        .bind(plan.data_mb.map(|v| v as i64))
        .bind(&plan.rate_limit)
        .bind(&plan.profile)
        .bind(plan.shared_users.map(i64::from))
        .execute(self.writes())
        .await
        .map_err(|e| conflict_or(e, format!("plan {:?}", plan.name)))?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_plan_active(&self, tenant: TenantId, id: PlanId, active: bool) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE plans SET active = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .bind(i64::from(active))
            .execute(self.writes())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn move_plan(&self, tenant: TenantId, id: PlanId, to: PlanMove) -> StoreResult<Option<u32>> {
        super::plan_order::move_plan(self, tenant, id, to).await
    }

    async fn current_provider(&self, tenant: TenantId) -> StoreResult<Option<(ProviderKind, i64)>> {
        let row: Option<(String, i64)> = sqlx::query_as("SELECT kind, updated_at FROM provider_configs WHERE tenant_id = $1")
            .bind(tenant.to_string())
            .fetch_optional(self.reads())
            .await?;
        row.map(|(kind, at)| {
            ProviderKind::parse(&kind).map(|k| (k, at)).ok_or_else(|| StoreError::Corrupt(format!("provider kind {kind:?}")))
        })
        .transpose()
    }

    async fn provider_changes(&self, tenant: TenantId, limit: u32) -> StoreResult<Vec<(ProviderKind, i64)>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT kind, at FROM provider_changes WHERE tenant_id = $1 ORDER BY at DESC LIMIT $2")
                .bind(tenant.to_string())
                .bind(i64::from(limit))
                .fetch_all(self.reads())
                .await?;
        rows.into_iter()
            .map(|(kind, at)| {
                ProviderKind::parse(&kind).map(|k| (k, at)).ok_or_else(|| StoreError::Corrupt(format!("provider kind {kind:?}")))
            })
            .collect()
    }

    async fn tenant_commands(&self, tenant: TenantId, router: RouterId, seqs: &[u64]) -> StoreResult<Vec<StoredCommand>> {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = sqlx::QueryBuilder::<Db>::new(format!(
            "SELECT {} FROM commands c JOIN routers r ON r.id = c.router_id WHERE r.tenant_id = ",
            qualified(COMMAND_COLUMNS, "c")
        ));
        query.push_bind(tenant.to_string()).push(" AND c.router_id = ").push_bind(router.to_string()).push(" AND c.seq IN ");
        push_list(&mut query, seqs.iter().map(|&seq| seq as i64));
        query.push(" ORDER BY c.seq");
        let rows: Vec<CommandRow> = query.build_query_as().fetch_all(self.reads()).await?;
        rows.into_iter().map(StoredCommand::try_from).collect()
    }
}
