//! Applying a provider's word about a payment, exactly once: callbacks (verified, matched
//! to a pending payment, amount checked) and status-query answers both end here. A paid
//! payment is provisioned in the same transaction that records it.

use http::HeaderMap;
use jasiyo_shared::command::Password;
use jasiyo_shared::{Command, HotspotUser, MacAddress, UnixTime};
use rand::Rng;
use serde_json::Value;

use super::service::Payments;
use super::service::PortalError;
use crate::model::{Payment, PaymentState, Plan};
use crate::providers::{CallbackError, CallbackScope, FailureReason, PaymentStatus, ProviderEvent, ProviderKind};
use crate::store::StoreError;
use crate::store::now_ms;
use crate::store::payments::{Heard, PaidOutcome, Provision};

/// Why a callback was refused. Nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The token in the URL matches nothing.
    #[error("unknown callback token")]
    UnknownToken,
    /// Signature, format or content is wrong.
    #[error(transparent)]
    Callback(#[from] CallbackError),
    /// It names a payment other than the one its URL belongs to, or none we know.
    #[error("callback reference {0:?} does not match the payment")]
    WrongReference(String),
    /// The amount paid is not the amount asked.
    #[error("amount {paid} KES does not match the {expected} KES asked")]
    WrongAmount {
        /// Paid.
        paid: u32,
        /// Asked.
        expected: u32,
    },
    /// Our fault.
    #[error("internal error: {0:#}")]
    Internal(#[source] anyhow::Error),
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        Refused::Internal(e.into())
    }
}

impl From<PortalError> for Refused {
    fn from(e: PortalError) -> Self {
        Refused::Internal(e.into())
    }
}

/// What became of a callback the provider delivered.
#[derive(Debug)]
pub enum CallbackOutcome {
    /// Applied (or found applied already): answer with the provider's expected body.
    Acknowledged(Value),
    /// Well-formed but not about a payment (another event type): acknowledged, nothing done.
    Ignored(String),
}

impl Payments {
    /// Handles a callback for a provider of kind `kind` arriving with `token` in its URL:
    /// verified, matched to its payment and applied once. A refusal changed nothing.
    pub async fn on_callback(&self, kind: ProviderKind, token: &str, headers: &HeaderMap, body: &[u8]) -> Result<CallbackOutcome, Refused> {
        let hash = Self::token_hash(token);
        let settled = match kind.callback_scope() {
            CallbackScope::PerTenant => self.settle_tenant_callback(kind, &hash, headers, body).await,
            CallbackScope::PerPayment => self.settle_payment_callback(kind, &hash, headers, body).await,
        };
        match settled {
            Ok(ack) => Ok(CallbackOutcome::Acknowledged(ack)),
            Err(Refused::Callback(CallbackError::Ignored(what))) => {
                tracing::info!(provider = kind.as_str(), %what, "callback ignored");
                Ok(CallbackOutcome::Ignored(what))
            }
            Err(refused) => {
                tracing::warn!(provider = kind.as_str(), reason = %refused, "callback refused; nothing changed");
                Err(refused)
            }
        }
    }

    /// A callback at a tenant's webhook URL: the body's reference names the payment, which
    /// must be that tenant's.
    async fn settle_tenant_callback(&self, kind: ProviderKind, hash: &str, headers: &HeaderMap, body: &[u8]) -> Result<Value, Refused> {
        let stored = self.store.provider_by_callback_token(hash).await?.filter(|p| p.kind == kind).ok_or(Refused::UnknownToken)?;
        let provider = self.provider_from(&stored)?;
        let event = provider.parse_callback(headers, body)?;
        let payment = self
            .store
            .payment_by_provider_ref(kind, &event.provider_ref)
            .await?
            .filter(|p| p.tenant_id == stored.tenant_id)
            .ok_or_else(|| Refused::WrongReference(event.provider_ref.clone()))?;
        self.apply(&payment, event, "callback").await?;
        Ok(provider.callback_ack())
    }

    /// A callback at a payment's own URL: the body's reference must be that payment's.
    async fn settle_payment_callback(&self, kind: ProviderKind, hash: &str, headers: &HeaderMap, body: &[u8]) -> Result<Value, Refused> {
        let context = self.store.callback_context(hash).await?.filter(|c| c.payment.provider == kind).ok_or(Refused::UnknownToken)?;
        let stored = context.provider.ok_or_else(|| Refused::Internal(anyhow::anyhow!("no settings for the payment's provider")))?;
        let provider = self.provider_from(&stored)?;
        let event = provider.parse_callback(headers, body)?;
        let payment = context.payment;
        let matches = payment.provider_ref.as_deref() == Some(event.provider_ref.as_str())
            || payment.secondary_ref.as_deref() == Some(event.provider_ref.as_str());
        if !matches {
            return Err(Refused::WrongReference(event.provider_ref));
        }
        self.apply_with_plan(&payment, Some(context.plan), event, "callback").await?;
        Ok(provider.callback_ack())
    }

    /// Applies a provider's word to a payment. Idempotent: a repeated success finds the
    /// payment paid and does nothing.
    pub async fn apply(&self, payment: &Payment, event: ProviderEvent, source: &str) -> Result<(), Refused> {
        self.apply_with_plan(payment, None, event, source).await
    }

