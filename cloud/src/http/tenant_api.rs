//! The dashboard's operations as JSON under `/api/v1`, for scripts: a tenant's payments
//! (filtered and paged as the Transactions page), one payment with its timeline, "ask the
//! provider now", plans (list, add, move in the portal's order), hotspot users (list,
//! extend, end now) and the payment provider's "test connection".
//!
//! The tenant is the operator token's: a token scoped to a tenant (`operator token create
//! --tenant T`) reaches that tenant only; a platform token names one with `?tenant=<id>`.
//! Another tenant's payment or user answers 404, as an unknown one does. Every change is
//! logged and recorded with the token's id.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::AppState;
use super::dashboard::transactions::parse;
use super::error::ApiError;
use super::operator::Operator;
use crate::dashboard::transactions::Filters;
use crate::model::{PaymentId, PlanId, PlanInput, PlanMove, Tenant};
use crate::payments::users::UserError;
use crate::payments::{add_plan, move_plan};
use crate::redact::without_passwords;
use crate::store::now_ms;
use crate::store::users::UserFilter;
use crate::time::zone_or_default;

/// The most a page may hold.
const MAX_PAGE: u32 = 500;

#[derive(Deserialize, Default)]
pub struct TenantQuery {
    /// The tenant, for a platform token.
    tenant: Option<String>,
}

impl Operator {
    /// The tenant this request acts for: the token's own, or (a platform token) the one
    /// `?tenant=` names.
    async fn tenant(&self, state: &AppState, asked: Option<&str>) -> Result<Tenant, ApiError> {
        let id = match (self.0.scope.tenant(), asked) {
            (Some(own), None) => own.to_string(),
            (Some(own), Some(asked)) if asked.trim() == own.to_string() => own.to_string(),
            (Some(_), Some(_)) => return Err(ApiError::NotFound("tenant".into())),
            (None, Some(asked)) if Uuid::parse_str(asked.trim()).is_ok() => asked.trim().to_string(),
            (None, _) => return Err(ApiError::BadRequest("a platform token names the tenant: ?tenant=<tenant id>".into())),
        };
        state.hub.store().find_tenant(&id).await?.ok_or_else(|| ApiError::NotFound("tenant".into()))
    }
}

#[derive(Deserialize)]
pub struct PaymentsQuery {
    tenant: Option<String>,
    limit: Option<u32>,
    #[serde(flatten)]
    filters: Filters,
}

/// `GET /api/v1/payments?state=&router=&plan=&from=&to=&q=&before=&limit=`: newest first;
/// `next` is the `before` of the following page.
pub async fn payments(
    operator: Operator,
    State(state): State<AppState>,
    Query(query): Query<PaymentsQuery>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let store = state.hub.store();
    let tz = zone_or_default(&tenant.time_zone);
    let (filter, after) = parse(store.as_ref(), tenant.id, &query.filters, &tz).await.map_err(ApiError::BadRequest)?;
    let limit = query.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let lines = store.payment_lines(tenant.id, &filter, after, limit).await?;
    let next =
        (lines.len() == limit as usize).then(|| lines.last().map(|l| format!("{}_{}", l.payment.created_at, l.payment.id))).flatten();
    let totals = store.payment_totals(tenant.id, &filter).await?;
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
        json!({ "payments": payments, "next": next, "totals": { "count": totals.count, "paid": totals.paid, "paid_kes": totals.paid_kes } }),
    ))
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

/// `POST /api/v1/payments/{id}/recheck`: asks the provider now and applies its answer.
pub async fn recheck(
    operator: Operator,
    State(state): State<AppState>,
    Path(id): Path<PaymentId>,
    Query(query): Query<TenantQuery>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    state.hub.store().tenant_payment(tenant.id, id).await?.ok_or_else(|| ApiError::NotFound("payment".into()))?;
    operator.audit(&state, "payment.recheck", None, &format!("payment {id}")).await;
    match state.payments.recheck(id).await {
        Ok(done) => Ok(Json(json!({ "state": done.state, "asked": done.answer.is_some() }))),
        Err(crate::payments::complaints::ComplaintError::Internal(error)) => Err(ApiError::Internal(error)),
        Err(error) => Err(ApiError::BadRequest(error.to_string())),
    }
}

/// `POST /api/v1/provider/check`: the provider's "test connection" (a call that moves no
/// money): `{"provider", "ok", "said"}`, `said` being what the provider answered or why it
/// refused; 404 without a provider.
pub async fn check_provider(
    operator: Operator,
    State(state): State<AppState>,
    Query(query): Query<TenantQuery>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let checked = state.payments.check_provider(tenant.id).await.map_err(|e| ApiError::Internal(e.into()))?;
    let Some((kind, answer)) = checked else { return Err(ApiError::NotFound("provider".into())) };
    let (ok, said) = match answer {
        None => (Value::Null, json!("this provider has no test call that moves no money: the first payment will tell")),
        Some(Ok(said)) => (json!(true), json!(said)),
        Some(Err(error)) => (json!(false), json!(error.to_string())),
    };
    tracing::info!(token = operator.0.id.as_str(), tenant = %tenant.id, provider = kind.as_str(), ok = %ok, "provider checked");
    Ok(Json(json!({ "provider": kind.as_str(), "ok": ok, "said": said })))
}

/// `GET /api/v1/plans`: the tenant's plans, in the order its portal shows them.
pub async fn plans(operator: Operator, State(state): State<AppState>, Query(query): Query<TenantQuery>) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    Ok(Json(json!(state.hub.store().list_plans(tenant.id).await?)))
}

