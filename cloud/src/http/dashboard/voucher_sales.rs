//! Cash (voucher) sales in Transactions: the list, paged, and its CSV export (streamed a
//! page at a time, as the payments' export is). Reads are scoped to the session's tenant;
//! the filters are read by the payments' parser (router, plan and days), the search as a
//! code and the cursor as `<sold_at>_<code>`.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use jiff::tz::TimeZone;

use super::render;
use super::session::Member;
use super::transactions::parse;
use crate::dashboard::transactions::Filters;
use crate::dashboard::voucher_sales::{CSV_HEADER, SalesView, csv_line, cursor_of, list as list_page};
use crate::hub::Hub;
use crate::model::{Role, TenantId, VoucherCode};
use crate::store::Store;
use crate::store::voucher_sales::{SaleCursor, SaleFilter};
use crate::time::{show_ms, zone_or_default};

/// Sales per page of the list.
const PAGE: u32 = 50;
/// Sales per query of the CSV export.
const CSV_BATCH: u32 = 500;

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
    let (routers, plans) = match tokio::try_join!(store.list_routers(Some(tenant)), store.list_plans(tenant)) {
        Ok(found) => found,
        Err(error) => return internal(error),
    };
    let mut view = SalesView {
        filters: filters.clone(),
        error: None,
        routers: routers.iter().map(|r| (r.id.to_string(), r.name.clone())).collect(),
        plans: plans.iter().map(|p| (p.id.to_string(), p.name.clone())).collect(),
        sales: Vec::new(),
        totals: Default::default(),
        older: None,
    };
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

/// Where the CSV export is.
struct Export {
    store: Arc<dyn Store>,
    tenant: TenantId,
    filter: SaleFilter,
    after: Option<SaleCursor>,
    tz: TimeZone,
    role: Role,
    done: bool,
}

impl Export {
    /// The next batch of rows as CSV text, and the export after it.
    async fn next(mut self) -> Option<(Result<Bytes, std::io::Error>, Export)> {
        if self.done {
            return None;
        }
        let sales = match self.store.voucher_sales(self.tenant, &self.filter, self.after.as_ref(), CSV_BATCH).await {
            Ok(sales) => sales,
            Err(error) => {
                tracing::error!(%error, tenant = %self.tenant, "a voucher sales export stopped");
                self.done = true;
                return Some((Err(std::io::Error::other("the export failed")), self));
            }
        };
        self.done = sales.len() < CSV_BATCH as usize;
        self.after = sales.last().map(|s| SaleCursor { sold_at: s.sold_at, code: s.code.as_str().to_string() });
        let text: String = sales.iter().map(|s| csv_line(self.role, &show_ms(s.sold_at, &self.tz), s)).collect();
        Some((Ok(Bytes::from(text)), self))
    }
}

/// `GET /dashboard/transactions.csv?kind=voucher`: the filtered sales, newest first, streamed.
pub(super) async fn csv(hub: Arc<Hub>, member: Member, filters: Filters) -> Response {
    let tz = zone_or_default(&member.tenant.time_zone);
    let store = hub.store().clone();
    let (filter, _) = match parse_sales(store.as_ref(), member.tenant.id, &Filters { before: None, ..filters }, &tz).await {
        Ok(parsed) => parsed,
        Err(message) => return (StatusCode::BAD_REQUEST, message).into_response(),
    };
    let export = Export { store, tenant: member.tenant.id, filter, after: None, tz, role: member.who.account.role, done: false };
    let header_line = stream::once(async { Ok::<_, std::io::Error>(Bytes::from_static(CSV_HEADER.as_bytes())) });
    let rows = stream::unfold(export, Export::next);
    let mut response = Body::from_stream(futures_util::StreamExt::chain(header_line, rows)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"voucher-sales.csv\""));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
