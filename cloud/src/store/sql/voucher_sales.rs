//! Voucher sales read from the codes' first use; [`VoucherSaleStore`] is implemented here.
//! Compiled once per backend (see `sql/mod.rs`).

use async_trait::async_trait;
use sqlx::FromRow;

use super::{Db, This};
use crate::model::{TenantId, VoucherBatchId, VoucherCode};
use crate::store::StoreResult;
use crate::store::sql::rows::parse_router;
use crate::store::sql::{Backend, parse_uuid};
use crate::store::voucher_sales::{SaleCursor, SaleFilter, SaleTotals, VoucherSale, VoucherSaleStore};

/// Sold codes with their batch and plan; the router is joined loosely (a code noted from a
/// usage report of old may lack it) and only when it is the tenant's.
const SALE_FROM: &str = " FROM voucher_codes c JOIN voucher_batches b ON b.id = c.batch_id AND b.tenant_id = c.tenant_id \
     JOIN plans pl ON pl.id = b.plan_id LEFT JOIN routers r ON r.id = c.used_router_id AND r.tenant_id = c.tenant_id \
     WHERE c.first_used_at IS NOT NULL AND c.tenant_id = ";

fn push_filter<'a>(query: &mut sqlx::QueryBuilder<'a, Db>, filter: &'a SaleFilter) {
    if let Some(router) = filter.router {
        query.push(" AND c.used_router_id = ").push_bind(router.to_string());
    }
    if let Some(plan) = filter.plan {
        query.push(" AND b.plan_id = ").push_bind(plan.to_string());
    }
    if let Some(from) = filter.from_ms {
        query.push(" AND c.first_used_at >= ").push_bind(from);
    }
    if let Some(to) = filter.to_ms {
        query.push(" AND c.first_used_at < ").push_bind(to);
    }
    if let Some(code) = &filter.code {
        query.push(" AND c.code = ").push_bind(code.as_str());
    }
}

#[derive(FromRow)]
struct SaleRow {
    code: String,
    batch_id: String,
    plan_name: String,
    used_router_id: Option<String>,
    router_name: Option<String>,
    device_mac: Option<String>,
    price_kes: Option<i64>,
    first_used_at: i64,
}

impl SaleRow {
    fn into_sale(self) -> StoreResult<VoucherSale> {
        Ok(VoucherSale {
            code: VoucherCode::stored(self.code),
            batch_id: VoucherBatchId(parse_uuid("voucher batch id", &self.batch_id)?),
            plan_name: self.plan_name,
            router_id: self.used_router_id.as_deref().map(parse_router).transpose()?,
            router_name: self.router_name,
            device_mac: self.device_mac.and_then(|m| m.parse().ok()),
            price_kes: self.price_kes.map(|p| p.max(0) as u32),
            sold_at: self.first_used_at,
        })
    }
}

#[async_trait]
impl VoucherSaleStore for This {
    async fn voucher_sales(
        &self,
        tenant: TenantId,
        filter: &SaleFilter,
        after: Option<&SaleCursor>,
        limit: u32,
    ) -> StoreResult<Vec<VoucherSale>> {
        let mut query = sqlx::QueryBuilder::<Db>::new(
            "SELECT c.code, c.batch_id, pl.name AS plan_name, c.used_router_id, r.name AS router_name, c.device_mac, \
             b.price_kes, c.first_used_at",
        );
        query.push(SALE_FROM).push_bind(tenant.to_string());
        push_filter(&mut query, filter);
        if let Some(after) = after {
            query
                .push(" AND (c.first_used_at < ")
                .push_bind(after.sold_at)
                .push(" OR (c.first_used_at = ")
                .push_bind(after.sold_at)
                .push(" AND c.code < ")
                .push_bind(after.code.as_str())
                .push("))");
        }
        query.push(" ORDER BY c.first_used_at DESC, c.code DESC LIMIT ").push_bind(i64::from(limit));
        let rows: Vec<SaleRow> = query.build_query_as().fetch_all(self.reads()).await?;
        rows.into_iter().map(SaleRow::into_sale).collect()
    }

    async fn voucher_sale_totals(&self, tenant: TenantId, filter: &SaleFilter) -> StoreResult<SaleTotals> {
        let mut query = sqlx::QueryBuilder::<Db>::new("SELECT COUNT(*), CAST(COALESCE(SUM(b.price_kes), 0) AS BIGINT)");
        query.push(SALE_FROM).push_bind(tenant.to_string());
        push_filter(&mut query, filter);
        let (count, kes): (i64, i64) = query.build_query_as().fetch_one(self.reads()).await?;
        Ok(SaleTotals { count, kes })
    }
}
