//! Payment providers: one module each behind one [`Provider`] trait, normalised into one
//! [`ProviderEvent`] type. The payments service never knows which provider it talks to.
//!
//! - `daraja`: Safaricom Daraja M-Pesa Express (the owner's Paybill or Till).
//! - `payhero`: PayHero API v2.
//! - `paystack`: Paystack mobile-money charge (M-Pesa).
//!
//! Facts about each provider's API are in `../shared/reference/providers.md`.

pub mod daraja;
mod fields;
pub mod payhero;
pub mod paystack;

pub(crate) use fields::{Reply, base_url, check_msisdn, code_text, digits_text, now_ms, transport_error, whole_kes};

pub use crate::model::ProviderKind;
pub use payhero::PayHeroChannel;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A secret string (API key, passkey, password): `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Daraja: Paybill or Till.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum DarajaAccount {
    /// `CustomerPayBillOnline`: PartyB is the paybill (the business short code).
    Paybill,
    /// `CustomerBuyGoodsOnline`: the short code is the store (HO) number, PartyB the till.
    Till {
        /// The till number customers pay.
        till_number: String,
    },
}

/// A tenant's provider settings, as stored (encrypted) and as given to the CLI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "provider")]
pub enum ProviderConfig {
    /// Safaricom Daraja on the owner's own short code.
    Daraja {
        /// App consumer key.
        consumer_key: Secret,
        /// App consumer secret.
        consumer_secret: Secret,
        /// The business short code the passkey belongs to (paybill, or store number for a till).
        short_code: String,
        /// The Lipa Na M-Pesa Online passkey.
        passkey: Secret,
        /// Paybill or till.
        account: DarajaAccount,
        /// API base URL (default `https://api.safaricom.co.ke`).
        base_url: Option<String>,
    },
    /// PayHero v2.
    Payhero {
        /// API username.
        username: Secret,
        /// API password.
        password: Secret,
        /// The payment channel id.
        channel_id: u64,
        /// What kind of channel it is (settings stored before this existed are M-Pesa).
        #[serde(default)]
        channel: PayHeroChannel,
        /// API base URL (default `https://backend.payhero.co.ke`).
        base_url: Option<String>,
    },
    /// Paystack mobile money.
    Paystack {
        /// The secret key (`sk_live_...`), also the webhook signing key.
        secret_key: Secret,
        /// API base URL (default `https://api.paystack.co`).
        base_url: Option<String>,
    },
}

impl ProviderConfig {
    /// Which provider these settings are for.
    pub fn kind(&self) -> ProviderKind {
        match self {
            ProviderConfig::Daraja { .. } => ProviderKind::Daraja,
            ProviderConfig::Payhero { .. } => ProviderKind::Payhero,
            ProviderConfig::Paystack { .. } => ProviderKind::Paystack,
        }
    }

    /// The API base URL these settings name (`None`: the provider's own).
    pub fn base_url(&self) -> Option<&str> {
        match self {
            ProviderConfig::Daraja { base_url, .. }
            | ProviderConfig::Payhero { base_url, .. }
            | ProviderConfig::Paystack { base_url, .. } => base_url.as_deref(),
        }
    }

    /// The same settings, calling `url` instead of their base URL.
    pub fn with_base_url(mut self, url: Option<String>) -> ProviderConfig {
        match &mut self {
            ProviderConfig::Daraja { base_url, .. }
            | ProviderConfig::Payhero { base_url, .. }
            | ProviderConfig::Paystack { base_url, .. } => *base_url = url,
        }
        self
    }
}

/// One STK push to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushRequest {
    /// Our payment id (used as the provider-side reference where one is accepted).
    pub payment_id: uuid::Uuid,
    /// Whole Kenyan shillings, from the plan.
    pub amount_kes: u32,
    /// The paying phone, normalised `2547XXXXXXXX` / `2541XXXXXXXX`.
    pub msisdn: String,
    /// Shown to the customer (Daraja: at most 12 characters; longer is cut).
    pub account_reference: String,
    /// Short description (Daraja: at most 13 characters; longer is cut).
    pub description: String,
    /// Where the provider must POST the result (unused by Paystack, whose webhook URL is
    /// set on its dashboard).
    pub callback_url: String,
}

/// The provider took the push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushAccepted {
    /// The provider's reference for this payment: what its callbacks and queries are keyed
    /// by (Daraja `CheckoutRequestID`, PayHero `reference`, Paystack our `reference`).
    pub provider_ref: String,
    /// A second reference worth keeping (PayHero's `CheckoutRequestID`).
    pub secondary_ref: Option<String>,
}

