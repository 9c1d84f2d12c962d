//! The operator API (`/api/v1/...`): routers and their outboxes over HTTP, for scripts and
//! benchmarks. Every request carries `Authorization: Bearer <operator token>`; tokens are
//! made with `jasiyo-cloud operator token create` and only their hashes are stored.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use jasiyo_shared::{Command, RouterId};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use crate::model::StoredCommand;
use crate::store::now_ms;
use crate::token::hash_token;

/// Proof that the request came from an operator.
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = super::bearer(&parts.headers).ok_or(ApiError::Unauthorized)?;
        if state.hub.store().operator_token_exists(&hash_token(token)).await? {
            Ok(Operator)
        } else {
            tracing::warn!("operator API call with a wrong token");
            Err(ApiError::Unauthorized)
        }
    }
}

/// `GET /api/v1/routers`: every router, with whether it is online.
pub async fn list_routers(_: Operator, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let routers = state.hub.store().list_routers(None).await?;
    let stale = state.hub.stale_after().as_millis() as i64;
    let now = now_ms();
    let rows: Vec<Value> = routers
        .iter()
        .map(|r| {
            let mut value = serde_json::to_value(r).expect("routers serialise");
            value["online"] = json!(r.is_online(now, stale));
            value
        })
        .collect();
    Ok(Json(Value::Array(rows)))
}

/// `POST /api/v1/routers/{router}/commands`: enqueues a command for the router.
pub async fn enqueue(
    _: Operator,
    State(state): State<AppState>,
    Path(router): Path<RouterId>,
    command: Result<Json<Command>, JsonRejection>,
) -> Result<(StatusCode, Json<StoredCommand>), ApiError> {
    let Json(command) = command.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    command.validate().map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let stored = state.hub.enqueue(router, &command).await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

#[derive(Deserialize)]
pub struct ListQuery {
    limit: Option<u32>,
}

/// `GET /api/v1/routers/{router}/commands?limit=N`: the router's newest commands.
pub async fn list_commands(
    _: Operator,
    State(state): State<AppState>,
    Path(router): Path<RouterId>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<StoredCommand>>, ApiError> {
    let limit = query.limit.unwrap_or(100).min(1000);
    Ok(Json(state.hub.store().list_commands(router, limit).await?))
}
