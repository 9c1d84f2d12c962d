//! Starting payments and showing them to the portal.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jasiyo_shared::{MacAddress, RouterId};

use super::answer::PushAnswer;
use super::held::{HeldPolls, HoldLimits};
use super::limits::{LimitConfig, LimitHit, RateLimits};
use super::phone::{Msisdn, PhoneError};
use super::providers_config::callback_url;
use super::sealer::Sealer;
use super::token_cache::StoreTokens;
use super::view::PaymentView;
use crate::hub::Hub;
use crate::model::TenantId;
use crate::model::{NewPayment, Payment, PaymentId, PaymentState, StoredProvider};
use crate::providers::paystack::EmailDomain;
use crate::providers::{self, HttpSettings, Provider, ProviderConfig, ProviderError, ProviderKind, ProviderOptions, PushRequest};
use crate::store::payments::{PaymentProgress, PortalQuery};
use crate::store::{Store, StoreError, now_ms};
use crate::token::{AgentToken, hash_token};

/// How payments behave.
#[derive(Clone, Debug)]
pub struct PaymentsConfig {
    /// How providers reach this cloud (`https://cloud.example`): callback URLs start here.
    pub public_url: String,
    /// How long the portal waits for the customer before saying so (the countdown; at
    /// least the provider's own window, see `paystack_window`).
    pub portal_wait: Duration,
    /// How long Paystack gives a mobile-money customer (about 180 s): `abandoned` is not a
    /// failure before then, and reconciliation does not ask Verify before then.
    pub paystack_window: Duration,
    /// When reconciliation first asks the provider about a payment without a final word.
    pub first_check_after: Duration,
    /// How often it asks again.
    pub check_every: Duration,
    /// When it stops asking and calls the payment timed out, once the provider has answered
    /// "not yet" (a later success is still honoured).
    pub give_up_after: Duration,
    /// How long it keeps asking a provider that does not answer (busy, down, timing out),
    /// less often as time goes on, before calling the payment timed out.
    pub keep_asking_for: Duration,
    /// The longest wait between two questions about one payment.
    pub max_check_every: Duration,
    /// How many of one tenant's payments are asked about at once (tenants go side by side).
    pub checks_per_tenant: usize,
    /// Attempt limits on starting payments.
    pub limits: LimitConfig,
    /// Attempt limits on "already paid?" receipt codes (per code, device and address).
    pub recover_limits: LimitConfig,
    /// Provider HTTP settings.
    pub http: HttpSettings,
    /// What the operator sets for every provider (Paystack's customer e-mail domain, by
    /// default from `public_url`).
    pub providers: ProviderOptions,
    /// How often the reconciler looks for due checks.
    pub reconcile_tick: Duration,
    /// How many portal long polls may be held at once.
    pub holds: HoldLimits,
    /// Where payments, provider calls and refusals are counted.
    pub metrics: crate::metrics::Metrics,
}

impl PaymentsConfig {
    /// Production defaults for a cloud reachable at `public_url`.
    pub fn new(public_url: impl Into<String>) -> PaymentsConfig {
        let public_url = public_url.into();
        PaymentsConfig {
            providers: ProviderOptions { paystack_email_domain: EmailDomain::for_public_url(&public_url) },
            public_url,
            portal_wait: Duration::from_secs(90),
            paystack_window: Duration::from_secs(180),
            first_check_after: Duration::from_secs(10),
            check_every: Duration::from_secs(20),
            give_up_after: Duration::from_secs(5 * 60),
            keep_asking_for: Duration::from_secs(24 * 3600),
            max_check_every: Duration::from_secs(30 * 60),
            checks_per_tenant: 32,
            limits: LimitConfig::default(),
            recover_limits: LimitConfig::default(),
            http: HttpSettings::default(),
            reconcile_tick: Duration::from_secs(1),
            holds: HoldLimits::default(),
            metrics: crate::metrics::Metrics::default(),
        }
    }
}

