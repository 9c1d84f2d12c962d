//! `GET /portal/{router}`: the captive portal page for a router, with the hotspot
//! variables its `login.html` passed on; rendering is [`crate::portal::page`]'s. And
//! `GET /portal/ping.gif`, which that `login.html` loads to learn whether the cloud is there.

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

/// A transparent 1×1 GIF: what the router's `login.html` loads to learn that the portal is
/// there ([`crate::portal::login_page`]).
const PIXEL: [u8; 43] = [
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x21, 0xf9, 0x04,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// When the database last answered a probe (ms since the epoch). Probes within a second of
/// it are answered without asking again, so that a flood of probes (anyone may send them)
/// costs the database nothing.
static LAST_OK_MS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// `GET /portal/ping.gif`: the pixel while the portal can serve (its database answers),
/// else 503, which the page takes as "offline" at once. Never cached: each probe must reach
/// the cloud.
pub async fn ping(State(payments): State<Arc<Payments>>) -> Response {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let now = crate::store::now_ms();
    let fresh = now - LAST_OK_MS.load(std::sync::atomic::Ordering::Relaxed) < 1000;
    if !fresh && let Err(error) = payments.store().ping().await {
        tracing::warn!(%error, "portal probe: the database does not answer");
        return (StatusCode::SERVICE_UNAVAILABLE, [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]).into_response();
    }
    if !fresh {
        LAST_OK_MS.store(now, std::sync::atomic::Ordering::Relaxed);
    }
    let headers =
        [(header::CONTENT_TYPE, HeaderValue::from_static("image/gif")), (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))];
    (headers, PIXEL.as_slice()).into_response()
}
