//! "Already paid?": a customer whose phone came back with a new (randomised) MAC, or whose
//! captive browser closed before the login, types the M-Pesa receipt code from the SMS. If
//! it names an unexpired plan bought on this router, the plan moves to this device: the old
//! device's session is ended, the hotspot user is bound to the new MAC and the new device
//! is logged in, all enqueued in one transaction.

use std::net::Ipv4Addr;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use jasiyo_shared::command::Password;
use jasiyo_shared::{Command, MacAddress, RouterId};
use serde::Deserialize;
use serde_json::json;

use crate::http::AppState;
use crate::http::portal::client_ip;
use crate::payments::limits::{LimitConfig, RateLimits};
use crate::model::{Entitlement, Payment};
use crate::payments::phone::Msisdn;
use crate::payments::settle::plan_user;
use crate::store::payments::DeviceMove;
use crate::store::{Store, StoreError, now_ms};

/// Attempt limits for receipt codes: per code, per device and per client address, counted
/// like payment attempts (a wrong code costs one attempt; so does a right one).
pub struct RecoverLimits(RateLimits);

impl RecoverLimits {
    /// Five tries per code and per device, thirty per address, in ten minutes.
    pub fn new() -> Arc<RecoverLimits> {
        Self::with(LimitConfig::default())
    }

    /// Limits of the caller's choosing (tests).
    pub fn with(config: LimitConfig) -> Arc<RecoverLimits> {
        Arc::new(RecoverLimits(RateLimits::new(config)))
    }
}

/// Why a recovery did not happen; each maps to a code the page words in the customer's
/// language, and an English message.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    /// Unknown or revoked router.
    #[error("this hotspot is not registered")]
    RouterNotFound,
    /// Not something that looks like an M-Pesa code.
    #[error("an M-Pesa code has 10 letters and digits, like SJK3X9Y2ZQ; it is in the SMS from M-Pesa")]
    InvalidReceipt,
    /// The page was not opened from the router's login page (no device address).
    #[error("open this page from the WiFi login page, so we know which device to connect")]
    NoDevice,
    /// No paid plan on this router with that code (or the phone does not match).
    #[error("we found no payment with that M-Pesa code on this WiFi; check the code in your M-Pesa SMS")]
    NotFound,
    /// The plan it bought has ended.
    #[error("the plan bought with that M-Pesa code has ended")]
    Expired,
    /// Too many tries.
    #[error("too many tries; please wait a few minutes and try again")]
    RateLimited,
    /// The plan was moved by another request at the same moment.
    #[error("that plan was just moved to another device; try again")]
    Conflict,
    /// Our fault.
    #[error("something went wrong on our side; please try again")]
    Internal(#[source] anyhow::Error),
}

impl From<StoreError> for RecoverError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(_) => RecoverError::Conflict,
            other => RecoverError::Internal(other.into()),
        }
    }
}

impl IntoResponse for RecoverError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            RecoverError::RouterNotFound => (StatusCode::NOT_FOUND, "router_not_found"),
            RecoverError::InvalidReceipt => (StatusCode::BAD_REQUEST, "invalid_receipt"),
            RecoverError::NoDevice => (StatusCode::BAD_REQUEST, "no_device"),
            RecoverError::NotFound => (StatusCode::NOT_FOUND, "receipt_not_found"),
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

