//! Safaricom Daraja M-Pesa Express (STK push) on the router owner's own Paybill or Till:
//! OAuth tokens shared through a [`TokenCache`], the push, the status query and the callback.
//!
//! - `wire`: timestamp, password, push body, error answers.
//! - `callback`: the callback and the result-code table.

mod callback;
mod wire;

use std::sync::Arc;

use async_trait::async_trait;
use http::HeaderMap;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub use callback::{StkCallback, result_status};
pub use wire::{nairobi_timestamp, password};

use super::{
    CallbackError, DarajaAccount, PaymentStatus, Provider, ProviderConfig, ProviderError, ProviderEvent, ProviderKind, PushAccepted,
    PushRequest, Reply, Secret, TokenCache, base_url, check_msisdn, code_text, digits_text, now_ms, transport_error,
};

/// Daraja calls the `CallBackURL` given with each push.
pub const CALLBACK_SCOPE: super::CallbackScope = super::CallbackScope::PerPayment;

/// Production API.
pub const PRODUCTION_URL: &str = "https://api.safaricom.co.ke";
/// Sandbox API (short code 174379).
pub const SANDBOX_URL: &str = "https://sandbox.safaricom.co.ke";

const OAUTH_PATH: &str = "/oauth/v1/generate?grant_type=client_credentials";
const PUSH_PATH: &str = "/mpesa/stkpush/v1/processrequest";
const QUERY_PATH: &str = "/mpesa/stkpushquery/v1/query";

/// A cached token is used only if it stays valid this much longer; otherwise a new one is
/// fetched (tokens live an hour).
pub const TOKEN_REFRESH_MARGIN_MS: i64 = 5 * 60 * 1000;

/// How long an instance may take to fetch a token before others stop waiting for it.
const REFRESH_LEASE_MS: i64 = 15_000;

/// How often an instance waiting for another's token looks for it.
const REFRESH_POLL: std::time::Duration = std::time::Duration::from_millis(100);
/// Assumed lifetime when the OAuth answer has no readable `expires_in`.
const DEFAULT_EXPIRES_IN_SECS: i64 = 3599;

/// One tenant's Daraja client.
pub struct Daraja {
    http: reqwest::Client,
    tokens: Arc<dyn TokenCache>,
    base: String,
    consumer_key: Secret,
    consumer_secret: Secret,
    short_code: String,
    passkey: Secret,
    account: DarajaAccount,
    cache_key: String,
    /// One token fetch at a time through this client: Daraja invalidates the previous token
    /// whenever it issues one, so two concurrent fetches would spoil each other.
    fetch_lock: tokio::sync::Mutex<()>,
}

