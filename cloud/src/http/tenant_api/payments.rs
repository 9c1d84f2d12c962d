//! A tenant's payments as JSON: the list (filtered and paged as the Transactions page),
//! one payment with its timeline, and its actions: ask the provider now, settle by hand
//! with the statement's receipt (audited, the receipt kept on the payment only), resend
//! the hotspot user to the router.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{MAX_PAGE, TenantQuery, body};
use crate::dashboard::transactions::Filters;
use crate::dashboard::voucher_sales::cursor_of;
use crate::http::AppState;
use crate::http::dashboard::transactions::{parse, wants_vouchers};
use crate::http::dashboard::voucher_sales::parse_sales;
use crate::http::error::ApiError;
use crate::http::operator::Operator;
use crate::model::{PaymentId, Tenant};
use crate::payments::complaints::ComplaintError;
use crate::payments::resend::ResendError;
use crate::store::voucher_sales::{SaleFilter, SaleTotals};
use crate::time::zone_or_default;

#[derive(Deserialize)]
pub struct PaymentsQuery {
    tenant: Option<String>,
    limit: Option<u32>,
    #[serde(flatten)]
    filters: Filters,
}

/// `GET /api/v1/payments?state=&router=&plan=&from=&to=&q=&before=&limit=`: newest first;
/// `next` is the `before` of the following page; `voucher_totals`: the cash (voucher)
/// sales of the same router, plan and days, apart (`kind=voucher` lists them).
pub async fn payments(
    operator: Operator,
    State(state): State<AppState>,
    Query(query): Query<PaymentsQuery>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let store = state.hub.store();
    let tz = zone_or_default(&tenant.time_zone);
    if wants_vouchers(&query.filters).map_err(ApiError::BadRequest)? {
        return voucher_sales(&state, &tenant, &query, &tz).await;
    }
    let (filter, after) = parse(store.as_ref(), tenant.id, &query.filters, &tz).await.map_err(ApiError::BadRequest)?;
    let limit = query.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let lines = store.payment_lines(tenant.id, &filter, after, limit).await?;
    let next =
        (lines.len() == limit as usize).then(|| lines.last().map(|l| format!("{}_{}", l.payment.created_at, l.payment.id))).flatten();
    let totals = store.payment_totals(tenant.id, &filter).await?;
    let cash = match SaleFilter::of_payments(&filter) {
        Some(sales) => store.voucher_sale_totals(tenant.id, &sales).await?,
        None => SaleTotals::default(),
    };
    let payments: Vec<Value> = lines
        .iter()
        .map(|line| {
            let mut value = serde_json::to_value(&line.payment).expect("payments serialise");
            value["router_name"] = json!(line.router_name);
            value["plan_name"] = json!(line.plan_name);
            crate::time::with_rfc3339(&mut value, &tz);
            value
        })
        .collect();
    Ok(Json(
        json!({ "payments": payments, "next": next, "totals": { "count": totals.count, "paid": totals.paid, "paid_kes": totals.paid_kes },
            "voucher_totals": cash }),
    ))
}

/// `GET /api/v1/payments?kind=voucher&router=&plan=&from=&to=&q=<code>&before=&limit=`:
/// cash (voucher) sales, newest first, each `"kind": "voucher"`, with their own totals.
async fn voucher_sales(state: &AppState, tenant: &Tenant, query: &PaymentsQuery, tz: &jiff::tz::TimeZone) -> Result<Json<Value>, ApiError> {
    let store = state.hub.store();
    let (filter, after) = parse_sales(store.as_ref(), tenant.id, &query.filters, tz).await.map_err(ApiError::BadRequest)?;
    let limit = query.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let sales = store.voucher_sales(tenant.id, &filter, after.as_ref(), limit).await?;
    let next = (sales.len() == limit as usize).then(|| sales.last().map(cursor_of)).flatten();
    let totals = store.voucher_sale_totals(tenant.id, &filter).await?;
    let sales: Vec<Value> = sales
        .iter()
        .map(|sale| {
            let mut value = serde_json::to_value(sale).expect("sales serialise");
            value["kind"] = json!("voucher");
            crate::time::with_rfc3339(&mut value, tz);
            value
        })
        .collect();
    Ok(Json(json!({ "kind": "voucher", "sales": sales, "next": next, "totals": totals })))
}