/// What the page sends.
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
    State(state): State<AppState>,
    Extension(limits): Extension<Arc<RecoverLimits>>,
    Path(router): Path<String>,
    headers: HeaderMap,
    body: Result<Json<RecoverBody>, JsonRejection>,
) -> Result<Response, RecoverError> {
    let router: RouterId = router.parse().map_err(|_| RecoverError::RouterNotFound)?;
    let Json(body) = body.map_err(|_| RecoverError::InvalidReceipt)?;
    let receipt = normalise_receipt(&body.receipt).ok_or(RecoverError::InvalidReceipt)?;
    let mac: MacAddress = body.mac.as_deref().and_then(|m| m.trim().parse().ok()).ok_or(RecoverError::NoDevice)?;
    let ip: Option<Ipv4Addr> = body.ip.as_deref().and_then(|i| i.trim().parse().ok());
    let phone = body.phone.as_deref().filter(|p| !p.trim().is_empty()).map(Msisdn::parse).transpose().map_err(|_| RecoverError::NotFound)?;
    limits.0.check(&format!("receipt:{receipt}"), Some(&mac.to_string()), client_ip(&headers).as_deref()).map_err(|_| RecoverError::RateLimited)?;

    let store = state.hub.store();
    store.router(router).await?.filter(|r| r.revoked_at.is_none()).ok_or(RecoverError::RouterNotFound)?;
    let (payment, entitlement) = store.entitlement_by_receipt(router, &receipt).await?.ok_or(RecoverError::NotFound)?;
    if phone.is_some_and(|p| p.as_str() != payment.msisdn) {
        return Err(RecoverError::NotFound);
    }
    if entitlement.expires_at <= now_ms() / 1000 {
        return Err(RecoverError::Expired);
    }
    let moved = entitlement.device_mac != Some(mac);
    let entitlement = if moved { move_to(store.as_ref(), &payment, entitlement, mac, ip).await? } else { entitlement };
    if moved {
        state.hub.wake(router);
        tracing::info!(payment = %payment.id, %router, to = %mac, "entitlement moved to a new device");
    }
    let login = json!({ "username": entitlement.username, "password": entitlement.password, "expires_at": entitlement.expires_at });
    Ok(Json(json!({ "payment_id": payment.id, "login": login, "moved": moved })).into_response())
}

/// Enqueues the move: end the old device's session, bind the user to the new MAC, log the
/// new device in (when its IP is known).
async fn move_to(store: &dyn Store, payment: &Payment, entitlement: Entitlement, mac: MacAddress, ip: Option<Ipv4Addr>) -> Result<Entitlement, RecoverError> {
    let plan = store.plan(payment.plan_id).await?.ok_or_else(|| RecoverError::Internal(anyhow::anyhow!("plan {} vanished", payment.plan_id)))?;
    let user = plan_user(&plan, &entitlement.username, &entitlement.password, Some(mac), entitlement.expires_at, payment.receipt.as_deref());
    let moves = DeviceMove {
        end_old: entitlement.device_mac.map(|old| Command::EndSession { mac: old }),
        upsert: Command::UpsertHotspotUser(user),
        login: ip.map(|ip| Command::LoginDevice { user: entitlement.username.clone(), password: Password(entitlement.password.clone()), mac, ip }),
    };
    Ok(store.move_entitlement(entitlement.id, entitlement.device_mac, mac, &moves, now_ms()).await?)
}

/// The receipt code in what the customer typed or pasted: the code alone in any case and
/// spacing, or the whole M-Pesa SMS (whose first word is the code).
pub fn normalise_receipt(typed: &str) -> Option<String> {
    let is_code = |w: &str| {
        w.len() == 10 && w.chars().all(|c| c.is_ascii_alphanumeric()) && w.chars().any(|c| c.is_ascii_digit()) && w.chars().any(|c| c.is_ascii_alphabetic())
    };
    let joined: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_ascii_uppercase();
    if is_code(&joined) {
        return Some(joined);
    }
    typed.split(|c: char| !c.is_ascii_alphanumeric()).map(str::to_ascii_uppercase).find(|w| is_code(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_as_customers_type_them() {
        assert_eq!(normalise_receipt("sjk3x9y2zq").as_deref(), Some("SJK3X9Y2ZQ"));
        assert_eq!(normalise_receipt(" SJK3 X9Y2 ZQ ").as_deref(), Some("SJK3X9Y2ZQ"));
        let sms = "SJK3X9Y2ZQ Confirmed. Ksh20.00 paid to KIBANDA WIFI on 1/12/26 at 6:01 PM.";
        assert_eq!(normalise_receipt(sms).as_deref(), Some("SJK3X9Y2ZQ"));
        assert_eq!(normalise_receipt("12345"), None);
        assert_eq!(normalise_receipt("ABCDEFGHIJ"), None, "a code has digits");
        assert_eq!(normalise_receipt(""), None);
    }
}