impl Daraja {
    /// A client for these settings, sharing `tokens` with every other instance.
    ///
    /// # Panics
    /// If `config` is not [`ProviderConfig::Daraja`] (`build()` never does that).
    pub fn new(config: ProviderConfig, http: reqwest::Client, tokens: Arc<dyn TokenCache>) -> Self {
        let ProviderConfig::Daraja { consumer_key, consumer_secret, short_code, passkey, account, base_url: base } = config else {
            panic!("Daraja::new needs Daraja settings, got {:?}", config.kind());
        };
        let short_code = short_code.trim().to_owned();
        Daraja {
            http,
            tokens,
            base: base_url(base.as_deref(), PRODUCTION_URL),
            cache_key: token_cache_key(&short_code, &consumer_key),
            consumer_key,
            consumer_secret,
            short_code,
            passkey,
            account,
            fetch_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// A valid token: the shared cached one, or a new one. `refused` is a token Daraja just
    /// refused: if the cache still holds it, it does not count.
    async fn token(&self, refused: Option<&str>) -> Result<String, ProviderError> {
        let usable = |token: &String| Some(token.as_str()) != refused;
        let cached = || self.tokens.get_token(&self.cache_key, now_ms() + TOKEN_REFRESH_MARGIN_MS);
        if let Some(token) = cached().await.filter(usable) {
            return Ok(token);
        }
        let _one_fetch = self.fetch_lock.lock().await;
        // Another task of this client may have fetched one while we waited.
        if let Some(token) = cached().await.filter(usable) {
            return Ok(token);
        }
        // One fetch at a time across instances too: each new token invalidates the last.
        let holder = uuid::Uuid::new_v4().to_string();
        let lease_until = now_ms() + REFRESH_LEASE_MS;
        if !self.tokens.claim_refresh(&self.cache_key, &holder, lease_until).await {
            // Another instance is fetching one: use it once it is stored. Its lease bounds
            // the wait; if it died or failed, fetch after all.
            while now_ms() < lease_until {
                tokio::time::sleep(REFRESH_POLL).await;
                if let Some(token) = cached().await.filter(usable) {
                    return Ok(token);
                }
            }
            tracing::warn!(provider = "daraja", short_code = %self.short_code, "another instance's token fetch did not finish; fetching one here");
        }
        let fetched = self.fetch_token().await;
        self.tokens.release_refresh(&self.cache_key, &holder).await;
        fetched
    }

    /// `GET /oauth/v1/generate` with Basic auth; stores the token in the shared cache.
    async fn fetch_token(&self) -> Result<String, ProviderError> {
        let response = self
            .http
            .get(format!("{}{OAUTH_PATH}", self.base))
            .basic_auth(&self.consumer_key.0, Some(&self.consumer_secret.0))
            .send()
            .await
            .map_err(|e| transport_error(ProviderKind::Daraja, &e))?;
        let reply = Reply::read(ProviderKind::Daraja, response).await?;
        if !reply.status.is_success() {
            let error = wire::token_error(&reply);
            tracing::warn!(provider = "daraja", short_code = %self.short_code, status = %reply.status, %error, "OAuth refused");
            return Err(error);
        }
        let token = reply
            .str("access_token")
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| ProviderError::Unavailable("Daraja OAuth answer has no access_token".to_owned()))?
            .to_owned();
        // A number in current answers, a string ("3599") in older ones.
        let expires_in =
            reply.body.get("expires_in").and_then(digits_text).and_then(|secs| secs.parse::<i64>().ok()).unwrap_or(DEFAULT_EXPIRES_IN_SECS);
        self.tokens.put_token(&self.cache_key, &token, now_ms() + expires_in * 1000).await;
        tracing::info!(provider = "daraja", short_code = %self.short_code, expires_in, "new access token");
        Ok(token)
    }

    /// POSTs `body` with the bearer token. If Daraja refuses the token (404.001.03 or
    /// 401.003.01), drops it from the cache, gets another and tries once more.
    async fn call(&self, path: &str, body: &Value) -> Result<Reply, ProviderError> {
        let url = format!("{}{path}", self.base);
        let token = self.token(None).await?;
        let reply = self.post(&url, &token, body).await?;
        if !wire::is_invalid_token(&reply) {
            return Ok(reply);
        }
        tracing::warn!(provider = "daraja", short_code = %self.short_code, code = reply.str("errorCode"), "access token refused; getting another");
        self.tokens.drop_token(&self.cache_key, &token).await;
        let token = self.token(Some(&token)).await?;
        self.post(&url, &token, body).await
    }

    async fn post(&self, url: &str, token: &str, body: &Value) -> Result<Reply, ProviderError> {
        let response =
            self.http.post(url).bearer_auth(token).json(body).send().await.map_err(|e| transport_error(ProviderKind::Daraja, &e))?;
        Reply::read(ProviderKind::Daraja, response).await
    }

    /// A fresh `(Timestamp, Password)` pair.
    fn credentials(&self) -> (String, String) {
        let timestamp = nairobi_timestamp(now_ms().div_euclid(1000));
        let password = password(&self.short_code, &self.passkey.0, &timestamp);
        (timestamp, password)
    }

    fn failed(&self, reply: &Reply, what: &str) -> ProviderError {
        let error = wire::api_error(reply, &self.short_code);
        tracing::warn!(provider = "daraja", short_code = %self.short_code, status = %reply.status,
            code = reply.str("errorCode"), %error, "{what} refused");
        error
    }
}

/// The [`TokenCache`] key for a short code and consumer key: the short code and a hash of
/// the consumer key (never the key or the secret themselves).
pub fn token_cache_key(short_code: &str, consumer_key: &Secret) -> String {
    let digest = Sha256::digest(consumer_key.0.as_bytes());
    format!("daraja:{short_code}:{}", &hex::encode(digest)[..16])
}

#[async_trait]
impl Provider for Daraja {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Daraja
    }