/// What the portal asks for.
// Debug hides its secrets: crate::redact.
#[derive(Clone, Default)]
pub struct InitiateRequest {
    /// The plan chosen.
    pub plan_id: String,
    /// The phone as typed.
    pub phone: String,
    /// The device's MAC, from the hotspot's `$(mac)`.
    pub mac: Option<String>,
    /// The device's IP, from the hotspot's `$(ip)`.
    pub ip: Option<String>,
    /// A key the portal generates per attempt: a retried request returns the same payment.
    pub idempotency_key: String,
    /// The address the request came from.
    pub client_ip: Option<String>,
}

/// Why the portal cannot start a payment; each maps to a clear message.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// Unknown (or revoked) router.
    #[error("this hotspot is not registered")]
    RouterNotFound,
    /// Unknown plan, or not this router's.
    #[error("that plan is not available here")]
    PlanNotFound,
    /// The phone number is wrong.
    #[error("{0}")]
    InvalidPhone(#[from] PhoneError),
    /// Something else in the request is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// A prompt is already waiting on this phone or device (which payment is not said: it
    /// may be another customer's).
    #[error("a payment prompt is already waiting on this phone; approve or cancel it first")]
    InFlight,
    /// Too many attempts.
    #[error("too many attempts; please wait a few minutes and try again")]
    RateLimited(LimitHit),
    /// The owner has not set up payments.
    #[error("this hotspot cannot take payments yet")]
    NoProvider,
    /// The provider refused or failed.
    #[error("{0}")]
    Provider(ProviderError),
    /// Our fault.
    #[error("something went wrong on our side; please try again")]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for PortalError {
    fn from(error: StoreError) -> Self {
        PortalError::Internal(error.into())
    }
}

/// Providers built from tenants' sealed settings (per provider: a tenant's payments in
/// flight may still be on one it switched away from), with the sealed text they came from.
type ProviderCache = HashMap<(TenantId, ProviderKind), (String, Arc<dyn Provider>)>;

/// The payments service.
pub struct Payments {
    pub(super) store: Arc<dyn Store>,
    pub(super) hub: Arc<Hub>,
    pub(super) config: PaymentsConfig,
    pub(super) sealer: Sealer,
    http: reqwest::Client,
    pub(super) limits: RateLimits,
    pub(super) recover_limits: RateLimits,
    providers: Mutex<ProviderCache>,
    tokens: Arc<StoreTokens>,
    /// Bumped whenever a payment changes, so tests and pushes can wait on it.
    pub(super) changes: tokio::sync::watch::Sender<u64>,
    /// The portal's long polls, woken per payment.
    pub(super) held: Arc<HeldPolls>,
}

impl Payments {
    /// The service over `store`, delivering commands through `hub`.
    pub fn new(store: Arc<dyn Store>, hub: Arc<Hub>, sealer: Sealer, config: PaymentsConfig) -> anyhow::Result<Arc<Payments>> {
        let http = reqwest::Client::builder().timeout(config.http.timeout).build()?;
        let limits = RateLimits::new(config.limits);
        let recover_limits = RateLimits::new(config.recover_limits);
        let tokens = Arc::new(StoreTokens::new(store.clone()));
        let held = HeldPolls::new(config.holds);
        Ok(Arc::new(Payments {
            store,
            hub,
            config,
            sealer,
            http,
            limits,
            recover_limits,
            providers: Mutex::default(),
            tokens,
            changes: tokio::sync::watch::channel(0).0,
            held,
        }))
    }

    /// Follows changes to any payment.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    pub(super) fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// How it was configured (the portal reads the public URL and the countdown).
    pub fn config(&self) -> &PaymentsConfig {
        &self.config
    }

