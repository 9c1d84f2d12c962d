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
use crate::model::{Payment, PaymentId, PaymentState, Plan, TenantId};
use crate::providers::{CallbackError, CallbackScope, FailureReason, PaymentStatus, Provider, ProviderEvent, ProviderKind};
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
    /// A success for another phone than the one the prompt went to.
    #[error("the callback names another phone than the payment's")]
    WrongPhone,
    /// An unsigned callback reports a success for a payment that had already failed, and a
    /// status query did not confirm it; nothing is provisioned (the operator can check and
    /// `payment settle` it).
    #[error("success for a {state} payment not confirmed by the provider: {why}")]
    Unconfirmed {
        /// What the payment was.
        state: &'static str,
        /// What the status query said.
        why: String,
    },
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
                self.metrics().callback_refused(kind.as_str(), refused.label());
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
        // The tenant's account signs every sale it makes, ours or not: one that is not ours
        // is acknowledged (a refusal would be retried for days) and changes nothing.
        let found = match self.store.payment_by_provider_ref(kind, &event.provider_ref).await? {
            Some(payment) => Some(payment),
            None => self.payment_by_own_reference(provider.as_ref(), stored.tenant_id, &event.provider_ref).await?,
        };
        let payment = found
            .filter(|p| p.tenant_id == stored.tenant_id)
            .ok_or_else(|| CallbackError::Ignored(format!("reference {} is not a payment of ours", event.provider_ref)))?;
        self.apply(&payment, event, "callback").await?;
        Ok(provider.callback_ack())
    }

    /// The payment a reference we chose names (Paystack's is our payment id) when the push's
    /// answer, which would have recorded it, never was: the reference is recorded now.
    async fn payment_by_own_reference(
        &self,
        provider: &dyn Provider,
        tenant: TenantId,
        reference: &str,
    ) -> Result<Option<Payment>, Refused> {
        let Ok(id) = reference.parse::<PaymentId>() else { return Ok(None) };
        let Some(mut payment) = self.store.payment(id).await? else { return Ok(None) };
        let ours = payment.tenant_id == tenant
            && payment.provider == provider.kind()
            && provider.reference_before_answer(id.0).as_deref() == Some(reference);
        if !ours || payment.provider_ref.is_some() {
            return Ok(None);
        }
        if self.store.adopt_reference(id, Some(reference), None, now_ms()).await? {
            tracing::warn!(payment = %id, provider = provider.kind().as_str(), "webhook for a payment whose push answer was never recorded; its reference adopted");
        }
        payment.provider_ref = Some(reference.to_owned());
        Ok(Some(payment))
    }

    /// A callback at a payment's own URL: the body's reference must be that payment's.
    async fn settle_payment_callback(&self, kind: ProviderKind, hash: &str, headers: &HeaderMap, body: &[u8]) -> Result<Value, Refused> {
        let context = self.store.callback_context(hash).await?.filter(|c| c.payment.provider == kind).ok_or(Refused::UnknownToken)?;
        let stored = context.provider.ok_or_else(|| Refused::Internal(anyhow::anyhow!("no settings for the payment's provider")))?;
        let provider = self.provider_from(&stored)?;
        let event = provider.parse_callback(headers, body)?;
        let mut payment = context.payment;
        // PayHero echoes our payment id as `ExternalReference`: that names the payment when
        // the provider's reference cannot (the push's answer brought no CheckoutRequestID, or
        // the callback has none); one naming another payment, or a CheckoutRequestID other
        // than the one the payment knows, is refused.
        let own_id = payment.id.to_string();
        let names_us = event.our_ref.as_deref() == Some(own_id.as_str());
        let names_another = event.our_ref.is_some() && !names_us;
        let unknown_ref = event.provider_ref.is_empty() || event.our_ref.as_deref() == Some(event.provider_ref.as_str());
        if payment.provider_ref.is_none() && payment.secondary_ref.is_none() && !unknown_ref {
            // The push's answer was never recorded (the process died during the call, or the
            // write failed). The token in the URL was made for this payment alone, so the
            // reference the callback brings is this payment's.
            let reference = Some(event.provider_ref.clone());
            if kind.callback_carries_secondary_ref() {
                payment.secondary_ref = reference;
            } else {
                payment.provider_ref = reference;
            }
            self.store.adopt_reference(payment.id, payment.provider_ref.as_deref(), payment.secondary_ref.as_deref(), now_ms()).await?;
            tracing::warn!(payment = %payment.id, provider = kind.as_str(), "callback for a payment whose push answer was never recorded; its reference adopted");
        }
        let matches = payment.provider_ref.as_deref() == Some(event.provider_ref.as_str())
            || payment.secondary_ref.as_deref() == Some(event.provider_ref.as_str());
        let contradicted = !unknown_ref && (payment.secondary_ref.is_some() || !kind.callback_carries_secondary_ref());
        if names_another || !(matches || (names_us && !contradicted)) {
            return Err(Refused::WrongReference(event.provider_ref));
        }
        if !matches {
            tracing::info!(payment = %payment.id, provider = kind.as_str(), reference = %event.provider_ref, "callback matched by our own reference");
        }
        let event = self.confirm_late_success(&payment, provider.as_ref(), event).await?;
        self.apply_with_plan(&payment, Some(context.plan), event, "callback").await?;
        Ok(provider.callback_ack())
    }

    /// An unsigned callback's success for a payment that already failed (cancelled, timed
    /// out) is believed only when a status query says paid too: anyone who learns a
    /// callback URL could otherwise turn a cancelled payment into access.
    async fn confirm_late_success(
        &self,
        payment: &Payment,
        provider: &dyn Provider,
        event: ProviderEvent,
    ) -> Result<ProviderEvent, Refused> {
        if event.status != PaymentStatus::Paid
            || !matches!(payment.state, PaymentState::Failed | PaymentState::Cancelled | PaymentState::TimedOut)
        {
            return Ok(event);
        }
        let state = payment.state.as_str();
        let why = match payment.provider_ref.as_deref() {
            None => "no reference to ask the provider about".to_owned(),
            Some(reference) => match provider.query(reference).await {
                Ok(answer) if answer.status == PaymentStatus::Paid => {
                    tracing::info!(payment = %payment.id, "late success confirmed by a status query");
                    return Ok(event);
                }
                Ok(answer) => format!("the provider says {:?} ({})", answer.status, answer.code),
                Err(error) => error.to_string(),
            },
        };
        let detail = format!("a success callback for this {state} payment was not confirmed: {why}");
        self.store.add_payment_event(payment.id, "callback_unconfirmed", &detail, now_ms()).await?;
        Err(Refused::Unconfirmed { state, why })
    }

    /// Applies a provider's word to a payment. Idempotent: a repeated success finds the
    /// payment paid and does nothing.
    pub async fn apply(&self, payment: &Payment, event: ProviderEvent, source: &str) -> Result<(), Refused> {
        self.apply_with_plan(payment, None, event, source).await
    }

    /// [`Payments::apply`] with the payment's plan when the caller already has it.
    async fn apply_with_plan(&self, payment: &Payment, plan: Option<Plan>, event: ProviderEvent, source: &str) -> Result<(), Refused> {
        let event = self.within_window(payment, event);
        if let Some(paid) = event.amount_kes
            && event.status == PaymentStatus::Paid
            && paid != payment.amount_kes
        {
            return Err(Refused::WrongAmount { paid, expected: payment.amount_kes });
        }
        if event.status == PaymentStatus::Paid && event.msisdn.as_deref().is_some_and(|sent| !same_phone(sent, &payment.msisdn)) {
            return Err(Refused::WrongPhone);
        }
        let detail = format!("{} {}", event.code, event.description);
        let heard = Heard { source, detail: detail.trim() };
        match event.status {
            PaymentStatus::Pending => Ok(self.store.add_payment_event(payment.id, source, heard.detail, now_ms()).await?),
            PaymentStatus::Failed(reason) => {
                let (state, text) = failure_state(&reason);
                if self.store.mark_failed(payment.id, state, &text, Some(heard), now_ms()).await? {
                    tracing::info!(payment = %payment.id, reason = %text, "payment failed");
                    self.count_final(payment, state.as_str(), heard.source);
                    self.changed_payment(payment.id);
                }
                Ok(())
            }
            PaymentStatus::Paid => self.provision(payment, plan, event.receipt.as_deref(), heard).await,
        }
    }

    /// Records the payment paid and, in the same transaction, its entitlement and the
    /// router commands; then wakes the router's session.
    pub(super) async fn provision(
        &self,
        payment: &Payment,
        plan: Option<Plan>,
        receipt: Option<&str>,
        heard: Heard<'_>,
    ) -> Result<(), Refused> {
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
                    self.count_final(payment, "paid", heard.source);
                    self.hub.wake(payment.router_id);
                    self.changed_payment(payment.id);
                    return Ok(());
                }
                Ok(PaidOutcome::AlreadyPaid) => {
                    // A status query settled it and the callback brings the receipt: keep it.
                    if let Some(receipt) = receipt
                        && self.store.record_late_receipt(payment.id, receipt, now_ms()).await?
                    {
                        tracing::info!(payment = %payment.id, "receipt recorded after the payment was settled");
                        self.changed_payment(payment.id);
                    }
                    return Ok(());
                }
                // The generated username was taken on this router: draw another.
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Refused::Internal(anyhow::anyhow!("could not draw a free username")))
    }
}

