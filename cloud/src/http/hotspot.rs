//! `GET /hotspot/{router}/{file}?token=<agent token>`: the router's hotspot pages and their
//! install script (rendered by [`crate::portal::hotspot`]), for a request presenting the
//! router's token (or `Authorization: Bearer <token>`).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jasiyo_shared::RouterId;
use serde::Deserialize;

use crate::hub::{AuthError, Hub};
use crate::payments::Payments;
use crate::portal::hotspot::{self, PortalHost};

/// `?token=<agent token>`.
#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// The handler.
pub async fn hotspot_file(
    State(hub): State<Arc<Hub>>,
    State(payments): State<Arc<Payments>>,
    Path((router, file)): Path<(String, String)>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    let unauthorized = || (StatusCode::UNAUTHORIZED, "wrong or missing router token\n").into_response();
    let Some(token) = query.token.as_deref().or(super::bearer(&headers)) else { return unauthorized() };
    let Ok(router_id) = router.parse::<RouterId>() else { return unauthorized() };
    let router = match hub.authenticate(router_id, token).await {
        Ok(router) => router,
        Err(AuthError::WrongToken) => {
            tracing::warn!(router = %router_id, "hotspot file asked for with a wrong token");
            return unauthorized();
        }
        Err(AuthError::Revoked) => return unauthorized(),
        Err(AuthError::Unavailable(error)) => {
            tracing::error!(%error, router = %router_id, "hotspot file lookup failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let portal = match PortalHost::parse(&payments.config().public_url) {
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