    /// The limiter on codes typed on the portal (receipts, vouchers): per code, device, address.
    pub fn code_limits(&self) -> &RateLimits {
        &self.recover_limits
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The operator's sealing key, which seals what is kept secret at rest (provider
    /// credentials, alert webhook secrets).
    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// Seals provider settings for storage.
    pub fn seal(&self, config: &ProviderConfig) -> anyhow::Result<String> {
        Ok(self.sealer.seal(serde_json::to_string(config)?.as_bytes())?)
    }

    /// The provider a payment was started with, built from the tenant's settings for it
    /// (current, or kept since the tenant switched to another).
    pub async fn provider_for(&self, payment: &Payment) -> Result<Arc<dyn Provider>, PortalError> {
        let stored = self.store.provider_settings(payment.tenant_id, payment.provider).await?.ok_or(PortalError::NoProvider)?;
        self.provider_from(&stored)
    }

    /// The provider for stored settings (built once, cached until the settings change).
    pub(super) fn provider_from(&self, stored: &StoredProvider) -> Result<Arc<dyn Provider>, PortalError> {
        let key = (stored.tenant_id, stored.kind);
        let mut cache = self.providers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((known, provider)) = cache.get(&key)
            && *known == stored.sealed
        {
            return Ok(provider.clone());
        }
        let config = super::providers_config::open_settings(&self.sealer, stored).map_err(|e| PortalError::Internal(e.into()))?;
        let provider = providers::build_with(&config, &self.http, self.tokens.clone(), &self.config.providers);
        cache.insert(key, (stored.sealed.clone(), provider.clone()));
        Ok(provider)
    }

    /// Starts a payment: checks everything, records it, sends the STK push.
    pub async fn initiate(&self, router_id: RouterId, request: InitiateRequest) -> Result<PaymentView, PortalError> {
        let key = request.idempotency_key.trim();
        if key.is_empty() || key.len() > 100 {
            return Err(PortalError::BadRequest("missing or overlong idempotency key".into()));
        }
        let msisdn = Msisdn::parse(&request.phone)?;
        let mac: Option<MacAddress> = request
            .mac
            .as_deref()
            .filter(|m| !m.is_empty())
            .map(|m| m.parse().map_err(|_| PortalError::BadRequest("the device address (MAC) is not valid".into())))
            .transpose()?;
        let ip: Option<Ipv4Addr> = request
            .ip
            .as_deref()
            .filter(|i| !i.is_empty())
            .map(|i| i.parse().map_err(|_| PortalError::BadRequest("the device address (IP) is not valid".into())))
            .transpose()?;
        let now = now_ms();
        let mac_text = mac.map(|m| m.to_string());
        // The caller's limits first, before anything is looked up: a flood costs no query.
        self.check_attempt(msisdn.as_str(), mac_text.as_deref(), request.client_ip.as_deref())
            .await
            .inspect_err(|e| self.count_refusal(e))?;
        let query = PortalQuery {
            router: router_id,
            plan: request.plan_id.parse().ok(),
            idempotency_key: key,
            msisdn: msisdn.as_str(),
            mac: mac_text.as_deref(),
            in_flight_since_ms: now - self.config.give_up_after.as_millis() as i64,
        };
        let context = self.store.portal_context(query).await?.filter(|c| !c.revoked).ok_or(PortalError::RouterNotFound)?;
        if let Some(existing) = context.existing {
            // A retried request (it holds the idempotency key): the payment it started.
            return self.own_view(existing).await;
        }
        let plan = context.plan.filter(|p| p.active).ok_or(PortalError::PlanNotFound)?;
        if context.in_flight.is_some() {
            return Err(PortalError::InFlight);
        }
        // A valid attempt that will prompt: only now does it spend the shared budgets.
        let caller = (msisdn.as_str(), mac_text.as_deref(), request.client_ip.as_deref());
        self.check_shared_budgets(router_id, context.tenant_id, caller).await.inspect_err(|e| self.count_refusal(e))?;
        let stored = context.provider.ok_or(PortalError::NoProvider)?;
        let provider = self.provider_from(&stored)?;

        let callback_token = AgentToken::generate();
        let new = NewPayment {
            id: PaymentId::random(),
            tenant_id: context.tenant_id,
            router_id,
            plan_id: plan.id,
            provider: provider.kind(),
            amount_kes: plan.price_kes,
            msisdn: msisdn.as_str().to_string(),
            device_mac: mac,
            device_ip: ip,
            client_ip: request.client_ip.clone(),
            idempotency_key: key.to_string(),
            callback_token_hash: callback_token.hash(),
            first_check_at: self.first_check_at(provider.kind(), now),
        };
        // One prompt at a time per phone and per device on this router, held by the
        // database (concurrent requests cannot both pass a read).
        let mut slots = vec![format!("phone:{}", msisdn.as_str())];
        slots.extend(mac_text.as_deref().map(|m| format!("mac:{m}")));
        let until = now + self.config.give_up_after.as_millis() as i64;
        if !self.store.claim_prompt(router_id, &slots, new.id, now, until).await? {
            return Err(PortalError::InFlight);
        }
        let mut payment = match self.store.create_payment(&new, now).await {
            Ok(payment) => payment,
            // The same key raced in twice: answer with the payment that won.
            Err(StoreError::Conflict(_)) => {
                let existing = self.store.payment_by_idempotency(router_id, key).await?.ok_or(PortalError::BadRequest("retry".into()))?;
                return self.own_view(existing.id).await;
            }
            Err(e) => return Err(e.into()),
        };
        tracing::info!(payment = %payment.id, router = %router_id, amount = plan.price_kes, provider = provider.kind().as_str(), "payment initiated");
        self.metrics().payment(provider.kind().as_str(), "started");
        let push = PushRequest {
            payment_id: payment.id.0,
            amount_kes: plan.price_kes,
            msisdn: msisdn.as_str().to_string(),
            account_reference: account_reference(&context.router_name),
            description: "WiFi".into(),
            callback_url: callback_url(&self.config.public_url, provider.kind(), callback_token.expose()),
        };
        match self.timed_push(provider.as_ref(), &push).await {
            Ok(accepted) => {
                let answer = PushAnswer {
                    payment: payment.id,
                    provider_ref: accepted.provider_ref,
                    secondary_ref: accepted.secondary_ref,
                    next_check_ms: self.first_check_at(provider.kind(), now_ms()),
                };
                if self.record_push_answer(answer.clone()).await {
                    self.changed();
                    // What was just written, without reading it back.
                    payment.state = PaymentState::Pending;
                    payment.provider_ref = Some(answer.provider_ref);
                    payment.secondary_ref = answer.secondary_ref;
                }
            }
            // No answer (timeout, server error): the push may still have reached the phone,
            // so the payment stays open; its callback or reconciliation settles it.
            // The portal is told so (`unconfirmed`), and keeps following the payment.
            Err(error @ ProviderError::Unavailable(_)) => {
                tracing::warn!(payment = %payment.id, %error, "STK push unanswered; the payment stays open");
                self.store.add_payment_event(payment.id, "push_unanswered", &error.to_string(), now_ms()).await?;
            }
            Err(error) => {
                tracing::warn!(payment = %payment.id, %error, "STK push refused");
                self.metrics().payment(provider.kind().as_str(), "push_refused");
                self.store.mark_failed(payment.id, PaymentState::Failed, &format!("provider: {error}"), None, now_ms()).await?;
                self.changed();
                return Err(PortalError::Provider(error));
            }
        }
        let mut view = self.view_of(PaymentProgress { payment, entitlement: None, command: None });
        view.hint = msisdn.hint();
        view.view_key = Some(self.sealer.view_key(view.id));
        Ok(view)
    }

    /// The payment, for callers that need all of it.
    pub async fn payment(&self, id: PaymentId) -> Result<Option<Payment>, PortalError> {
        Ok(self.store.payment(id).await?)
    }

    /// Hash used to look up callback tokens.
    pub(super) fn token_hash(token: &str) -> String {
        hash_token(token)
    }
}

/// Daraja's AccountReference: shown on the prompt, at most 12 characters, alphanumeric.
fn account_reference(router_name: &str) -> String {
    let cleaned: String = router_name.chars().filter(|c| c.is_ascii_alphanumeric()).take(12).collect();
    if cleaned.is_empty() { "WIFI".into() } else { cleaned }
}
