//! The portal API the captive portal page calls, under `/api/portal`: plans, starting a
//! payment, following it (poll and long poll), starting again with another number, and
//! "already paid?". Errors are JSON
//! `{"error": <code>, "message": <words for the customer>}`.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jasiyo_shared::RouterId;
use serde::Deserialize;
use serde_json::json;
use tokio::time::Instant;

use super::ClientAddr;
use crate::hub::{Hub, HubEvent};
use crate::model::PaymentId;
use crate::payments::limits::LimitHit;
use crate::payments::{InitiateRequest, PaymentView, Payments, PortalError, RecoverError, RecoverRequest};
use crate::providers::ProviderError;

impl IntoResponse for PortalError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            PortalError::RouterNotFound => (StatusCode::NOT_FOUND, "router_not_found"),
            PortalError::PlanNotFound => (StatusCode::NOT_FOUND, "plan_not_found"),
            PortalError::InvalidPhone(_) => (StatusCode::BAD_REQUEST, "invalid_phone"),
            PortalError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            PortalError::InFlight => (StatusCode::CONFLICT, "prompt_in_flight"),
            PortalError::RateLimited(LimitHit::Phone) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited_phone"),
            PortalError::RateLimited(LimitHit::Device) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited_device"),
            PortalError::RateLimited(LimitHit::Ip) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited_ip"),
            PortalError::RateLimited(LimitHit::Router) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited_router"),
            PortalError::RateLimited(LimitHit::Tenant) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited_tenant"),
            PortalError::RateLimited(LimitHit::Global) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited_global"),
            PortalError::RateLimited(LimitHit::Backoff) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited_backoff"),
            PortalError::NoProvider => (StatusCode::SERVICE_UNAVAILABLE, "payments_not_configured"),
            PortalError::Provider(ProviderError::Busy(_)) => (StatusCode::SERVICE_UNAVAILABLE, "provider_busy"),
            PortalError::Provider(_) => (StatusCode::BAD_GATEWAY, "provider_error"),
            PortalError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "portal request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        // A refusal names no payment: the one in flight may be someone else's.
        let body = json!({ "error": code, "message": self.to_string() });
        (status, Json(body)).into_response()
    }
}

impl IntoResponse for RecoverError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            RecoverError::RouterNotFound => (StatusCode::NOT_FOUND, "router_not_found"),
            RecoverError::InvalidReceipt => (StatusCode::BAD_REQUEST, "invalid_receipt"),
            RecoverError::NoDevice => (StatusCode::BAD_REQUEST, "no_device"),
            RecoverError::NotFound => (StatusCode::NOT_FOUND, "receipt_not_found"),
            RecoverError::PhoneNeeded => (StatusCode::BAD_REQUEST, "phone_needed"),
            RecoverError::MovedToday => (StatusCode::TOO_MANY_REQUESTS, "moved_today"),
            RecoverError::Expired => (StatusCode::GONE, "receipt_expired"),
            RecoverError::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            RecoverError::Conflict => (StatusCode::CONFLICT, "conflict"),
            RecoverError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "recovery failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        (status, Json(json!({ "error": code, "message": self.to_string() }))).into_response()
    }
}

/// `GET /api/portal/{router}/plans`: the owner, the router and the plans on sale.
pub async fn plans(State(payments): State<Arc<Payments>>, Path(router): Path<String>) -> Result<Response, PortalError> {
    let router: RouterId = router.parse().map_err(|_| PortalError::RouterNotFound)?;
    let offer = payments.offer(router).await?.ok_or(PortalError::RouterNotFound)?;
    let plans: Vec<_> = offer
        .plans
        .into_iter()
        .map(|p| json!({"id": p.id, "name": p.name, "price_kes": p.price_kes, "duration_secs": p.duration_secs, "data_mb": p.data_mb, "rate_limit": p.rate_limit}))
        .collect();
    Ok(Json(json!({ "owner": offer.owner, "router": offer.router_name, "plans": plans })).into_response())
}

/// What the page sends to start a payment.
#[derive(Deserialize)]
pub struct InitiateBody {
    plan_id: String,
    phone: String,
    mac: Option<String>,
    ip: Option<String>,
    idempotency_key: String,
}

/// `POST /api/portal/{router}/payments`: starts a payment (201 with its view; 202 when the
/// provider did not answer the push, so the prompt may or may not be on the phone).
pub async fn initiate(
    State(payments): State<Arc<Payments>>,
    Path(router): Path<String>,
    client: ClientAddr,
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
        client_ip: client.0.map(|ip| ip.to_string()),
    };
    let view = payments.initiate(router, request).await?;
    let status = if view.unconfirmed { StatusCode::ACCEPTED } else { StatusCode::CREATED };
    Ok((status, Json(view)).into_response())
}

/// The header that carries a payment's view key (see [`Payments::view`]).
pub const VIEW_KEY_HEADER: &str = "x-view-key";

fn view_key(headers: &HeaderMap) -> Option<&str> {
    headers.get(VIEW_KEY_HEADER).and_then(|v| v.to_str().ok())
}

