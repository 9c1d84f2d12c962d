//! `GET /portal/{router}`: the captive portal page for a router, with the hotspot
//! variables its `login.html` passed on; rendering is [`crate::portal::page`]'s.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use jasiyo_shared::RouterId;

use super::html::html_response;
use crate::payments::Payments;
use crate::portal::page::{HotspotVars, html_escape, prefers_swahili, render};
use crate::portal::trial::Times;

/// A plain page for when there is no portal to show.
fn notice(status: StatusCode, text: &str, headers: &HeaderMap) -> Response {
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>WiFi</title></head><body style=\"font-family:sans-serif;margin:2em\"><p>{}</p></body></html>",
        html_escape(text)
    );
    html_response(status, body, None, headers)
}

/// `GET /portal/{router}?mac=..&ip=..&link-login-only=..&link-orig=..&chap-id=..&chap-challenge=..&error=..`
pub async fn page(
    State(payments): State<Arc<Payments>>,
    Path(router): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let missing = || notice(StatusCode::NOT_FOUND, "This WiFi is not registered for payments. Please tell the shop.", &headers);
    let Ok(router) = router.parse::<RouterId>() else { return missing() };
    let offer = match payments.offer(router).await {
        Ok(Some(offer)) => offer,
        Ok(None) => return missing(),
        Err(error) => {
            tracing::error!(%error, %router, "portal page failed");
            return notice(StatusCode::SERVICE_UNAVAILABLE, "Something went wrong on our side. Please reload this page.", &headers);
        }
    };
    // Swahili first for a browser that prefers it; else the owner's language.
    let mut look = offer.look;
    let accept = headers.get(axum::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if prefers_swahili(accept) {
        look.language = Some("sw".into());
    }
    let wait = payments.config().portal_wait.as_secs();
    let vars = HotspotVars::from_query(query.as_deref().unwrap_or(""));
    let nonce = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 16]>());
    let trial = match payments.store().trial_minutes(router).await {
        Ok(trial) => trial,
        Err(error) => {
            // The page still sells plans without the trial's offer.
            tracing::warn!(%error, %router, "free trial setting not read");
            None
        }
    };
    let times = Times { wait_secs: wait, trial_minutes: trial };
    let page = render(router, &offer.owner, offer.plans, times, &vars, &nonce, &look);
    html_response(StatusCode::OK, page, Some(&nonce), &headers)
}