/// The tenant's payment `id` (checked in the store's query), or 404.
async fn owned(state: &AppState, tenant: &Tenant, id: PaymentId) -> Result<(), ApiError> {
    state.hub.store().tenant_payment(tenant.id, id).await?.map(|_| ()).ok_or_else(|| ApiError::NotFound("payment".into()))
}

/// `GET /api/v1/payments/{id}`: the payment and its timeline.
pub async fn payment(
    operator: Operator,
    State(state): State<AppState>,
    Path(id): Path<PaymentId>,
    Query(query): Query<TenantQuery>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let store = state.hub.store();
    let line = store.tenant_payment(tenant.id, id).await?.ok_or_else(|| ApiError::NotFound("payment".into()))?;
    let events = store.payment_events(id).await?;
    let tz = zone_or_default(&tenant.time_zone);
    let mut value = json!({ "payment": line.payment, "router_name": line.router_name, "plan_name": line.plan_name, "timeline": events });
    crate::time::with_rfc3339(&mut value, &tz);
    Ok(Json(value))
}

fn complaint_error(error: ComplaintError) -> ApiError {
    match error {
        ComplaintError::Internal(error) => ApiError::Internal(error),
        ComplaintError::NotFound(_) => ApiError::NotFound("payment".into()),
        ComplaintError::AlreadyPaid(_) | ComplaintError::Refused(_) => ApiError::Conflict(error.to_string()),
        error => ApiError::BadRequest(error.to_string()),
    }
}

/// `POST /api/v1/payments/{id}/recheck`: asks the provider now and applies its answer.
pub async fn recheck(
    operator: Operator,
    State(state): State<AppState>,
    Path(id): Path<PaymentId>,
    Query(query): Query<TenantQuery>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    owned(&state, &tenant, id).await?;
    operator.audit(&state, "payment.recheck", None, &format!("payment {id}")).await;
    match state.payments.recheck(id).await {
        Ok(done) => Ok(Json(json!({ "state": done.state, "asked": done.answer.is_some() }))),
        Err(ComplaintError::Internal(error)) => Err(ApiError::Internal(error)),
        Err(error) => Err(ApiError::BadRequest(error.to_string())),
    }
}

#[derive(Deserialize)]
pub struct SettleBody {
    /// The receipt on the provider's statement (M-Pesa's code).
    receipt: String,
    /// Why, for the timeline and the audit.
    reason: String,
}

/// `POST /api/v1/payments/{id}/settle` `{"receipt", "reason"}`: records the payment paid by
/// hand (the owner checked the statement) and provisions its user: `{"id", "state"}`. 409
/// when it is paid already.
pub async fn settle(
    operator: Operator,
    State(state): State<AppState>,
    Path(id): Path<PaymentId>,
    Query(query): Query<TenantQuery>,
    settle: Result<Json<SettleBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    owned(&state, &tenant, id).await?;
    let settle = body(settle)?;
    let reason = settle.reason.trim();
    if reason.is_empty() {
        return Err(ApiError::BadRequest("give the reason for settling by hand".into()));
    }
    let on_timeline = format!("{reason} (by API token {})", operator.0.id.as_str());
    state.payments.settle_by_operator(id, &settle.receipt, &on_timeline).await.map_err(complaint_error)?;
    // The receipt stays on the payment only: with the phone it moves the plan.
    operator.audit(&state, "payment.settle", None, &format!("payment {id} settled by hand: {reason}")).await;
    let paid = state.hub.store().tenant_payment(tenant.id, id).await?.ok_or_else(|| ApiError::NotFound("payment".into()))?;
    Ok(Json(json!({ "id": id, "state": paid.payment.state })))
}

/// `POST /api/v1/payments/{id}/resend`: sends the paid payment's hotspot user to its router
/// again: `{"id", "command_seq"}`. 409 when it is not paid, already on the router or ended.
pub async fn resend(
    operator: Operator,
    State(state): State<AppState>,
    Path(id): Path<PaymentId>,
    Query(query): Query<TenantQuery>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    owned(&state, &tenant, id).await?;
    let seq = state.payments.resend_to_router(id).await.map_err(|error| match error {
        ResendError::NotFound(_) => ApiError::NotFound("payment".into()),
        ResendError::Internal(error) => ApiError::Internal(error),
        error => ApiError::Conflict(error.to_string()),
    })?;
    operator.audit(&state, "payment.resend", None, &format!("payment {id} resent to the router as command #{}", seq.0)).await;
    Ok(Json(json!({ "id": id, "command_seq": seq.0 })))
}
