//! Paystack mobile-money charge (M-Pesa, Kenya): the charge, the signed `charge.success`
//! webhook, and Verify. Bearer secret key on every call; the same key signs webhooks.
//!
//! - `wire`: the charge and Verify answers.
//! - `email`: the customer e-mail the charge requires.
//! - `webhook`: the signed webhook.

mod email;
mod webhook;
mod wire;

use async_trait::async_trait;
use http::HeaderMap;
use serde_json::{Value, json};

pub use email::EmailDomain;
pub use webhook::{SIGNATURE_HEADER, sign};

use super::{
    CallbackError, Provider, ProviderConfig, ProviderError, ProviderEvent, ProviderKind, PushAccepted, PushRequest, Reply, Secret,
    base_url, check_msisdn, transport_error,
};

/// Paystack calls the one webhook URL set on the tenant's Paystack dashboard.
pub const CALLBACK_SCOPE: super::CallbackScope = super::CallbackScope::PerTenant;

/// Production API (test and live differ only by the key).
pub const PRODUCTION_URL: &str = "https://api.paystack.co";

/// One tenant's Paystack client.
pub struct Paystack {
    http: reqwest::Client,
    base: String,
    secret_key: Secret,
    email_domain: EmailDomain,
}

impl Paystack {
    /// A client for these settings.
    ///
    /// # Panics
    /// If `config` is not [`ProviderConfig::Paystack`] (`build()` never does that).
    pub fn new(config: ProviderConfig, http: reqwest::Client) -> Self {
        let ProviderConfig::Paystack { secret_key, base_url: base } = config else {
            panic!("Paystack::new needs Paystack settings, got {:?}", config.kind());
        };
        Paystack { http, base: base_url(base.as_deref(), PRODUCTION_URL), secret_key, email_domain: EmailDomain::default() }
    }

    /// The same client, making customer e-mails on `domain`.
    pub fn with_email_domain(mut self, domain: EmailDomain) -> Self {
        self.email_domain = domain;
        self
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Reply, ProviderError> {
        let response = request.bearer_auth(&self.secret_key.0).send().await.map_err(|e| transport_error(ProviderKind::Paystack, &e))?;
        Reply::read(ProviderKind::Paystack, response).await
    }
}

#[async_trait]
impl Provider for Paystack {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Paystack
    }

    /// `GET /balance`: a read that needs the secret key and moves no money; says the
    /// integration's balances.
    async fn check(&self) -> Option<Result<String, ProviderError>> {
        let reply = match self.send(self.http.get(format!("{}/balance", self.base))).await {
            Ok(reply) => reply,
            Err(error) => return Some(Err(error)),
        };
        let said = wire::balance_said(&reply);
        match &said {
            Ok(_) => tracing::info!(provider = "paystack", "credentials checked: the balance answered"),
            Err(error) => tracing::warn!(provider = "paystack", status = %reply.status, %error, "balance refused"),
        }
        Some(said)
    }

    /// `POST /charge` with provider `mpesa`; the amount goes in cents. The provider
    /// reference is our payment id, sent as Paystack's `reference`.
    async fn initiate(&self, request: &PushRequest) -> Result<PushAccepted, ProviderError> {
        check_msisdn(&request.msisdn)?;
        let reference = request.payment_id.to_string();
        let body = json!({
            "email": self.email_domain.address(&request.msisdn),
            "amount": u64::from(request.amount_kes) * 100,
            "currency": "KES",
            "mobile_money": {"phone": format!("+{}", request.msisdn), "provider": "mpesa"},
            "reference": reference,
            "metadata": {"account_reference": request.account_reference, "description": request.description},
        });
        let reply = self.send(self.http.post(format!("{}/charge", self.base)).json(&body)).await?;
        let result = wire::charge_result(&reply, &reference);
        let state = reply.body.pointer("/data/status").and_then(Value::as_str);
        match &result {
            Ok(accepted) => tracing::info!(provider = "paystack", provider_ref = %accepted.provider_ref, code = state, "charge accepted"),
            Err(error) => {
                tracing::warn!(provider = "paystack", provider_ref = %reference, status = %reply.status, %error, "charge refused")
            }
        }
        result
    }

    /// Our payment id, which is the charge's `reference` (see `initiate`).
    fn reference_before_answer(&self, payment: uuid::Uuid) -> Option<String> {
        Some(payment.to_string())
    }

    /// `GET /transaction/verify/{reference}`.
    async fn query(&self, provider_ref: &str) -> Result<ProviderEvent, ProviderError> {
        let mut url = reqwest::Url::parse(&self.base).map_err(|e| ProviderError::Rejected {
            code: "config".to_owned(),
            message: format!("Paystack base URL {:?}: {e}", self.base),
        })?;
        url.path_segments_mut()
            .map_err(|()| ProviderError::Rejected { code: "config".to_owned(), message: "Paystack base URL".to_owned() })?
            .pop_if_empty()
            .extend(["transaction", "verify", provider_ref]);
        let reply = self.send(self.http.get(url)).await?;
        let result = wire::verify_event(provider_ref, &reply);
        match &result {
            Ok(event) => tracing::info!(provider = "paystack", provider_ref, code = %event.code, status = ?event.status, "verify answered"),
            Err(error) => tracing::warn!(provider = "paystack", provider_ref, status = %reply.status, %error, "verify refused"),
        }
        result
    }

    /// Checks `x-paystack-signature` (HMAC-SHA512 of the raw body with the secret key) and
    /// reads `charge.success`; other events are [`CallbackError::Ignored`].
    fn parse_callback(&self, headers: &HeaderMap, body: &[u8]) -> Result<ProviderEvent, CallbackError> {
        let signature = headers.get(SIGNATURE_HEADER).map(|value| value.as_bytes());
        let result = webhook::webhook_event(&self.secret_key, signature, body);
        match &result {
            Ok(event) => tracing::info!(provider = "paystack", provider_ref = %event.provider_ref, code = %event.code, "webhook"),
            Err(error) => tracing::warn!(provider = "paystack", %error, "webhook not used"),
        }
        result
    }

    fn callback_ack(&self) -> Value {
        json!({"status": "ok"})
    }
}
