//! The transactions pages: the filtered, paged list, its CSV export (streamed a page of
//! rows at a time, never the whole set in memory), and one payment with its merged
//! timeline. Every read is scoped to the session's tenant; a filter naming a router or
//! plan that is not the tenant's is refused with 400, as any malformed filter is.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Deserialize;

use super::csv_stream::{self, Pages, TenantRows};
use super::render;
use super::session::Member;
use crate::dashboard::transaction::{DetailView, Notice, detail as detail_page, not_found, timeline};
use crate::dashboard::transactions::{CSV_HEADER, Filters, ListView, VOUCHER_KIND, csv_line, list as list_page};
use crate::hub::Hub;
use crate::model::{PaymentId, PaymentState, TenantId};
use crate::payments::phone::Msisdn;
use crate::payments::resend::{RESENT, resent_seq};
use crate::store::dashboard::{PaymentCursor, PaymentFilter, PaymentLine, Totals};
use crate::store::voucher_sales::{SaleFilter, SaleTotals};
use crate::store::{Store, StoreResult};
use crate::time::{show_ms, show_secs, zone_or_default};

/// Payments per page of the list.
const PAGE: u32 = 50;

fn internal(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "a transactions page failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn day_start(text: &str, field: &str, tz: &TimeZone, next: bool) -> Result<i64, String> {
    let bad = || format!("{field}: a date like 2026-12-31.");
    let date: Date = text.parse().map_err(|_| bad())?;
    let date = if next { date.tomorrow().map_err(|_| bad())? } else { date };
    Ok(date.to_zoned(tz.clone()).map_err(|_| bad())?.timestamp().as_millisecond())
}

/// The filter and cursor the query string asks for, or why it cannot be read.
pub(crate) async fn parse(
    store: &dyn Store,
    tenant: TenantId,
    f: &Filters,
    tz: &TimeZone,
) -> Result<(PaymentFilter, Option<PaymentCursor>), String> {
    let mut filter = PaymentFilter::default();
    if let Some(state) = given(&f.state) {
        filter.state = Some(PaymentState::parse(state).ok_or("State: not a payment state.")?);
    }
    if let Some(router) = given(&f.router) {
        let routers = store.list_routers(Some(tenant)).await.map_err(|e| e.to_string())?;
        let found = routers.iter().find(|r| r.id.to_string() == router).ok_or("Router: not one of your routers.")?;
        filter.router = Some(found.id);
    }
    if let Some(plan) = given(&f.plan) {
        let plans = store.list_plans(tenant).await.map_err(|e| e.to_string())?;
        let found = plans.iter().find(|p| p.id.to_string() == plan).ok_or("Plan: not one of your plans.")?;
        filter.plan = Some(found.id);
    }
    filter.from_ms = given(&f.from).map(|d| day_start(d, "From", tz, false)).transpose()?;
    filter.to_ms = given(&f.to).map(|d| day_start(d, "To", tz, true)).transpose()?;
    if let (Some(from), Some(to)) = (filter.from_ms, filter.to_ms)
        && from >= to
    {
        return Err("From is after To.".into());
    }
    if let Some(q) = given(&f.q) {
        filter.search = Some(match Msisdn::parse(q) {
            Ok(phone) => phone.as_str().to_string(),
            Err(_) if q.len() <= 20 && q.bytes().all(|b| b.is_ascii_alphanumeric()) => q.to_ascii_uppercase(),
            Err(_) => return Err("Search: a phone number like 0712 345 678, or an M-Pesa code like SJK3X9Y2ZQ.".into()),
        });
    }
    let after = match given(&f.before) {
        None => None,
        Some(cursor) => {
            let bad = || "The page link is damaged; start again from the first page.".to_string();
            let (at, id) = cursor.split_once('_').ok_or_else(bad)?;
            Some(PaymentCursor { created_at: at.parse().map_err(|_| bad())?, id: id.parse::<PaymentId>().map_err(|_| bad())? })
        }
    };
    Ok((filter, after))
}

fn cursor_of(created_at: i64, id: PaymentId) -> String {
    format!("{created_at}_{id}")
}

/// The tenant's routers and plans, each as (id, name): the choices of the list's filter form.
pub(super) async fn filter_choices(store: &dyn Store, tenant: TenantId) -> StoreResult<(Vec<(String, String)>, Vec<(String, String)>)> {
    let (routers, plans) = tokio::try_join!(store.list_routers(Some(tenant)), store.list_plans(tenant))?;
    let routers = routers.iter().map(|r| (r.id.to_string(), r.name.clone())).collect();
    let plans = plans.iter().map(|p| (p.id.to_string(), p.name.clone())).collect();
    Ok((routers, plans))
}

/// What `kind` asks for: cash (voucher) sales (true), M-Pesa payments (false), or an error.
pub(crate) fn wants_vouchers(filters: &Filters) -> Result<bool, String> {
    match given(&filters.kind) {
        None | Some("mpesa") => Ok(false),
        Some(VOUCHER_KIND) => Ok(true),
        Some(_) => Err("Kind: mpesa or voucher.".into()),
    }
}

