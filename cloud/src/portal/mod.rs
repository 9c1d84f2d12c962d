//! The captive portal: the page customers see, "already paid?" recovery, and the hotspot
//! files routers serve to send devices here.
//!
//! - [`page`]: `GET /portal/{router}`, the page (inline CSS and script, gzipped).
//! - [`push`]: `GET /api/portal/payments/{id}/next`, the payment as soon as it moves on.
//! - [`recover`]: `POST /api/portal/{router}/recover`, moving a paid plan to this device.
//! - [`hotspot`]: the router's hotspot pages and their install script, served at
//!   `GET /hotspot/{router}/{file}?token=<agent token>`.
//!
//! The payment API the page calls is in [`crate::http::portal`].

pub mod hotspot;
pub mod page;
pub mod push;
pub mod recover;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use jasiyo_shared::RouterId;
use serde::Deserialize;

use crate::http::AppState;
use crate::token::verify_token;
use hotspot::PortalHost;
pub use recover::RecoverLimits;

/// The portal's routes (at their full paths), with recovery limited by `limits`.
pub fn routes(limits: std::sync::Arc<RecoverLimits>) -> Router<AppState> {
    Router::new()
        .route("/portal/{router}", get(page::page))
        .route("/api/portal/{router}/recover", post(recover::recover))
        .route("/api/portal/payments/{payment}/next", get(push::next))
        .route("/hotspot/{router}/{file}", get(hotspot_file))
        .layer(Extension(limits))
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// `GET /hotspot/{router}/{file}?token=...`: a hotspot page or `install.rsc`, for a request
/// presenting the router's agent token (or `Authorization: Bearer <token>`).
async fn hotspot_file(
    State(state): State<AppState>,
    Path((router, file)): Path<(String, String)>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    let unauthorized = || (StatusCode::UNAUTHORIZED, "wrong or missing router token\n").into_response();
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = query.token.as_deref().or(bearer) else { return unauthorized() };
    let Ok(router_id) = router.parse::<RouterId>() else { return unauthorized() };
    let router = match state.hub.store().router(router_id).await {
        Ok(Some(r)) if r.revoked_at.is_none() => r,
        Ok(_) => return unauthorized(),
        Err(error) => {
            tracing::error!(%error, router = %router_id, "hotspot file lookup failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    if !verify_token(token, &router.token_hash) {
        tracing::warn!(router = %router_id, "hotspot file asked for with a wrong token");
        return unauthorized();
    }
    let Some(public_url) = state.payments.as_ref().map(|p| p.config().public_url.clone()) else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let portal = match PortalHost::parse(&public_url) {
        Ok(portal) => portal,
        Err(error) => {
            tracing::error!(%error, "the public URL cannot go into hotspot files");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let (body, kind) = match file.as_str() {
        "install.rsc" => (hotspot::install_script(&portal, router_id, &router.name, token), "text/plain; charset=utf-8"),
        name => match hotspot::page(name, &portal, router_id) {
            Some(page) => (page, "text/html; charset=utf-8"),
            None => return StatusCode::NOT_FOUND.into_response(),
        },
    };
    tracing::info!(router = %router_id, file, "hotspot file served");
    let mut response = body.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