    /// [`Payments::apply`] with the payment's plan when the caller already has it.
    async fn apply_with_plan(&self, payment: &Payment, plan: Option<Plan>, event: ProviderEvent, source: &str) -> Result<(), Refused> {
        if let Some(paid) = event.amount_kes
            && event.status == PaymentStatus::Paid
            && paid != payment.amount_kes
        {
            return Err(Refused::WrongAmount { paid, expected: payment.amount_kes });
        }
        let detail = format!("{} {}", event.code, event.description);
        let heard = Heard { source, detail: detail.trim() };
        match event.status {
            PaymentStatus::Pending => Ok(self.store.add_payment_event(payment.id, source, heard.detail, now_ms()).await?),
            PaymentStatus::Failed(reason) => {
                let (state, text) = failure_state(&reason);
                if self.store.mark_failed(payment.id, state, &text, Some(heard), now_ms()).await? {
                    tracing::info!(payment = %payment.id, reason = %text, "payment failed");
                    self.changed_payment(payment.id);
                }
                Ok(())
            }
            PaymentStatus::Paid => self.provision(payment, plan, event.receipt.as_deref(), heard).await,
        }
    }

    /// Records the payment paid and, in the same transaction, its entitlement and the
    /// router commands; then wakes the router's session.
    async fn provision(&self, payment: &Payment, plan: Option<Plan>, receipt: Option<&str>, heard: Heard<'_>) -> Result<(), Refused> {
        let plan = match plan {
            Some(plan) => plan,
            None => self
                .store
                .plan(payment.plan_id)
                .await?
                .ok_or_else(|| Refused::Internal(anyhow::anyhow!("plan {} vanished", payment.plan_id)))?,
        };
        for _ in 0..5 {
            let provision = provision_for(payment, &plan, receipt);
            match self.store.mark_paid(payment.id, receipt, &provision, Some(heard), now_ms()).await {
                Ok(PaidOutcome::Provisioned(entitlement)) => {
                    // The receipt is left out: with the phone it moves the plan ("Already paid?").
                    tracing::info!(payment = %payment.id, router = %payment.router_id, user = %entitlement.username, "payment paid; user provisioned");
                    self.hub.wake(payment.router_id);
                    self.changed_payment(payment.id);
                    return Ok(());
                }
                Ok(PaidOutcome::AlreadyPaid) => return Ok(()),
                // The generated username was taken on this router: draw another.
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Refused::Internal(anyhow::anyhow!("could not draw a free username")))
    }
}

/// The state and reason recorded for a failure.
fn failure_state(reason: &FailureReason) -> (PaymentState, String) {
    match reason {
        FailureReason::Cancelled => (PaymentState::Cancelled, "cancelled".into()),
        FailureReason::Timeout => (PaymentState::TimedOut, "timeout".into()),
        FailureReason::WrongPin => (PaymentState::Failed, "wrong_pin".into()),
        FailureReason::InsufficientFunds => (PaymentState::Failed, "insufficient_funds".into()),
        FailureReason::LimitExceeded => (PaymentState::Failed, "limit_exceeded".into()),
        FailureReason::Busy => (PaymentState::Failed, "busy".into()),
        FailureReason::Other(text) => (PaymentState::Failed, format!("provider: {text}")),
    }
}

/// Unambiguous characters for codes people type (no 0/O, 1/I/L).
const CODE_CHARS: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// The hotspot user a plan buys: its profile and data limit, bound to `mac`, ending at
/// `expires_at` (Unix seconds), named in the comment with the receipt. The portal's
/// "already paid?" rebinds the same user to a new device with it.
pub(crate) fn plan_user(
    plan: &Plan,
    name: &str,
    password: &str,
    mac: Option<MacAddress>,
    expires_at: i64,
    receipt: Option<&str>,
) -> HotspotUser {
    HotspotUser {
        name: name.to_string(),
        password: Password(password.to_string()),
        profile: plan.profile.clone(),
        mac,
        expires_at: Some(UnixTime(expires_at)),
        limit_uptime_secs: None,
        limit_bytes_total: plan.data_mb.map(|mb| mb * 1024 * 1024),
        comment: Some(format!("{} {}", plan.name, receipt.unwrap_or("")).trim().chars().take(120).collect()),
    }
}

fn provision_for(payment: &Payment, plan: &Plan, receipt: Option<&str>) -> Provision {
    let mut rng = rand::rng();
    let username: String = (0..6).map(|_| CODE_CHARS[rng.random_range(0..CODE_CHARS.len())] as char).collect();
    let password: String = (0..6).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect();
    let expires_at = now_ms() / 1000 + plan.duration_secs as i64;
    let user = plan_user(plan, &username, &password, payment.device_mac, expires_at, receipt);
    let login = match (payment.device_mac, payment.device_ip) {
        (Some(mac), Some(ip)) => Some(Command::LoginDevice { user: username.clone(), password: Password(password.clone()), mac, ip }),
        _ => None,
    };
    Provision { username, password, expires_at, upsert: Command::UpsertHotspotUser(user), login }
}