    /// A fresh OAuth token (not the cached one: the secret may have changed since).
    async fn check(&self) -> Option<Result<String, ProviderError>> {
        Some(self.fetch_token().await.map(|_| "Daraja issued an access token".to_owned()))
    }

    async fn initiate(&self, request: &PushRequest) -> Result<PushAccepted, ProviderError> {
        check_msisdn(&request.msisdn)?;
        let (timestamp, password) = self.credentials();
        let body = wire::push_body(&self.short_code, &self.account, &password, &timestamp, request)?;
        let reply = self.call(PUSH_PATH, &body).await?;
        if !reply.status.is_success() {
            return Err(self.failed(&reply, "STK push"));
        }
        let response_code = reply.body.get("ResponseCode").and_then(code_text).unwrap_or_default();
        let description = reply.str("ResponseDescription").unwrap_or_default();
        if response_code != "0" {
            tracing::warn!(provider = "daraja", code = %response_code, description, "STK push not accepted");
            return Err(ProviderError::Rejected { code: response_code, message: format!("Daraja did not accept the push: {description}") });
        }
        let checkout = reply.str("CheckoutRequestID").map(str::trim).unwrap_or_default();
        if checkout.is_empty() {
            return Err(ProviderError::Unavailable("Daraja accepted the push without a CheckoutRequestID".to_owned()));
        }
        tracing::info!(provider = "daraja", provider_ref = checkout, payment = %request.payment_id, "STK push accepted");
        Ok(PushAccepted {
            provider_ref: checkout.to_owned(),
            secondary_ref: reply.str("MerchantRequestID").filter(|id| !id.is_empty()).map(str::to_owned),
        })
    }

    /// Daraja's STK query. It never returns the receipt or the amount. In-flight and
    /// unknown CheckoutRequestIDs (HTTP 500 `500.001.1001` "being processed" / "does not
    /// Exist", or ResultCode "4999") are [`PaymentStatus::Pending`]; Spike Arrest is
    /// [`ProviderError::Busy`].
    async fn query(&self, provider_ref: &str) -> Result<ProviderEvent, ProviderError> {
        let (timestamp, password) = self.credentials();
        let body = json!({
            "BusinessShortCode": self.short_code,
            "Password": password,
            "Timestamp": timestamp,
            "CheckoutRequestID": provider_ref,
        });
        let reply = self.call(QUERY_PATH, &body).await?;
        let event = |status, code: String, description: &str| ProviderEvent {
            provider_ref: provider_ref.to_owned(),
            status,
            amount_kes: None,
            receipt: None,
            code,
            description: description.to_owned(),
            msisdn: None,
            our_ref: None,
        };
        if let Some((code, message)) = wire::query_pending(&reply) {
            tracing::debug!(provider = "daraja", provider_ref, code = %code, "query: not final yet");
            return Ok(event(PaymentStatus::Pending, code, &message));
        }
        if !reply.status.is_success() {
            return Err(self.failed(&reply, "STK query"));
        }
        let description = reply.str("ResultDesc").unwrap_or_default();
        // A string in query answers ("1032"); a number is accepted too.
        match reply.body.get("ResultCode").and_then(code_text).filter(|code| !code.is_empty()) {
            Some(code) => {
                let status = result_status(&code, description);
                tracing::info!(provider = "daraja", provider_ref, code = %code, ?status, "query answered");
                Ok(event(status, code, description))
            }
            None => {
                let response_code = reply.body.get("ResponseCode").and_then(code_text).unwrap_or_default();
                let response_description = reply.str("ResponseDescription").unwrap_or_default();
                if response_code == "0" {
                    Ok(event(PaymentStatus::Pending, response_code, response_description))
                } else {
                    Err(ProviderError::Rejected { code: response_code, message: response_description.to_owned() })
                }
            }
        }
    }

    /// Daraja callbacks are unsigned: the headers are not checked here (the per-payment
    /// token in the callback URL, the pending row and the query are the defences).
    fn parse_callback(&self, _headers: &HeaderMap, body: &[u8]) -> Result<ProviderEvent, CallbackError> {
        let event = StkCallback::parse(body)?.into_event();
        tracing::info!(provider = "daraja", provider_ref = %event.provider_ref, code = %event.code, "callback");
        Ok(event)
    }

    fn callback_ack(&self) -> Value {
        json!({"ResultCode": 0, "ResultDesc": "Accepted"})
    }
}
