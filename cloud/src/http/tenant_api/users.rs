//! A tenant's hotspot users as JSON: the list (passwords hidden), and the owner's actions:
//! extend, end now, move to another device. Another tenant's user id is 404.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{MAX_PAGE, TenantQuery, body};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::operator::Operator;
use crate::model::Entitlement;
use crate::payments::users::UserError;
use crate::redact::without_passwords;
use crate::store::now_ms;
use crate::store::users::UserFilter;

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

fn user_error(error: UserError) -> ApiError {
    match error {
        UserError::NotFound => ApiError::NotFound("hotspot user".into()),
        UserError::Invalid(text) => ApiError::BadRequest(text),
        UserError::Internal(error) => ApiError::Internal(error),
    }
}

/// What a change answers: the user as it now is (no password).
fn changed(user: &Entitlement) -> Json<Value> {
    Json(json!({ "id": user.id, "username": user.username, "expires_at": user.expires_at, "device_mac": user.device_mac }))
}

#[derive(Deserialize)]
pub struct ExtendBody {
    /// `1h`, `1d`.
    by: String,
}

/// `POST /api/v1/users/{id}/extend` `{"by": "1d"}`.
pub async fn extend_user(
    operator: Operator,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(query): Query<TenantQuery>,
    extend: Result<Json<ExtendBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let extend = body(extend)?;
    let by = humantime::parse_duration(extend.by.trim()).map_err(|e| ApiError::BadRequest(format!("by: {e}")))?;
    let done = state.payments.extend_user(tenant.id, id, by).await.map_err(user_error)?;
    operator.audit(&state, "user.extend", Some(done.router_id), &format!("user {id} by {}", extend.by.trim())).await;
    Ok(changed(&done))
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
    Ok(changed(&done))
}

#[derive(Deserialize)]
pub struct MoveBody {
    /// The device's MAC, `AA:BB:CC:DD:EE:FF`.
    mac: String,
}

/// `POST /api/v1/users/{id}/move` `{"mac": "AA:BB:CC:DD:EE:FF"}`: binds the user to another
/// device (the router is told); 400 when the access has ended or it is already there.
pub async fn move_user(
    operator: Operator,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(query): Query<TenantQuery>,
    to: Result<Json<MoveBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let mac = body(to)?.mac.trim().parse().map_err(|_| ApiError::BadRequest("a device MAC looks like AA:BB:CC:DD:EE:FF".into()))?;
    let done = state.payments.move_user(tenant.id, id, mac).await.map_err(user_error)?;
    operator.audit(&state, "user.move", Some(done.router_id), &format!("user {id} to {mac}")).await;
    Ok(changed(&done))
}
