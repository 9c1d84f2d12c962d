//! The vouchers pages: the list and the form to create a batch (owner), one batch with each
//! code's state, revoking a batch or a code (owner), its CSV and its print sheet. Every
//! lookup is scoped to the session's tenant, so another tenant's batch is "not found".

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::csv_stream::set_download_headers;
use super::render;
use super::routers::{internal, not_found};
use super::session::{Form, Member, Owner};
use crate::accounts::Accounts;
use crate::dashboard::voucher_print::{PrintSheet, print_sheet, qr_url};
use crate::dashboard::vouchers::{BatchPage, BatchRow, VouchersPage, batch_page, vouchers_page};
use crate::hub::Hub;
use crate::model::{VoucherBatch, VoucherBatchId, VoucherBatchInput, VoucherCounts};
use crate::store::now_ms;
use crate::vouchers::{VoucherError, create_batch, csv, revoke as revoke_codes};

async fn list(hub: &Hub, member: &Member, error: Option<&str>, status: StatusCode, headers: &HeaderMap) -> Response {
    let store = hub.store();
    let tenant = member.tenant.id;
    let (batches, plans, routers) = match tokio::try_join!(
        store.voucher_batches(tenant, now_ms() / 1000),
        store.list_plans(tenant),
        store.list_routers(Some(tenant))
    ) {
        Ok(loaded) => loaded,
        Err(error) => return internal(error),
    };
    let tz = crate::time::zone_or_default(&member.tenant.time_zone);
    let name = |batch: &VoucherBatch| plans.iter().find(|p| p.id == batch.plan_id).map(|p| p.name.clone()).unwrap_or_default();
    let rows: Vec<BatchRow> = batches
        .iter()
        .map(|(batch, counts)| BatchRow { batch, plan: name(batch), counts: *counts, created: crate::time::show_ms(batch.created_at, &tz) })
        .collect();
    let frame = member.who.frame();
    let view = VouchersPage { batches: &rows, plans: &plans, routers: &routers, error };
    render(&frame, status, vouchers_page(&frame, &view), headers)
}

/// `GET /dashboard/vouchers`
pub(super) async fn vouchers(State(hub): State<Arc<Hub>>, member: Member, headers: HeaderMap) -> Response {
    list(&hub, &member, None, StatusCode::OK, &headers).await
}

/// The create form, read from its pairs (it repeats `router`, one per box ticked).
fn input(fields: &[(String, String)], tz: &jiff::tz::TimeZone) -> Result<VoucherBatchInput, String> {
    let one = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty());
    let number = |name: &str, what: &str| -> Result<Option<u32>, String> {
        one(name).map(|v| v.parse::<u32>().map_err(|_| format!("{what} is a whole number."))).transpose()
    };
    let valid_until = match one("valid_until") {
        None => None,
        Some(day) => {
            let day: jiff::civil::Date = day.parse().map_err(|_| "The date is a day such as 2027-01-31.".to_string())?;
            let next = day.tomorrow().map_err(|_| "That date is out of range.".to_string())?;
            Some(next.to_zoned(tz.clone()).map_err(|e| e.to_string())?.timestamp().as_second() - 1)
        }
    };
    Ok(VoucherBatchInput {
        plan_id: one("plan").and_then(|p| p.parse().ok()).ok_or("Choose a plan.")?,
        count: number("count", "How many codes")?.ok_or("Say how many codes.")?,
        code_length: number("length", "Characters per code")?.unwrap_or(8),
        prefix: one("prefix").map(str::to_string),
        price_kes: number("price", "The price")?,
        valid_until,
        routers: fields.iter().filter(|(k, _)| k == "router").filter_map(|(_, v)| v.parse().ok()).collect(),
    })
}

/// `POST /dashboard/vouchers`: creates a batch and loads it onto the routers ticked.
pub(super) async fn create(
    State(hub): State<Arc<Hub>>,
    State(accounts): State<Arc<Accounts>>,
    Owner(member): Owner,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let tz = crate::time::zone_or_default(&member.tenant.time_zone);
    let result = match input(&fields, &tz) {
        Ok(input) => create_batch(hub.store().as_ref(), member.tenant.id, input).await,
        Err(message) => Err(VoucherError::Invalid(message)),
    };
    match result {
        Ok((batch, codes)) => {
            batch.routers.iter().for_each(|router| hub.wake(*router));
            let what = format!("batch {} of {} codes", batch.id, codes.len());
            accounts.record(Some(member.tenant.id), member.who.account.id, "voucher.create", &what).await;
            Redirect::to(&format!("/dashboard/vouchers/{}", batch.id)).into_response()
        }
        Err(VoucherError::Internal(error)) => internal(format!("{error:#}")),
        Err(refused) => {
            let message = format!("{refused}.");
            list(&hub, &member, Some(&message), StatusCode::UNPROCESSABLE_ENTITY, &headers).await
        }
    }
}

/// The tenant's batch named in the path, with its plan's name.
async fn tenant_batch(hub: &Hub, member: &Member, id: &str) -> Result<(VoucherBatch, String), Response> {
    let Ok(id) = id.parse::<VoucherBatchId>() else { return Err(not_found()) };
    let batch = match hub.store().voucher_batch(member.tenant.id, id).await {
        Ok(Some(batch)) => batch,
        Ok(None) => return Err(not_found()),
        Err(error) => return Err(internal(error)),
    };
    let plan = hub.store().plan(batch.plan_id).await.map_err(internal)?.map(|p| p.name).unwrap_or_default();
    Ok((batch, plan))
}

