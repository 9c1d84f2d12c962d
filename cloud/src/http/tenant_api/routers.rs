//! A tenant's routers as JSON (the list and outboxes are the operator API's, in
//! `http/operator.rs`): add one (its agent token shown once, with the install scripts the
//! dashboard shows), give it a new token (the old one stops working at once), revoke it,
//! retry a failed command. Another tenant's router is 404, as an unknown one is.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use jasiyo_shared::RouterId;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{TenantQuery, body};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::operator::Operator;
use crate::model::{CommandState, Router, Tenant};
use crate::portal::hotspot::PortalHost;
use crate::redact::without_passwords;
use crate::routers::{AddRouterError, add_router, agent_settings, container_script, hotspot_script, token_update_script};
use crate::store::{StoreError, now_ms};
use crate::token::AgentToken;

/// The tenant's router `id`, or 404.
async fn tenant_router(state: &AppState, tenant: &Tenant, id: RouterId) -> Result<Router, ApiError> {
    match state.hub.store().router(id).await? {
        Some(router) if router.tenant_id == tenant.id => Ok(router),
        _ => Err(ApiError::NotFound("router".into())),
    }
}

#[derive(Deserialize)]
pub struct AddBody {
    name: String,
}

/// `POST /api/v1/routers` `{"name"}`: `201 {"id", "name", "token", "agent_settings",
/// "container_script", "hotspot_script"}`. The token (also inside the settings and scripts)
/// is shown only now; `hotspot_script` is null when the cloud's public URL cannot serve
/// one. 409 when another of the tenant's routers has the name.
pub async fn add(
    operator: Operator,
    State(state): State<AppState>,
    Query(query): Query<TenantQuery>,
    add: Result<Json<AddBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let name = body(add)?.name;
    let store = state.hub.store().as_ref();
    let (router, token) = add_router(store, tenant.id, &name).await.map_err(|error| match error {
        AddRouterError::Store(StoreError::Conflict(_)) => ApiError::Conflict("another of the tenant's routers has that name".into()),
        AddRouterError::Name => ApiError::BadRequest(AddRouterError::Name.to_string()),
        AddRouterError::Store(error) => error.into(),
    })?;
    let public_url = &state.payments.config().public_url;
    let hotspot = match PortalHost::parse(public_url) {
        Ok(portal) => Some(hotspot_script(store, &portal, &router, token.expose()).await?),
        Err(error) => {
            tracing::warn!(%error, "no hotspot install script: the public URL does not suit one");
            None
        }
    };
    operator.audit(&state, "router.add", Some(router.id), &format!("{} ({})", router.name, router.id)).await;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": router.id,
            "name": router.name,
            "token": token.expose(),
            "agent_settings": agent_settings(public_url, router.id, token.expose()),
            "container_script": container_script(public_url, &router, token.expose()),
            "hotspot_script": hotspot,
        })),
    ))
}

/// `POST /api/v1/routers/{router}/rotate`: a new agent token (shown only now) with the
/// script that gives it to the router's agent container: `{"id", "token", "agent_settings",
/// "token_update_script"}`. The old token stops working and its session ends. 409 for a
/// revoked router.
pub async fn rotate(
    operator: Operator,
    State(state): State<AppState>,
    Path(id): Path<RouterId>,
    Query(query): Query<TenantQuery>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let router = tenant_router(&state, &tenant, id).await?;
    let token = AgentToken::generate();
    if !state.hub.store().rotate_router_token(router.id, &token.hash(), now_ms()).await? {
        return Err(ApiError::Conflict("this router is revoked; add it again instead".into()));
    }
    operator.audit(&state, "router.rotate_token", Some(router.id), &router.id.to_string()).await;
    let public_url = &state.payments.config().public_url;
    Ok(Json(json!({
        "id": router.id,
        "token": token.expose(),
        "agent_settings": agent_settings(public_url, router.id, token.expose()),
        "token_update_script": token_update_script(public_url, &router, token.expose()),
    })))
}

/// `POST /api/v1/routers/{router}/revoke`: its agent is disconnected and refused from now
/// on: `{"id", "revoked_at"}`. 409 when it is revoked already.
pub async fn revoke(
    operator: Operator,
    State(state): State<AppState>,
    Path(id): Path<RouterId>,
    Query(query): Query<TenantQuery>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let router = tenant_router(&state, &tenant, id).await?;
    if router.revoked_at.is_some() || !state.hub.store().revoke_router(router.id, now_ms()).await? {
        return Err(ApiError::Conflict("this router is revoked already".into()));
    }
    operator.audit(&state, "router.revoke", Some(router.id), &router.id.to_string()).await;
    let router = tenant_router(&state, &tenant, id).await?;
    Ok(Json(json!({ "id": router.id, "revoked_at": router.revoked_at })))
}

/// `POST /api/v1/routers/{router}/commands/{seq}/retry`: queues a failed command again as
/// a new one: `201` with the new command (passwords hidden). 409 unless the command failed
/// and the router is in use.
pub async fn retry(
    operator: Operator,
    State(state): State<AppState>,
    Path((id, seq)): Path<(RouterId, u64)>,
    Query(query): Query<TenantQuery>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let router = tenant_router(&state, &tenant, id).await?;
    let failed = state.hub.store().tenant_commands(tenant.id, router.id, &[seq]).await?.into_iter().next();
    let failed = failed.ok_or_else(|| ApiError::NotFound("command".into()))?;
    if failed.state != CommandState::Failed || router.revoked_at.is_some() {
        return Err(ApiError::Conflict("only a failed command of a router in use can be retried".into()));
    }
    let again = state.hub.enqueue(router.id, &failed.command).await?;
    let what = format!("{} #{} of {} again as #{}", failed.command.kind(), seq, router.id, again.seq.0);
    operator.audit(&state, "router.retry", Some(router.id), &what).await;
    Ok((StatusCode::CREATED, Json(without_passwords(json!(again)))))
}
