//! The portal API the captive portal page calls: plans, starting a payment, and polling it.
//! Errors are JSON `{"error": <code>, "message": <words for the customer>}`.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jasiyo_shared::RouterId;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use crate::payments::limits::LimitHit;
use crate::payments::model::PaymentId;
use crate::payments::{InitiateRequest, Payments, PortalError};
use crate::providers::ProviderError;

/// The portal routes, to be nested under `/api/portal`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{router}/plans", get(plans))
        .route("/{router}/payments", post(initiate))
        .route("/payments/{payment}", get(poll))
}

impl IntoResponse for PortalError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            PortalError::RouterNotFound => (StatusCode::NOT_FOUND, "router_not_found"),
            PortalError::PlanNotFound => (StatusCode::NOT_FOUND, "plan_not_found"),
            PortalError::InvalidPhone(_) => (StatusCode::BAD_REQUEST, "invalid_phone"),
            PortalError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            PortalError::InFlight(_) => (StatusCode::CONFLICT, "prompt_in_flight"),
            PortalError::RateLimited(LimitHit::Phone) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited_phone"),
            PortalError::RateLimited(LimitHit::Device) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited_device"),
            PortalError::RateLimited(LimitHit::Ip) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited_ip"),
            PortalError::NoProvider => (StatusCode::SERVICE_UNAVAILABLE, "payments_not_configured"),
            PortalError::Provider(ProviderError::Busy(_)) => (StatusCode::SERVICE_UNAVAILABLE, "provider_busy"),
            PortalError::Provider(_) => (StatusCode::BAD_GATEWAY, "provider_error"),
            PortalError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "portal request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        let mut body = json!({ "error": code, "message": self.to_string() });
        if let PortalError::InFlight(id) = &self {
            body["payment_id"] = json!(id);
        }
        (status, Json(body)).into_response()
    }
}

fn payments(state: &AppState) -> Result<&Arc<Payments>, PortalError> {
    state.payments.as_ref().ok_or(PortalError::NoProvider)
}

async fn plans(State(state): State<AppState>, Path(router): Path<String>) -> Result<Response, PortalError> {
    let router: RouterId = router.parse().map_err(|_| PortalError::RouterNotFound)?;
    let store = state.hub.store();
    let router = store.router(router).await?.filter(|r| r.revoked_at.is_none()).ok_or(PortalError::RouterNotFound)?;
    let tenant = store.find_tenant(&router.tenant_id.to_string()).await?.ok_or(PortalError::RouterNotFound)?;
    let plans: Vec<_> = store
        .list_plans(router.tenant_id)
        .await?
        .into_iter()
        .filter(|p| p.active)
        .map(|p| json!({"id": p.id, "name": p.name, "price_kes": p.price_kes, "duration_secs": p.duration_secs, "data_mb": p.data_mb, "rate_limit": p.rate_limit}))
        .collect();
    Ok(Json(json!({ "owner": tenant.name, "router": router.name, "plans": plans })).into_response())
}

#[derive(Deserialize)]
struct InitiateBody {
    plan_id: String,
    phone: String,
    mac: Option<String>,
    ip: Option<String>,
    idempotency_key: String,
}

async fn initiate(
    State(state): State<AppState>,
    Path(router): Path<String>,
    headers: HeaderMap,
    body: Result<Json<InitiateBody>, JsonRejection>,
) -> Result<Response, PortalError> {
    let router: RouterId = router.parse().map_err(|_| PortalError::RouterNotFound)?;
    let Json(body) = body.map_err(|e| PortalError::BadRequest(e.body_text()))?;
    let request = InitiateRequest {
        plan_id: body.plan_id,
        phone: body.phone,
        mac: body.mac,
        ip: body.ip,
        idempotency_key: body.idempotency_key,
        client_ip: client_ip(&headers),
    };
    let view = payments(&state)?.initiate(router, request).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn poll(State(state): State<AppState>, Path(payment): Path<String>) -> Result<Response, PortalError> {
    let not_found = || PortalError::BadRequest("no such payment".into());
    let id: PaymentId = payment.parse().map_err(|_| not_found())?;
    let view = payments(&state)?.view(id).await?.ok_or_else(not_found)?;
    Ok(Json(view).into_response())
}

/// The customer's address as the reverse proxy reports it (first `X-Forwarded-For` hop,
/// or `X-Real-IP`); used only for rate limiting.
pub(crate) fn client_ip(headers: &HeaderMap) -> Option<String> {
    let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()).and_then(|v| v.split(',').next());
    let real = headers.get("x-real-ip").and_then(|v| v.to_str().ok());
    forwarded.or(real).map(|ip| ip.trim().to_string()).filter(|ip| !ip.is_empty())
}
