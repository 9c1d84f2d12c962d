//! "Have a voucher?" on the captive portal: a typed code is checked for the router the page
//! belongs to, and a good one comes back as the hotspot login the page submits (the same
//! form login the paid path uses). Attempts are limited per code, device and address by
//! the limiter that guards "already paid?" receipts, before anything is looked up.

use jasiyo_shared::{MacAddress, RouterId};
use serde::Serialize;

use crate::model::VoucherCode;
use crate::payments::Payments;
use crate::store::vouchers::Redeemed;
use crate::store::{StoreError, now_ms};

/// What the page sends.
// Debug hides the code.
#[derive(Clone, Default)]
pub struct VoucherRequest {
    /// The code as typed.
    pub code: String,
    /// The device's MAC, from the hotspot's `$(mac)`.
    pub mac: Option<String>,
    /// The address the request came from (rate limits).
    pub client_ip: Option<String>,
}

impl std::fmt::Debug for VoucherRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoucherRequest").field("code", &"***").field("mac", &self.mac).field("client_ip", &self.client_ip).finish()
    }
}

/// A good code: the hotspot login to submit.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct VoucherLogin {
    /// The hotspot user name (the code).
    pub username: String,
    /// Its password (the code).
    pub password: String,
    /// Whether this was the code's first use.
    pub first_use: bool,
    /// The plan's length: online time the code gives from its first login.
    pub duration_secs: u64,
}

/// Why a code was refused; each maps to a code the page words in the customer's language.
#[derive(Debug, thiserror::Error)]
pub enum VoucherPortalError {
    /// Unknown or revoked router.
    #[error("this hotspot is not registered")]
    RouterNotFound,
    /// The page was not opened from the router's login page.
    #[error("open this page from the WiFi login page, so we know which device to connect")]
    NoDevice,
    /// No such code on this router (or not shaped like one).
    #[error("that voucher code is not valid on this WiFi; check the code on your card")]
    Unknown,
    /// Never used before its batch's valid-until date.
    #[error("that voucher has expired")]
    Expired,
    /// Withdrawn by the owner.
    #[error("that voucher is no longer valid; ask the shop")]
    Revoked,
    /// Used by another device already.
    #[error("that voucher is already in use on another device or at another WiFi of this shop")]
    InUse,
    /// Too many tries.
    #[error("too many tries; please wait a few minutes and try again")]
    RateLimited,
    /// Our fault.
    #[error("something went wrong on our side; please try again")]
    Internal(#[source] anyhow::Error),
}

impl From<StoreError> for VoucherPortalError {
    fn from(error: StoreError) -> Self {
        VoucherPortalError::Internal(error.into())
    }
}

/// Checks a code typed on `router`'s portal; a good one is marked in use by this device.
pub async fn redeem(payments: &Payments, router: RouterId, request: VoucherRequest) -> Result<VoucherLogin, VoucherPortalError> {
    let mac: MacAddress = request.mac.as_deref().and_then(|m| m.trim().parse().ok()).ok_or(VoucherPortalError::NoDevice)?;
    let code = VoucherCode::parse(&request.code);
    // Every attempt counts, well-formed or not, before anything is looked up.
    let key = format!("voucher:{}", code.as_ref().map_or("-", |c| c.as_str()));
    payments.code_limits().check(&key, Some(&mac.to_string()), request.client_ip.as_deref()).map_err(|hit| {
        tracing::info!(%router, %mac, client = request.client_ip.as_deref().unwrap_or("-"), ?hit, "voucher attempts rate limited");
        VoucherPortalError::RateLimited
    })?;
    let store = payments.store();
    store.router(router).await?.filter(|r| r.revoked_at.is_none()).ok_or(VoucherPortalError::RouterNotFound)?;
    let code = code.ok_or(VoucherPortalError::Unknown)?;
    let answer = store.redeem_voucher(router, &code, mac, now_ms()).await?;
    tracing::debug!(%router, %mac, code = code.as_str(), ?answer, "voucher typed on the portal");
    match answer {
        Redeemed::Valid { first, plan_id } => {
            tracing::info!(%router, %mac, plan = %plan_id, first, "voucher accepted on the portal");
            let duration_secs = store.plan(plan_id).await?.map_or(0, |p| p.duration_secs);
            Ok(VoucherLogin { username: code.as_str().to_string(), password: code.as_str().to_string(), first_use: first, duration_secs })
        }
        Redeemed::Unknown => Err(VoucherPortalError::Unknown),
        Redeemed::Expired => Err(VoucherPortalError::Expired),
        Redeemed::Revoked => Err(VoucherPortalError::Revoked),
        Redeemed::InUseElsewhere => Err(VoucherPortalError::InUse),
    }
}