/// Whether a phone a provider reports is the payment's (`2547XXXXXXXX`), in any form a
/// phone is written (`07…`, `+254…`). A masked number (`2547*****678`) is compared on the
/// digits it shows.
fn same_phone(sent: &str, expected: &str) -> bool {
    if let Ok(sent) = super::phone::Msisdn::parse(sent) {
        return sent.as_str() == expected;
    }
    let sent = sent.trim().trim_start_matches('+');
    if sent.len() != expected.len() {
        return false;
    }
    sent.chars().zip(expected.chars()).all(|(s, e)| s == e || !s.is_ascii_digit())
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

/// The hotspot user a plan buys: its profile, data limit and (as the router's own backstop)
/// an uptime limit of the plan's length, bound to `mac` (unless the plan lets several
/// devices share the login), ending at `expires_at` (Unix
/// seconds), named in the comment with the receipt. The portal's "already paid?" rebinds
/// the same user to a new device with it.
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
        // The owner's own profile; one of ours is set by [`plan_upsert`].
        profile: plan.profile.clone(),
        // A login several devices may share is not bound to the first one.
        mac: mac.filter(|_| plan.shared_users.unwrap_or(1) <= 1),
        expires_at: Some(UnixTime(expires_at)),
        // The router's own backstop: online time can never exceed the plan's length, so
        // access ends even if the agent is down at expiry (and never early: uptime only
        // counts while logged in).
        limit_uptime_secs: Some(plan.duration_secs),
        limit_bytes_total: plan.data_mb.map(|mb| mb * 1024 * 1024),
        comment: Some(format!("{} {}", plan.name, receipt.unwrap_or("")).trim().chars().take(120).collect()),
    }
}

/// The command putting `user` (made by [`plan_user`]) on the router: in the profile we keep
/// for its plan, when there is one (its speed and devices per login), sent with the user so
/// the router has the profile before the user goes in it.
pub(crate) fn plan_upsert(plan: &Plan, user: HotspotUser) -> Command {
    match plan.managed_profile() {
        Some(profile) => Command::UpsertHotspotUserInProfile { user: HotspotUser { profile: Some(profile.name.clone()), ..user }, profile },
        None => Command::UpsertHotspotUser(user),
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
    Provision { username, password, expires_at, upsert: plan_upsert(plan, user), login }
}

#[cfg(test)]
mod tests {
    use super::same_phone;

    #[test]
    fn a_reported_phone_matches_in_any_written_form_and_masked() {
        for sent in ["254712345678", "+254712345678", "0712345678", "712345678", "2547****5678"] {
            assert!(same_phone(sent, "254712345678"), "{sent}");
        }
        for sent in ["254712345679", "0712345679", "2547****5679", "25471234567", ""] {
            assert!(!same_phone(sent, "254712345678"), "{sent}");
        }
    }
}
