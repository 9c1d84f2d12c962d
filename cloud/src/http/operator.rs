//! The operator API (`/api/v1/...`): routers and their outboxes over HTTP, for scripts and
//! benchmarks. Every request carries `Authorization: Bearer <operator token>`; tokens are
//! made with `jasiyo-cloud operator token create` and only their hashes are stored.
//!
//! A token works until it expires or is revoked, and reaches the routers of its scope only
//! (another tenant's router is "not found", as an unknown one is). Every change made through
//! a token is logged with the token's id (never the token) and recorded in the store.
//! Command listings show `***` for hotspot passwords.

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
use crate::model::Router;
use crate::redact::without_passwords;
use crate::store::now_ms;
use crate::token::{OperatorToken, hash_token};

/// Proof that the request came from an operator: the token it presented, working now.
pub struct Operator(pub OperatorToken);

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = super::bearer(&parts.headers).ok_or(ApiError::Unauthorized)?;
        match state.hub.store().active_operator_token(&hash_token(token), now_ms()).await? {
            Some(token) => Ok(Operator(token)),
            None => {
                tracing::warn!("operator API call with a wrong, expired or revoked token");
                Err(ApiError::Unauthorized)
            }
        }
    }
}

impl Operator {
    /// The router, if it exists and is within the token's scope (otherwise "not found":
    /// a scoped token cannot tell another tenant's router from no router).
    async fn router(&self, state: &AppState, id: RouterId) -> Result<Router, ApiError> {
        match state.hub.store().router(id).await? {
            Some(router) if self.0.scope.reaches(router.tenant_id) => Ok(router),
            _ => Err(ApiError::NotFound("router".into())),
        }
    }

    /// Logs and records a change made through this token (its id, never the token):
    /// every handler that changes something calls it once the change is made. `detail`
    /// must hold no secret.
    pub async fn audit(&self, state: &AppState, action: &str, router: Option<RouterId>, detail: &str) {
        let token = self.0.id.as_str();
        tracing::info!(token, action, router = ?router, detail, "operator API change");
        if let Err(error) = state.hub.store().record_operator_action(token, action, router, detail, now_ms()).await {
            // The change is made: the log line above is its record.
            tracing::error!(token, action, %error, "operator action not recorded");
        }
    }
}

/// `GET /api/v1/routers`: every router, with whether it is online and since when
/// (`link`: `{"state": "online"|"offline", "since": ms}`).
pub async fn list_routers(Operator(token): Operator, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let routers = state.hub.store().list_routers(token.scope.tenant()).await?;
    let stale = state.hub.stale_after().as_millis() as i64;
    let now = now_ms();
    let rows: Vec<Value> = routers
        .iter()
        .map(|r| {
            let mut value = serde_json::to_value(r).expect("routers serialise");
            value["online"] = json!(r.is_online(now, stale));
            value["link"] = json!(r.link(now, stale));
            value
        })
        .collect();
    Ok(Json(Value::Array(rows)))
}

/// `POST /api/v1/routers/{router}/commands`: enqueues a command for the router (logged and
/// recorded with the token's id). The answer is the stored command, password hidden.
pub async fn enqueue(
    operator: Operator,
    State(state): State<AppState>,
    Path(router): Path<RouterId>,
    command: Result<Json<Command>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let router = operator.router(&state, router).await?.id;
    let Json(command) = command.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    command.validate().map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let stored = state.hub.enqueue(router, &command).await?;
    operator.audit(&state, "command.enqueue", Some(router), &format!("{} seq {}", command.kind(), stored.seq.0)).await;
    Ok((StatusCode::CREATED, Json(without_passwords(json!(stored)))))
}

#[derive(Deserialize)]
pub struct ListQuery {
    limit: Option<u32>,
}

/// `GET /api/v1/routers/{router}/commands?limit=N`: the router's newest commands.
/// Hotspot passwords show as `***`.
pub async fn list_commands(
    operator: Operator,
    State(state): State<AppState>,
    Path(router): Path<RouterId>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let router = operator.router(&state, router).await?.id;
    let limit = query.limit.unwrap_or(100).min(1000);
    let commands = state.hub.store().list_commands(router, limit).await?;
    Ok(Json(without_passwords(json!(commands))))
}
