//! `POST /api/portal/{router}/voucher`: "Have a voucher?" on the captive portal. Errors
//! are JSON `{"error": <code>, "message": <words for the customer>}` like the rest of the
//! portal API.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jasiyo_shared::RouterId;
use serde::Deserialize;
use serde_json::json;

use super::ClientAddr;
use crate::payments::Payments;
use crate::vouchers::portal::{VoucherPortalError, VoucherRequest, redeem};

impl IntoResponse for VoucherPortalError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            VoucherPortalError::RouterNotFound => (StatusCode::NOT_FOUND, "router_not_found"),
            VoucherPortalError::NoDevice => (StatusCode::BAD_REQUEST, "no_device"),
            VoucherPortalError::Unknown => (StatusCode::NOT_FOUND, "voucher_unknown"),
            VoucherPortalError::Expired => (StatusCode::GONE, "voucher_expired"),
            VoucherPortalError::Revoked => (StatusCode::GONE, "voucher_revoked"),
            VoucherPortalError::InUse => (StatusCode::CONFLICT, "voucher_in_use"),
            VoucherPortalError::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            VoucherPortalError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "voucher check failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        (status, Json(json!({ "error": code, "message": self.to_string() }))).into_response()
    }
}

/// What the voucher form sends.
#[derive(Deserialize)]
pub struct VoucherBody {
    code: String,
    mac: Option<String>,
}

/// `POST /api/portal/{router}/voucher`: `{"login": {"username", "password"}, "first_use",
/// "duration_secs"}`
/// for a good code; the page then submits the hotspot login form with it.
pub async fn voucher(
    State(payments): State<Arc<Payments>>,
    Path(router): Path<String>,
    client: ClientAddr,
    body: Result<Json<VoucherBody>, JsonRejection>,
) -> Result<Response, VoucherPortalError> {
    let router: RouterId = router.parse().map_err(|_| VoucherPortalError::RouterNotFound)?;
    let Json(body) = body.map_err(|_| VoucherPortalError::Unknown)?;
    let request = VoucherRequest { code: body.code, mac: body.mac, client_ip: client.0.map(|ip| ip.to_string()) };
    let login = redeem(&payments, router, request).await?;
    let body = json!({ "login": { "username": login.username, "password": login.password }, "first_use": login.first_use, "duration_secs": login.duration_secs });
    Ok(Json(body).into_response())
}
