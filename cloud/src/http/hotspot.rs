//! `GET /hotspot/{router}/{file}` with `Authorization: Bearer <download credential>`: the
//! router's hotspot pages and their install script (rendered by [`crate::portal::hotspot`]).
//! The credential is the router's download credential ([`crate::token::download_token`],
//! registered when `router install-script` prints the script), good for these files only.
//! A token in the query string (the old way) is refused, as is the agent token itself.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jasiyo_shared::RouterId;

use crate::hub::Hub;
use crate::payments::Payments;
use crate::portal::hotspot::{self, PortalHost};
use crate::token::verify_token;

/// The handler.
pub async fn hotspot_file(
    State(hub): State<Arc<Hub>>,
    State(payments): State<Arc<Payments>>,
    Path((router, file)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let unauthorized = |why: &'static str| (StatusCode::UNAUTHORIZED, why).into_response();
    let Ok(router_id) = router.parse::<RouterId>() else { return unauthorized("wrong or missing download credential\n") };
    if query.is_some_and(|q| q.split('&').any(|pair| pair == "token" || pair.starts_with("token="))) {
        // Never logged: the query holds a token.
        tracing::warn!(router = %router_id, "hotspot file asked for with a token in the URL (no longer accepted)");
        return unauthorized("a token in the URL is no longer accepted: print the install script again (router install-script)\n");
    }
    let Some(presented) = super::bearer(&headers) else { return unauthorized("wrong or missing download credential\n") };
    let store = hub.store();
    let known = match store.download_token_hash(router_id).await {
        Ok(known) => known,
        Err(error) => {
            tracing::error!(%error, router = %router_id, "hotspot file lookup failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    // No credential registered, one made from a replaced agent token, a revoked router, or
    // another credential (the agent token among them): all the same to the caller.
    if !known.is_some_and(|hash| verify_token(presented, &hash)) {
        tracing::warn!(router = %router_id, "hotspot file asked for with a wrong download credential");
        return unauthorized("wrong or missing download credential\n");
    }
    let router = match store.router(router_id).await {
        Ok(Some(router)) => router,
        Ok(None) => return unauthorized("wrong or missing download credential\n"),
        Err(error) => {
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
        "install.rsc" => (hotspot::install_script(&portal, router_id, &router.name, presented), "text/plain; charset=utf-8"),
        name => match hotspot::page(name, &portal, router_id) {
            Some(page) if name.ends_with(".json") => (page, "application/json"),
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
