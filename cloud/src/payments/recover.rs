//! "Already paid?": a customer whose phone came back with a new (randomised) MAC, or whose
//! captive browser closed before the login, types the M-Pesa receipt code from the SMS. If
//! it names an unexpired plan bought on this router, the plan moves to this device: the old
//! device's session is ended, the hotspot user is bound to the new MAC and the new device
//! is logged in, all enqueued in one transaction.

use std::net::Ipv4Addr;

use jasiyo_shared::command::Password;
use jasiyo_shared::{Command, MacAddress, RouterId};
use serde::Serialize;

use super::phone::Msisdn;
use super::service::Payments;
use super::settle::plan_user;
use super::view::LoginInfo;
use crate::model::{Entitlement, Payment, PaymentId};
use crate::store::payments::DeviceMove;
use crate::store::{StoreError, now_ms};

/// What the page sends: the code (or the pasted SMS), optionally the paying phone, and the
/// device the hotspot reported.
// Debug hides its secrets: crate::redact.
#[derive(Clone, Default)]
pub struct RecoverRequest {
    /// The receipt code or the whole SMS, as typed.
    pub receipt: String,
    /// The paying phone, as typed (required: the receipt alone is printed on a paper SMS,
    /// shown on a screen, guessable in test mode).
    pub phone: Option<String>,
    /// The device's MAC, from the hotspot's `$(mac)`.
    pub mac: Option<String>,
    /// The device's IP, from the hotspot's `$(ip)`.
    pub ip: Option<String>,
    /// The address the request came from (rate limits).
    pub client_ip: Option<String>,
}

/// A recovered plan: the login to use and whether it moved to this device.
// Debug hides its secrets: crate::redact.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Recovered {
    /// The payment that bought the plan; the page polls it until the router has the user.
    pub payment_id: PaymentId,
    /// The hotspot login.
    pub login: LoginInfo,
    /// Whether the plan moved from another device.
    pub moved: bool,
    /// The payment's view key: the page follows the payment with it (see [`Payments::view`]).
    pub view_key: String,
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
    /// The paying phone was not given (it is needed with the code).
    #[error("type the phone number that paid as well as the M-Pesa code")]
    PhoneNeeded,
    /// The plan already moved to another device today.
    #[error("this plan already moved to another device today; ask the shop to allow another move")]
    MovedToday,
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

impl Payments {
    /// Moves the unexpired plan bought with this receipt from this phone on `router` to the
    /// requesting device. Attempts are rate limited per code, per device and per client
    /// address, before anything is looked up (a wrong code costs one attempt; so does a
    /// right one). A plan moves back to the paying device any time, and to another device
    /// once a day.
    pub async fn recover(&self, router: RouterId, request: RecoverRequest) -> Result<Recovered, RecoverError> {
        let receipt = normalise_receipt(&request.receipt).ok_or(RecoverError::InvalidReceipt)?;
        let mac: MacAddress = request.mac.as_deref().and_then(|m| m.trim().parse().ok()).ok_or(RecoverError::NoDevice)?;
        let ip: Option<Ipv4Addr> = request.ip.as_deref().and_then(|i| i.trim().parse().ok());
        let phone = request.phone.as_deref().filter(|p| !p.trim().is_empty()).ok_or(RecoverError::PhoneNeeded)?;
        let phone = Msisdn::parse(phone).map_err(|_| RecoverError::NotFound)?;
        self.recover_limits
            .check(&format!("receipt:{receipt}"), Some(&mac.to_string()), request.client_ip.as_deref())
            .map_err(|_| RecoverError::RateLimited)?;

        self.store.router(router).await?.filter(|r| r.revoked_at.is_none()).ok_or(RecoverError::RouterNotFound)?;
        let found = self.store.entitlements_by_receipt(router, &receipt).await?;
        let (payment, entitlement) = pick(found, phone.as_str())?;
        if entitlement.expires_at <= now_ms() / 1000 {
            return Err(RecoverError::Expired);
        }
        let moved = entitlement.device_mac != Some(mac);
        let away = payment.device_mac != Some(mac);
        if moved && away && entitlement.moved_away_at.is_some_and(|at| now_ms() - at < MOVE_AWAY_EVERY_MS) {
            return Err(RecoverError::MovedToday);
        }
        let entitlement = if moved { self.move_to(&payment, entitlement, mac, ip).await? } else { entitlement };
        if moved {
            self.hub.wake(router);
            tracing::info!(payment = %payment.id, %router, to = %mac, "entitlement moved to a new device");
        }
        let login = LoginInfo { username: entitlement.username, password: entitlement.password, expires_at: entitlement.expires_at };
        Ok(Recovered { payment_id: payment.id, login, moved, view_key: self.sealer.view_key(payment.id) })
    }

    /// Enqueues the move: end the old device's session, bind the user to the new MAC, log
    /// the new device in (when its IP is known).
    pub(super) async fn move_to(
        &self,
        payment: &Payment,
        entitlement: Entitlement,
        mac: MacAddress,
        ip: Option<Ipv4Addr>,
    ) -> Result<Entitlement, RecoverError> {
        let plan = self
            .store
            .plan(payment.plan_id)
            .await?
            .ok_or_else(|| RecoverError::Internal(anyhow::anyhow!("plan {} vanished", payment.plan_id)))?;
        let user =
            plan_user(&plan, &entitlement.username, &entitlement.password, Some(mac), entitlement.expires_at, payment.receipt.as_deref());
        let moves = DeviceMove {
            end_old: entitlement.device_mac.map(|old| Command::EndSession { mac: old }),
            upsert: super::settle::plan_upsert(&plan, user),
            login: ip.map(|ip| Command::LoginDevice {
                user: entitlement.username.clone(),
                password: Password(entitlement.password.clone()),
                mac,
                ip,
            }),
        };
        Ok(self.store.move_entitlement(entitlement.id, entitlement.device_mac, mac, &moves, now_ms()).await?)
    }
}

/// How often a plan may move to a device other than the one that paid (moving back to
/// that one is always allowed; the owner can allow another move sooner).
const MOVE_AWAY_EVERY_MS: i64 = 24 * 3600 * 1000;

/// The payment a receipt names, among those on the router that carry it (newest first):
/// the newest paid from `phone`. A phone that paid none of them finds nothing, exactly as
/// a wrong code does, so a guesser learns nothing about either.
fn pick(found: Vec<(Payment, Entitlement)>, phone: &str) -> Result<(Payment, Entitlement), RecoverError> {
    found.into_iter().find(|(payment, _)| payment.msisdn == phone).ok_or(RecoverError::NotFound)
}

/// The receipt code in what the customer typed or pasted: the code alone in any case and
/// spacing, or the whole M-Pesa SMS (whose first word is the code).
pub fn normalise_receipt(typed: &str) -> Option<String> {
    let is_code = |w: &str| {
        w.len() == 10
            && w.chars().all(|c| c.is_ascii_alphanumeric())
            && w.chars().any(|c| c.is_ascii_digit())
            && w.chars().any(|c| c.is_ascii_alphabetic())
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