/// `GET /dashboard/transactions` (`?kind=voucher`: the cash sales, see [`super::voucher_sales`])
pub(super) async fn list(State(hub): State<Arc<Hub>>, member: Member, Query(filters): Query<Filters>, headers: HeaderMap) -> Response {
    if wants_vouchers(&filters) == Ok(true) {
        return super::voucher_sales::list(hub, member, filters, headers).await;
    }
    let store = hub.store();
    let tenant = member.tenant.id;
    let tz = zone_or_default(&member.tenant.time_zone);
    let frame = member.who.frame();
    let (routers, plans) = match filter_choices(store.as_ref(), tenant).await {
        Ok(found) => found,
        Err(error) => return internal(error),
    };
    let mut view = ListView {
        filters: filters.clone(),
        error: None,
        routers,
        plans,
        lines: Vec::new(),
        totals: Totals::default(),
        vouchers: SaleTotals::default(),
        older: None,
    };
    let parsed = match wants_vouchers(&filters) {
        Ok(_) => parse(store.as_ref(), tenant, &filters, &tz).await,
        Err(message) => Err(message),
    };
    let (filter, after) = match parsed {
        Ok(parsed) => parsed,
        Err(message) => {
            view.error = Some(message);
            return render(&frame, StatusCode::BAD_REQUEST, list_page(&frame, &view), &headers);
        }
    };
    let sales = SaleFilter::of_payments(&filter);
    let voucher_totals = async {
        match &sales {
            Some(sales) => store.voucher_sale_totals(tenant, sales).await,
            None => Ok(SaleTotals::default()),
        }
    };
    let (mut lines, totals, vouchers) = match tokio::try_join!(
        store.payment_lines(tenant, &filter, after, PAGE + 1),
        store.payment_totals(tenant, &filter),
        voucher_totals
    ) {
        Ok(found) => found,
        Err(error) => return internal(error),
    };
    view.vouchers = vouchers;
    if lines.len() > PAGE as usize {
        lines.truncate(PAGE as usize);
        view.older = lines.last().map(|l| cursor_of(l.payment.created_at, l.payment.id));
    }
    view.totals = totals;
    view.lines = lines.into_iter().map(|l| (show_ms(l.payment.created_at, &tz), l)).collect();
    render(&frame, StatusCode::OK, list_page(&frame, &view), &headers)
}

/// The M-Pesa payments export: a page of payment lines, each as [`csv_line`] writes it.
impl Pages for TenantRows<PaymentFilter> {
    type Row = PaymentLine;
    type Cursor = PaymentCursor;

    async fn page(&self, after: Option<&PaymentCursor>, limit: u32) -> StoreResult<Vec<PaymentLine>> {
        self.store.payment_lines(self.tenant, &self.filter, after.copied(), limit).await
    }

    fn cursor(line: &PaymentLine) -> PaymentCursor {
        PaymentCursor { created_at: line.payment.created_at, id: line.payment.id }
    }

    fn line(&self, line: &PaymentLine) -> String {
        csv_line(self.role, &show_ms(line.payment.created_at, &self.tz), line)
    }
}

/// `GET /dashboard/transactions.csv`: the filtered set, newest first, streamed.
pub(super) async fn csv(State(hub): State<Arc<Hub>>, member: Member, Query(filters): Query<Filters>) -> Response {
    match wants_vouchers(&filters) {
        Ok(true) => return super::voucher_sales::csv(hub, member, filters).await,
        Ok(false) => {}
        Err(message) => return (StatusCode::BAD_REQUEST, message).into_response(),
    }
    let tz = zone_or_default(&member.tenant.time_zone);
    let store = hub.store().clone();
    let tenant = member.tenant.id;
    let (filter, _) = match parse(store.as_ref(), tenant, &Filters { before: None, ..filters }, &tz).await {
        Ok(parsed) => parsed,
        Err(message) => return (StatusCode::BAD_REQUEST, message).into_response(),
    };
    let rows = TenantRows { store, tenant, filter, tz, role: member.who.account.role };
    csv_stream::paged(rows, tenant, "transactions.csv", CSV_HEADER)
}

#[derive(Deserialize)]
pub(super) struct NoticeQuery {
    notice: Option<String>,
}

/// The 404 page of a payment that is not the tenant's (or does not exist).
pub(super) fn missing(member: &Member, headers: &HeaderMap) -> Response {
    let frame = member.who.frame();
    render(&frame, StatusCode::NOT_FOUND, not_found(&frame), headers)
}

/// `GET /dashboard/transactions/{id}`
pub(super) async fn detail(
    State(hub): State<Arc<Hub>>,
    member: Member,
    Path(id): Path<String>,
    Query(query): Query<NoticeQuery>,
    headers: HeaderMap,
) -> Response {
    let store = hub.store();
    let Ok(id) = id.parse::<PaymentId>() else { return missing(&member, &headers) };
    let line = match store.tenant_payment(member.tenant.id, id).await {
        Ok(Some(line)) => line,
        Ok(None) => return missing(&member, &headers),
        Err(error) => return internal(error),
    };
    let (events, entitlement) = match tokio::try_join!(store.payment_events(id), store.entitlement_for_payment(id)) {
        Ok(found) => found,
        Err(error) => return internal(error),
    };
    let mut seqs: Vec<u64> = entitlement.iter().flat_map(|e| std::iter::once(e.command_seq).chain(e.login_seq)).collect();
    seqs.extend(events.iter().filter(|e| e.kind == RESENT).filter_map(|e| resent_seq(&e.detail)));
    let commands = match store.tenant_commands(member.tenant.id, line.payment.router_id, &seqs).await {
        Ok(commands) => commands,
        Err(error) => return internal(error),
    };
    let tz = zone_or_default(&member.tenant.time_zone);
    let view = DetailView {
        started: show_ms(line.payment.created_at, &tz),
        timeline: timeline(&events, &commands).into_iter().map(|e| (show_ms(e.at, &tz), e)).collect(),
        user: entitlement.map(|e| (e.username, show_secs(e.expires_at, &tz))),
        notice: query.notice.as_deref().and_then(Notice::parse),
        line,
    };
    let frame = member.who.frame();
    render(&frame, StatusCode::OK, detail_page(&frame, &view), &headers)
}