#[derive(Deserialize)]
pub(super) struct NoticeQuery {
    notice: Option<String>,
}

/// `GET /dashboard/vouchers/{id}`
pub(super) async fn batch(
    State(hub): State<Arc<Hub>>,
    member: Member,
    Path(id): Path<String>,
    Query(query): Query<NoticeQuery>,
    headers: HeaderMap,
) -> Response {
    let (batch, plan) = match tenant_batch(&hub, &member, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let store = hub.store();
    let (lines, routers) = match tokio::try_join!(
        store.voucher_codes(member.tenant.id, batch.id, now_ms() / 1000),
        store.list_routers(Some(member.tenant.id))
    ) {
        Ok(loaded) => loaded,
        Err(error) => return internal(error),
    };
    let tz = crate::time::zone_or_default(&member.tenant.time_zone);
    let mut counts = VoucherCounts::default();
    lines.iter().for_each(|l| counts.add(l.state));
    let name_of = |id| routers.iter().find(|r| r.id == id).map_or_else(|| id.to_string(), |r| r.name.clone());
    let codes: Vec<_> = lines
        .into_iter()
        .map(|line| {
            let used = line.first_used_at.map(|at| crate::time::show_ms(at, &tz)).unwrap_or_else(|| "-".into());
            let second = line.second_router.map(name_of);
            (line, used, second)
        })
        .collect();
    let names: Vec<String> = routers.into_iter().filter(|r| batch.routers.contains(&r.id)).map(|r| r.name).collect();
    let frame = member.who.frame();
    let view = BatchPage { batch: &batch, plan: &plan, routers: &names, codes: &codes, counts, notice: query.notice.as_deref() };
    render(&frame, StatusCode::OK, batch_page(&frame, &view), &headers)
}

#[derive(Deserialize)]
pub(super) struct RevokeForm {
    #[serde(default)]
    code: String,
}

/// `POST /dashboard/vouchers/{id}/revoke`: the whole batch, or the `code` given.
pub(super) async fn revoke(
    State(hub): State<Arc<Hub>>,
    State(accounts): State<Arc<Accounts>>,
    Owner(member): Owner,
    Path(id): Path<String>,
    Form(form): Form<RevokeForm>,
) -> Response {
    let (batch, _) = match tenant_batch(&hub, &member, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let code = Some(form.code.trim()).filter(|c| !c.is_empty());
    match revoke_codes(hub.store().as_ref(), member.tenant.id, batch.id, code).await {
        Ok(revoked) => {
            batch.routers.iter().for_each(|router| hub.wake(*router));
            let what = format!("batch {}: {revoked} code(s)", batch.id);
            accounts.record(Some(member.tenant.id), member.who.account.id, "voucher.revoke", &what).await;
            let notice = format!("{revoked} code(s) revoked; they are being removed from the routers.");
            let query = serde_urlencoded::to_string([("notice", notice)]).unwrap_or_default();
            Redirect::to(&format!("/dashboard/vouchers/{}?{query}", batch.id)).into_response()
        }
        Err(VoucherError::NotFound(_)) => not_found(),
        Err(error) => internal(error),
    }
}

/// `GET /dashboard/vouchers/{id}/csv`
pub(super) async fn download(State(hub): State<Arc<Hub>>, member: Member, Path(id): Path<String>) -> Response {
    let (batch, plan) = match tenant_batch(&hub, &member, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let lines = match hub.store().voucher_codes(member.tenant.id, batch.id, now_ms() / 1000).await {
        Ok(lines) => lines,
        Err(error) => return internal(error),
    };
    let mut response = csv::export(&batch, &plan, &lines).into_response();
    set_download_headers(&mut response, &format!("vouchers-{}.csv", crate::vouchers::short(batch.id)));
    response
}

#[derive(Deserialize)]
pub(super) struct PrintQuery {
    /// `1`: each card carries a QR code of the portal with its code.
    #[serde(default)]
    qr: Option<String>,
}

/// `GET /dashboard/vouchers/{id}/print[?qr=1]`: the A4 sheet of cards, with QR codes of the
/// batch's first router's portal when asked.
pub(super) async fn print(
    State(hub): State<Arc<Hub>>,
    State(payments): State<Arc<crate::payments::Payments>>,
    member: Member,
    Path(id): Path<String>,
    Query(query): Query<PrintQuery>,
    headers: HeaderMap,
) -> Response {
    let (batch, plan) = match tenant_batch(&hub, &member, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let lines = match hub.store().voucher_codes(member.tenant.id, batch.id, now_ms() / 1000).await {
        Ok(lines) => lines,
        Err(error) => return internal(error),
    };
    let tz = crate::time::zone_or_default(&member.tenant.time_zone);
    let codes: Vec<_> = lines.into_iter().map(|l| (l.code, l.state)).collect();
    let view = PrintSheet {
        business: &member.tenant.name,
        plan: &plan,
        price_kes: batch.price_kes,
        valid_until: batch.valid_until.map(|s| crate::time::show_secs(s, &tz)),
        codes: &codes,
        qr: batch.routers.first().filter(|_| query.qr.as_deref() == Some("1")).map(|router| qr_url(&payments.config().public_url, *router)),
        here: format!("/dashboard/vouchers/{}/print", batch.id),
    };
    let mut response = super::render_plain(StatusCode::OK, print_sheet(&view), &headers);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
