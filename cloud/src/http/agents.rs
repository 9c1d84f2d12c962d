//! `GET /agent/v1/ws`: checks the agent's router id and token, then upgrades to the
//! WebSocket the hub serves. With too many handshakes under way the request waits in line
//! for a place; with the line full or the wait too long it is answered 503 with a
//! `Retry-After` instead (`hub::handshakes`).

use std::sync::Arc;

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jasiyo_shared::{MAX_FRAME_BYTES, ROUTER_ID_HEADER, RouterId};

use crate::hub::{AuthError, Deferred, Hub, HubEvent, serve_agent};
use crate::model::Router;

/// The agents' endpoint.
pub async fn agent_ws(State(hub): State<Arc<Hub>>, headers: HeaderMap, upgrade: WebSocketUpgrade) -> Response {
    // Held until the welcome is sent: a crowd past the cap waits in line, and past the line
    // is asked to come back later.
    let slot = match hub.admit_handshake().await {
        Ok(slot) => slot,
        Err(deferred) => return busy(deferred),
    };
    let router = match authenticate(&hub, &headers).await {
        Ok(router) => router,
        Err(refusal) => {
            tracing::warn!(router = ?refusal.router, reason = refusal.reason, "agent refused");
            hub.emit(HubEvent::Refused(refusal.router));
            return (refusal.status, refusal.reason).into_response();
        }
    };
    upgrade
        // Agents send small frames; small buffers keep tens of thousands of idle links cheap.
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| serve_agent(hub, router, socket, slot))
}

/// HTTP 503 with `Retry-After` in seconds: too many agents are connecting at once.
fn busy(deferred: Deferred) -> Response {
    let retry_after = deferred.retry_after();
    tracing::debug!(reason = deferred.as_str(), retry_after_secs = retry_after.as_secs(), "agent upgrade deferred: too many handshakes");
    let headers = [(header::RETRY_AFTER, retry_after.as_secs().max(1).to_string())];
    (StatusCode::SERVICE_UNAVAILABLE, headers, "too many agents connecting; retry later").into_response()
}

struct Refusal {
    router: Option<RouterId>,
    status: StatusCode,
    reason: &'static str,
}

async fn authenticate(hub: &Hub, headers: &HeaderMap) -> Result<Router, Refusal> {
    let refuse = |router, status, reason| Refusal { router, status, reason };
    let router: RouterId = headers
        .get(ROUTER_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| refuse(None, StatusCode::UNAUTHORIZED, "missing or malformed router id"))?;
    let token = super::bearer(headers).ok_or_else(|| refuse(Some(router), StatusCode::UNAUTHORIZED, "missing bearer token"))?;
    match hub.authenticate(router, token).await {
        Ok(record) => Ok(record),
        Err(AuthError::WrongToken) => Err(refuse(Some(router), StatusCode::UNAUTHORIZED, "unknown router or wrong token")),
        Err(AuthError::Revoked) => Err(refuse(Some(router), StatusCode::UNAUTHORIZED, "token revoked")),
        Err(AuthError::Unavailable(error)) => {
            tracing::error!(%error, router = %router, "store failed during agent authentication");
            Err(refuse(Some(router), StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable"))
        }
    }
}