/// Why a payment failed, in terms the portal can explain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// The customer pressed cancel.
    Cancelled,
    /// The customer did not answer in time (or the phone was unreachable).
    Timeout,
    /// Wrong M-Pesa PIN.
    WrongPin,
    /// Not enough money.
    InsufficientFunds,
    /// Outside the customer's or merchant's limits.
    LimitExceeded,
    /// The customer has another payment in progress, or the system is busy: try later.
    Busy,
    /// Anything else, with the provider's words.
    Other(String),
}

/// Where a payment stands according to the provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentStatus {
    /// Paid.
    Paid,
    /// Not final yet (still waiting for the customer, or the provider does not know yet).
    Pending,
    /// Final failure.
    Failed(FailureReason),
}

/// A provider's word about one payment, from a callback or a status query.
// Debug hides its secrets: crate::redact.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderEvent {
    /// The provider reference it is about (see [`PushAccepted::provider_ref`]).
    ///
    /// One exception: PayHero callbacks do not carry PayHero's own `reference`, only
    /// Safaricom's `CheckoutRequestID`, which is [`PushAccepted::secondary_ref`] (or, when
    /// the callback has none, our `ExternalReference`); so look a payment up by
    /// `provider_ref`, `secondary_ref` or [`Self::our_ref`].
    pub provider_ref: String,
    /// What it says.
    pub status: PaymentStatus,
    /// Amount paid in whole shillings, when the provider says (callbacks usually do).
    pub amount_kes: Option<u32>,
    /// The M-Pesa receipt number, when the provider says.
    pub receipt: Option<String>,
    /// The provider's own result code (M-Pesa `ResultCode`, Daraja `errorCode`, PayHero or
    /// Paystack status), for the payment's timeline.
    pub code: String,
    /// The provider's own description.
    pub description: String,
    /// The paying phone, normalised digits, when the provider says (Daraja's and PayHero's
    /// success callbacks): unsigned callbacks must name the phone the prompt went to.
    pub msisdn: Option<String>,
    /// The reference we sent with the push, when the provider echoes it (PayHero's
    /// `ExternalReference`: our payment id). A callback carrying it is matched by it as well
    /// as by [`Self::provider_ref`].
    pub our_ref: Option<String>,
}

/// A provider API call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider refused the request; retrying the same request will not help.
    #[error("provider refused the request: {message} ({code})")]
    Rejected {
        /// The provider's error code.
        code: String,
        /// A clear reason.
        message: String,
    },
    /// The customer already has a prompt in progress, or the provider is rate limiting.
    #[error("provider busy: {0}")]
    Busy(String),
    /// Credentials were refused (a configuration problem for the router owner).
    #[error("provider credentials refused: {0}")]
    Auth(String),
    /// Network failure, timeout, or a server error: try again later.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
}

/// A callback that must change nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// Signature missing or wrong.
    #[error("callback signature missing or invalid")]
    BadSignature,
    /// Not the provider's callback format.
    #[error("malformed callback: {0}")]
    Malformed(String),
    /// Well-formed, but not about a payment (another event type): acknowledge and ignore.
    #[error("callback ignored: {0}")]
    Ignored(String),
}

/// Where Daraja OAuth tokens are cached so that every cloud instance shares one (a new
/// token invalidates the previous one). Implemented by the store. Times are milliseconds
/// since the Unix epoch.
#[async_trait]
pub trait TokenCache: Send + Sync {
    /// The cached token for `key` if it is valid until at least `valid_until_ms`.
    async fn get_token(&self, key: &str, valid_until_ms: i64) -> Option<String>;
    /// Stores a token for `key` that expires at `expires_at_ms`.
    async fn put_token(&self, key: &str, token: &str, expires_at_ms: i64);
    /// Forgets `token` for `key` (the provider said it is invalid). Must leave a different
    /// token alone: another instance may already have stored a fresh one.
    async fn drop_token(&self, key: &str, token: &str);
    /// Claims the fetching of a new token for `key` until `lease_until_ms` for `holder`, so
    /// that instances sharing the cache fetch one at a time (each new token invalidates the
    /// last). False while another holder's unexpired claim stands. Where nothing is shared
    /// (or the claim cannot be recorded), every fetch may go ahead.
    async fn claim_refresh(&self, _key: &str, _holder: &str, _lease_until_ms: i64) -> bool {
        true
    }
    /// Ends `holder`'s claim on `key` (its fetch is done, stored or failed).
    async fn release_refresh(&self, _key: &str, _holder: &str) {}
}