#[derive(Deserialize)]
pub struct NewPlanBody {
    name: String,
    price_kes: u32,
    /// `1h`, `1d`, `7d`.
    duration: String,
    data_mb: Option<u64>,
    rate_limit: Option<String>,
    profile: Option<String>,
    shared_users: Option<u32>,
}

/// `POST /api/v1/plans` `{"name", "price_kes", "duration": "1h", "data_mb"?, "rate_limit"?, "shared_users"?, "profile"?}`.
pub async fn add_plan_api(
    operator: Operator,
    State(state): State<AppState>,
    Query(query): Query<TenantQuery>,
    body: Result<Json<NewPlanBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let Json(body) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let duration = humantime::parse_duration(body.duration.trim()).map_err(|e| ApiError::BadRequest(format!("duration: {e}")))?;
    let input = PlanInput {
        name: body.name,
        price_kes: body.price_kes,
        duration,
        data_mb: body.data_mb,
        rate_limit: body.rate_limit,
        profile: body.profile,
        shared_users: body.shared_users,
    };
    let plan = add_plan(state.hub.store().as_ref(), tenant.id, input).await.map_err(|e| match e {
        crate::payments::AddPlanError::Store(crate::store::StoreError::Database(e)) => ApiError::Internal(e.into()),
        other => ApiError::BadRequest(other.to_string()),
    })?;
    operator.audit(&state, "plan.add", None, &format!("plan {} ({})", plan.id, plan.name)).await;
    Ok((StatusCode::CREATED, Json(json!(plan))))
}

#[derive(Deserialize)]
pub struct MovePlanBody {
    /// `up` or `down`.
    to: Option<String>,
    /// Or a place, 1 first.
    position: Option<u32>,
}

/// `POST /api/v1/plans/{id}/move` `{"to": "up"|"down"}` or `{"position": N}`: the plan's
/// new place in the portal's order (`{"id", "position"}`).
pub async fn move_plan_api(
    operator: Operator,
    State(state): State<AppState>,
    Path(id): Path<PlanId>,
    Query(query): Query<TenantQuery>,
    body: Result<Json<MovePlanBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let Json(body) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let to = match (body.to.as_deref(), body.position) {
        (Some("up"), None) => PlanMove::Up,
        (Some("down"), None) => PlanMove::Down,
        (None, Some(position)) if position >= 1 => PlanMove::To(position),
        _ => return Err(ApiError::BadRequest("give \"to\": \"up\" or \"down\", or a \"position\" from 1".into())),
    };
    let place = move_plan(state.hub.store().as_ref(), tenant.id, id, to).await?.ok_or_else(|| ApiError::NotFound("plan".into()))?;
    operator.audit(&state, "plan.move", None, &format!("plan {id} to place {place}")).await;
    Ok(Json(json!({ "id": id, "position": place })))
}

#[derive(Deserialize)]
pub struct UsersQuery {
    tenant: Option<String>,
    /// Include ended users.
    #[serde(default)]
    all: bool,
    q: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/users?all=true&q=`: hotspot users, newest first (passwords hidden).
pub async fn users(operator: Operator, State(state): State<AppState>, Query(query): Query<UsersQuery>) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let search = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(str::to_string);
    let filter = UserFilter { router: None, active_at: (!query.all).then(|| now_ms() / 1000), search };
    let lines = state.hub.store().tenant_users(tenant.id, &filter, None, query.limit.unwrap_or(100).clamp(1, MAX_PAGE)).await?;
    let users: Vec<Value> = lines
        .iter()
        .map(|l| {
            let e = &l.entitlement;
            json!({ "id": e.id, "payment_id": e.payment_id, "router_id": e.router_id, "router_name": l.router_name, "username": e.username,
                "plan_name": l.plan_name, "device_mac": e.device_mac, "msisdn": l.msisdn, "created_at": e.created_at, "expires_at": e.expires_at,
                "command_state": l.command, "command_kind": l.command_kind, "data_used": l.usage })
        })
        .collect();
    Ok(Json(without_passwords(json!(users))))
}

#[derive(Deserialize)]
pub struct ExtendBody {
    /// `1h`, `1d`.
    by: String,
}

fn user_error(error: UserError) -> ApiError {
    match error {
        UserError::NotFound => ApiError::NotFound("hotspot user".into()),
        UserError::Invalid(text) => ApiError::BadRequest(text),
        UserError::Internal(error) => ApiError::Internal(error),
    }
}

/// `POST /api/v1/users/{id}/extend` `{"by": "1d"}`.
pub async fn extend_user(
    operator: Operator,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(query): Query<TenantQuery>,
    body: Result<Json<ExtendBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let Json(body) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let by = humantime::parse_duration(body.by.trim()).map_err(|e| ApiError::BadRequest(format!("by: {e}")))?;
    let done = state.payments.extend_user(tenant.id, id, by).await.map_err(user_error)?;
    operator.audit(&state, "user.extend", Some(done.router_id), &format!("user {id} by {}", body.by.trim())).await;
    Ok(Json(json!({ "id": done.id, "username": done.username, "expires_at": done.expires_at })))
}

/// `POST /api/v1/users/{id}/end`: ends the user's access now.
pub async fn end_user(
    operator: Operator,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(query): Query<TenantQuery>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let done = state.payments.end_user(tenant.id, id).await.map_err(user_error)?;
    operator.audit(&state, "user.end", Some(done.router_id), &format!("user {id}")).await;
    Ok(Json(json!({ "id": done.id, "username": done.username, "expires_at": done.expires_at })))
}