/// `GET /api/portal/payments/{id}`: where the payment is now (its login and receipt only
/// with its view key in `X-View-Key`).
pub async fn poll(State(payments): State<Arc<Payments>>, Path(payment): Path<String>, headers: HeaderMap) -> Result<Response, PortalError> {
    let not_found = || PortalError::BadRequest("no such payment".into());
    let id: PaymentId = payment.parse().map_err(|_| not_found())?;
    let view = payments.view(id, view_key(&headers)).await?.ok_or_else(not_found)?;
    Ok(Json(view).into_response())
}

/// `POST /api/portal/payments/{id}/release` (with its view key): "wrong number? start
/// again". The device may start another payment; this one goes on and is honoured if
/// approved. `{"released": false}` when there was nothing to let go.
pub async fn release(
    State(payments): State<Arc<Payments>>,
    Path(payment): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PortalError> {
    let id: PaymentId = payment.parse().map_err(|_| PortalError::BadRequest("no such payment".into()))?;
    let released = payments.release_device(id, view_key(&headers)).await?;
    Ok(Json(json!({ "released": released })).into_response())
}

/// The longest one request is held.
pub const HOLD: Duration = Duration::from_secs(8);
/// How often a held request looks at the store anyway.
const RECHECK: Duration = Duration::from_secs(1);

/// `?seen=<status>/<stage>`: where the page last saw the payment.
#[derive(Deserialize)]
pub struct NextQuery {
    seen: Option<String>,
}

/// Where a payment is, as the page compares it: `pending/waiting_for_approval`.
fn seen_key(view: &PaymentView) -> String {
    let stage = serde_json::to_value(view.stage).unwrap_or_default();
    format!("{}/{}", view.status.as_str(), stage.as_str().unwrap_or_default())
}

/// `GET /api/portal/payments/{id}/next?seen=<status>/<stage>`: the payment as soon as it
/// is no longer where the page last saw it (a long poll), so the page learns of the
/// approval and of each stage within milliseconds instead of at its next poll.
///
/// A held request wakes when its own payment changes in this instance (not on other
/// payments' changes) and on its router's command acknowledgements, and looks at the store
/// at least every second whatever happens (changes made by another cloud instance wake
/// nothing here). It answers after [`HOLD`] at the latest, or when the portal's countdown
/// runs out, with the payment as it is. Held requests are capped per client address and
/// in total (see [`crate::payments::held`]): over a cap, the answer comes at once.
pub async fn next(
    State(payments): State<Arc<Payments>>,
    State(hub): State<Arc<Hub>>,
    Path(payment): Path<String>,
    Query(query): Query<NextQuery>,
    client: ClientAddr,
    headers: HeaderMap,
) -> Result<Response, PortalError> {
    let not_found = || PortalError::BadRequest("no such payment".into());
    let id: PaymentId = payment.parse().map_err(|_| not_found())?;
    let Some(mut held) = payments.hold(id, client.0) else {
        tracing::debug!(payment = %id, client = ?client.0, "long poll over its cap; answered at once");
        let view = payments.view(id, view_key(&headers)).await?.ok_or_else(not_found)?;
        return Ok(Json(view).into_response());
    };
    let router = payments.payment(id).await?.ok_or_else(not_found)?.router_id;
    let mut events = hub.subscribe();
    let started = Instant::now();
    loop {
        held.mark_seen();
        let view = payments.view(id, view_key(&headers)).await?.ok_or_else(not_found)?;
        // The countdown's end is news too: the page then says the prompt timed out.
        let countdown_left = if view.wait_secs > 0 { Duration::from_secs(view.wait_secs) } else { Duration::MAX };
        let deadline = started + HOLD.min(countdown_left);
        if query.seen.as_deref() != Some(seen_key(&view).as_str()) || Instant::now() >= deadline {
            return Ok(Json(view).into_response());
        }
        let recheck = tokio::time::sleep_until(deadline.min(Instant::now() + RECHECK));
        tokio::pin!(recheck);
        loop {
            tokio::select! {
                _ = held.changed() => break,
                _ = &mut recheck => break,
                event = events.recv() => match event {
                    Ok(HubEvent::Received(r, _) | HubEvent::Result(r, _) | HubEvent::Connected(r)) if r == router => break,
                    Ok(_) => continue,
                    // Lagged or closed: look at the store.
                    Err(_) => break,
                },
            }
        }
    }
}

/// What the "already paid?" form sends.
#[derive(Deserialize)]
pub struct RecoverBody {
    receipt: String,
    phone: Option<String>,
    mac: Option<String>,
    ip: Option<String>,
}

/// `POST /api/portal/{router}/recover`: `{payment_id, login: {username, password,
/// expires_at}, moved}`; the page then polls the payment until the router has the user.
pub async fn recover(
    State(payments): State<Arc<Payments>>,
    Path(router): Path<String>,
    client: ClientAddr,
    body: Result<Json<RecoverBody>, JsonRejection>,
) -> Result<Response, RecoverError> {
    let router: RouterId = router.parse().map_err(|_| RecoverError::RouterNotFound)?;
    let Json(body) = body.map_err(|_| RecoverError::InvalidReceipt)?;
    let request = RecoverRequest {
        receipt: body.receipt,
        phone: body.phone,
        mac: body.mac,
        ip: body.ip,
        client_ip: client.0.map(|ip| ip.to_string()),
    };
    Ok(Json(payments.recover(router, request).await?).into_response())
}
