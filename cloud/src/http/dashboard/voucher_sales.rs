//! Cash (voucher) sales in Transactions: the list, paged, and its CSV export (streamed a
//! page at a time, as the payments' export is). Reads are scoped to the session's tenant;
//! the filters are read by the payments' parser (router, plan and days), the search as a
//! code and the cursor as `<sold_at>_<code>`.

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::tz::TimeZone;

use super::csv_stream::{self, Pages, TenantRows};
use super::render;
use super::session::Member;
use super::transactions::{filter_choices, parse};
use crate::dashboard::transactions::Filters;
use crate::dashboard::voucher_sales::{CSV_HEADER, SalesView, csv_line, cursor_of, list as list_page};
use crate::hub::Hub;
use crate::model::{TenantId, VoucherCode};
use crate::store::voucher_sales::{SaleCursor, SaleFilter, VoucherSale};
use crate::store::{Store, StoreResult};
use crate::time::{show_ms, zone_or_default};

/// Sales per page of the list.
const PAGE: u32 = 50;

fn internal(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "a voucher sales page failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

/// The sales filter and cursor the query string asks for, or why it cannot be read.
pub(crate) async fn parse_sales(
    store: &dyn Store,
    tenant: TenantId,
    f: &Filters,
    tz: &TimeZone,
) -> Result<(SaleFilter, Option<SaleCursor>), String> {
    let plain = Filters { state: None, q: None, before: None, ..f.clone() };
    let (payments, _) = parse(store, tenant, &plain, tz).await?;
    let mut filter = SaleFilter::of_payments(&payments).unwrap_or_default();
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let code = VoucherCode::parse(q).ok_or("Search: a voucher code like ABCD-EFGH.")?;
        filter.code = Some(code.as_str().to_string());
    }
    let after = match f.before.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        None => None,
        Some(cursor) => {
            let bad = || "The page link is damaged; start again from the first page.".to_string();
            let (at, code) = cursor.split_once('_').ok_or_else(bad)?;
            let code = VoucherCode::parse(code).ok_or_else(bad)?;
            Some(SaleCursor { sold_at: at.parse().map_err(|_| bad())?, code: code.as_str().to_string() })
        }
    };
    Ok((filter, after))
}

/// `GET /dashboard/transactions?kind=voucher`
pub(super) async fn list(hub: Arc<Hub>, member: Member, filters: Filters, headers: HeaderMap) -> Response {
    let store = hub.store();
    let tenant = member.tenant.id;
    let tz = zone_or_default(&member.tenant.time_zone);
    let frame = member.who.frame();
    let (routers, plans) = match filter_choices(store.as_ref(), tenant).await {
        Ok(found) => found,
        Err(error) => return internal(error),
    };
    let mut view =
        SalesView { filters: filters.clone(), error: None, routers, plans, sales: Vec::new(), totals: Default::default(), older: None };
    let (filter, after) = match parse_sales(store.as_ref(), tenant, &filters, &tz).await {
        Ok(parsed) => parsed,
        Err(message) => {
            view.error = Some(message);
            return render(&frame, StatusCode::BAD_REQUEST, list_page(&frame, &view), &headers);
        }
    };
    let (mut sales, totals) = match tokio::try_join!(
        store.voucher_sales(tenant, &filter, after.as_ref(), PAGE + 1),
        store.voucher_sale_totals(tenant, &filter)
    ) {
        Ok(found) => found,
        Err(error) => return internal(error),
    };
    if sales.len() > PAGE as usize {
        sales.truncate(PAGE as usize);
        view.older = sales.last().map(cursor_of);
    }
    view.totals = totals;
    view.sales = sales.into_iter().map(|s| (show_ms(s.sold_at, &tz), s)).collect();
    render(&frame, StatusCode::OK, list_page(&frame, &view), &headers)
}

/// The cash sales export: a page of voucher sales, each as [`csv_line`] writes it.
impl Pages for TenantRows<SaleFilter> {
    type Row = VoucherSale;
    type Cursor = SaleCursor;

    async fn page(&self, after: Option<&SaleCursor>, limit: u32) -> StoreResult<Vec<VoucherSale>> {
        self.store.voucher_sales(self.tenant, &self.filter, after, limit).await
    }

    fn cursor(sale: &VoucherSale) -> SaleCursor {
        SaleCursor { sold_at: sale.sold_at, code: sale.code.as_str().to_string() }
    }

    fn line(&self, sale: &VoucherSale) -> String {
        csv_line(self.role, &show_ms(sale.sold_at, &self.tz), sale)
    }
}

/// `GET /dashboard/transactions.csv?kind=voucher`: the filtered sales, newest first, streamed.
pub(super) async fn csv(hub: Arc<Hub>, member: Member, filters: Filters) -> Response {
    let tz = zone_or_default(&member.tenant.time_zone);
    let store = hub.store().clone();
    let tenant = member.tenant.id;
    let (filter, _) = match parse_sales(store.as_ref(), tenant, &Filters { before: None, ..filters }, &tz).await {
        Ok(parsed) => parsed,
        Err(message) => return (StatusCode::BAD_REQUEST, message).into_response(),
    };
    let rows = TenantRows { store, tenant, filter, tz, role: member.who.account.role };
    csv_stream::paged(rows, tenant, "voucher-sales.csv", CSV_HEADER)
}