/// HTTP settings shared by all providers.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Per-request timeout.
    pub timeout: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings { timeout: Duration::from_secs(15) }
    }
}

/// One payment provider, configured for one tenant.
#[async_trait]
pub trait Provider: Send + Sync {
    /// Which one.
    fn kind(&self) -> ProviderKind;

    /// Sends the STK push.
    async fn initiate(&self, request: &PushRequest) -> Result<PushAccepted, ProviderError>;

    /// Asks the provider where the payment with this reference stands.
    async fn query(&self, provider_ref: &str) -> Result<ProviderEvent, ProviderError>;

    /// Checks the credentials with an authenticated call that moves no money (the owner's
    /// "test connection"), answering what the provider said (a token issued, a balance);
    /// `None` when this provider has no such call (the first payment tells).
    async fn check(&self) -> Option<Result<String, ProviderError>> {
        None
    }

    /// The reference the provider knows a payment by before its answer to the push was
    /// recorded (the process died, or the write failed): where we choose the reference
    /// ourselves (Paystack), it can still be asked about. `None` where the provider chooses
    /// it (Daraja, PayHero): only its callback can tell.
    fn reference_before_answer(&self, payment: uuid::Uuid) -> Option<String> {
        let _ = payment;
        None
    }

    /// Reads (and for Paystack, verifies the signature of) a callback's raw body.
    fn parse_callback(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<ProviderEvent, CallbackError>;

    /// The JSON body the provider expects in answer to a callback it delivered (with HTTP
    /// 200: every provider here takes anything else as a failed delivery and retries).
    fn callback_ack(&self) -> Value;
}

/// Which URL a provider's callbacks arrive at, which decides how settlement finds the
/// payment a callback is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallbackScope {
    /// A URL per payment, given with the push: its token names the payment, and the body's
    /// reference must match it (Daraja, PayHero).
    PerPayment,
    /// One URL per tenant, registered once on the provider's dashboard: its token names the
    /// tenant's settings, and the body's reference names the payment (Paystack).
    PerTenant,
}

impl ProviderKind {
    /// Where this provider's callbacks arrive.
    pub fn callback_scope(self) -> CallbackScope {
        match self {
            ProviderKind::Daraja => daraja::CALLBACK_SCOPE,
            ProviderKind::Payhero => payhero::CALLBACK_SCOPE,
            ProviderKind::Paystack => paystack::CALLBACK_SCOPE,
        }
    }
}

impl ProviderKind {
    /// Whether the reference in this provider's callbacks is the payment's secondary one
    /// (PayHero's callbacks carry Safaricom's `CheckoutRequestID`, not PayHero's own
    /// `reference`), which decides where a callback's reference is recorded when the push's
    /// answer never was.
    pub fn callback_carries_secondary_ref(self) -> bool {
        matches!(self, ProviderKind::Payhero)
    }
}

/// What the operator sets for every tenant's provider (not a tenant setting).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProviderOptions {
    /// The domain of Paystack's customer e-mails.
    pub paystack_email_domain: paystack::EmailDomain,
}

/// Builds the provider for a tenant's settings, with default [`ProviderOptions`].
pub fn build(config: &ProviderConfig, http: &reqwest::Client, tokens: Arc<dyn TokenCache>) -> Arc<dyn Provider> {
    build_with(config, http, tokens, &ProviderOptions::default())
}

/// Builds the provider for a tenant's settings under the operator's `options`.
pub fn build_with(
    config: &ProviderConfig,
    http: &reqwest::Client,
    tokens: Arc<dyn TokenCache>,
    options: &ProviderOptions,
) -> Arc<dyn Provider> {
    match config {
        ProviderConfig::Daraja { .. } => Arc::new(daraja::Daraja::new(config.clone(), http.clone(), tokens)),
        ProviderConfig::Payhero { .. } => Arc::new(payhero::PayHero::new(config.clone(), http.clone())),
        ProviderConfig::Paystack { .. } => {
            Arc::new(paystack::Paystack::new(config.clone(), http.clone()).with_email_domain(options.paystack_email_domain.clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_show_in_debug() {
        let config = ProviderConfig::Paystack { secret_key: Secret("sk_live_abc".into()), base_url: None };
        assert!(!format!("{config:?}").contains("sk_live_abc"));
    }
}
