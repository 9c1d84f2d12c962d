//! PayHero API v2 (backend.payhero.co.ke): STK push through the owner's payment channel,
//! its callback, and the transaction-status query. Basic auth with the API username and
//! password on every call.
//!
//! - `callback`: the callback.
//! - `channel`: the payment channel's kind (M-Pesa or wallet).
//! - `status`: the transaction-status answer.
//! - `wallet`: the service wallet's balance, the "test connection" call.

mod callback;
mod channel;
mod status;
mod wallet;

use async_trait::async_trait;
use http::HeaderMap;
use serde_json::{Value, json};

pub use callback::PayHeroCallback;
pub use channel::PayHeroChannel;

use super::{
    CallbackError, Provider, ProviderConfig, ProviderError, ProviderEvent, ProviderKind, PushAccepted, PushRequest, Reply, Secret,
    base_url, check_msisdn, transport_error,
};

/// PayHero calls the `callback_url` given with each push.
pub const CALLBACK_SCOPE: super::CallbackScope = super::CallbackScope::PerPayment;

/// Production API.
pub const PRODUCTION_URL: &str = "https://backend.payhero.co.ke";

/// One tenant's PayHero client.
pub struct PayHero {
    http: reqwest::Client,
    base: String,
    username: Secret,
    password: Secret,
    channel_id: u64,
    channel: PayHeroChannel,
}

impl PayHero {
    /// A client for these settings.
    ///
    /// # Panics
    /// If `config` is not [`ProviderConfig::Payhero`] (`build()` never does that).
    pub fn new(config: ProviderConfig, http: reqwest::Client) -> Self {
        let ProviderConfig::Payhero { username, password, channel_id, channel, base_url: base } = config else {
            panic!("PayHero::new needs PayHero settings, got {:?}", config.kind());
        };
        PayHero { http, base: base_url(base.as_deref(), PRODUCTION_URL), username, password, channel_id, channel }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Reply, ProviderError> {
        let response = request
            .basic_auth(&self.username.0, Some(&self.password.0))
            .send()
            .await
            .map_err(|e| transport_error(ProviderKind::Payhero, &e))?;
        Reply::read(ProviderKind::Payhero, response).await
    }
}

/// PayHero documents no error shape: take the first message-like field there is.
fn error_message(reply: &Reply) -> String {
    ["error_message", "message", "error", "status"]
        .iter()
        .find_map(|key| reply.str(key).filter(|text| !text.trim().is_empty()))
        .map_or_else(|| format!("HTTP {}", reply.status), |text| text.trim().to_owned())
}

fn api_error(reply: &Reply) -> ProviderError {
    let status = reply.status;
    let message = error_message(reply);
    let error = if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        ProviderError::Auth(format!("PayHero refused the API username/password ({status}: {message})"))
    } else if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        ProviderError::Busy(format!("PayHero is rate limiting ({message})"))
    } else if status.is_server_error() {
        ProviderError::Unavailable(format!("PayHero answered {status}: {message}"))
    } else {
        ProviderError::Rejected { code: status.as_u16().to_string(), message: format!("PayHero refused the request: {message}") }
    };
    tracing::warn!(provider = "payhero", status = %status, %error, "request refused");
    error
}

/// `0XXXXXXXXX`, the local form PayHero's documentation uses, from `2547XXXXXXXX`.
fn local_phone(msisdn: &str) -> String {
    format!("0{}", &msisdn[3..])
}

#[async_trait]
impl Provider for PayHero {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Payhero
    }

    /// `GET /api/v2/wallets?wallet_type=service_wallet`: a read that needs the API
    /// username and password and moves no money; says the service wallet's balance.
    async fn check(&self) -> Option<Result<String, ProviderError>> {
        let url = format!("{}{}?wallet_type=service_wallet", self.base, wallet::WALLETS_PATH);
        let reply = match self.send(self.http.get(url)).await {
            Ok(reply) => reply,
            Err(error) => return Some(Err(error)),
        };
        if !reply.status.is_success() {
            return Some(Err(api_error(&reply)));
        }
        let said = wallet::wallet_said(&reply.body)
            .ok_or_else(|| ProviderError::Unavailable(format!("PayHero's wallet answer has no balance (HTTP {})", reply.status)));
        if said.is_ok() {
            tracing::info!(provider = "payhero", "credentials checked: the service wallet answered");
        }
        Some(said)
    }

    async fn initiate(&self, request: &PushRequest) -> Result<PushAccepted, ProviderError> {
        check_msisdn(&request.msisdn)?;
        let mut body = json!({
            "amount": request.amount_kes,
            "phone_number": local_phone(&request.msisdn),
            "channel_id": self.channel_id,
            "provider": self.channel.provider_field(),
            "external_reference": request.payment_id.to_string(),
            "callback_url": request.callback_url,
        });
        if let Some(code) = self.channel.network_code() {
            body["network_code"] = json!(code);
        }
        let reply = self.send(self.http.post(format!("{}/api/v2/payments", self.base)).json(&body)).await?;
        if !reply.status.is_success() {
            return Err(api_error(&reply));
        }
        let reference = reply.str("reference").map(str::trim).unwrap_or_default();
        if reply.body.get("success").and_then(Value::as_bool) == Some(false) || reference.is_empty() {
            let message = error_message(&reply);
            tracing::warn!(provider = "payhero", %message, "push not accepted");
            return Err(ProviderError::Rejected {
                code: "not_accepted".to_owned(),
                message: format!("PayHero did not accept the push: {message}"),
            });
        }
        let checkout = reply.str("CheckoutRequestID").map(str::trim).filter(|c| !c.is_empty());
        tracing::info!(provider = "payhero", provider_ref = reference, checkout, payment = %request.payment_id, "STK push accepted");
        Ok(PushAccepted { provider_ref: reference.to_owned(), secondary_ref: checkout.map(str::to_owned) })
    }

    /// `GET /api/v2/transaction-status?reference=…`: QUEUED is pending, SUCCESS paid, FAILED
    /// failed; an unknown status is pending.
    async fn query(&self, provider_ref: &str) -> Result<ProviderEvent, ProviderError> {
        let url = format!("{}/api/v2/transaction-status", self.base);
        let url = reqwest::Url::parse_with_params(&url, [("reference", provider_ref)]).map_err(|e| ProviderError::Rejected {
            code: "config".to_owned(),
            message: format!("PayHero base URL {:?}: {e}", self.base),
        })?;
        let reply = self.send(self.http.get(url)).await?;
        if !reply.status.is_success() {
            return Err(api_error(&reply));
        }
        let event = status::status_event(provider_ref, &reply.body);
        tracing::info!(provider = "payhero", provider_ref, code = %event.code, status = ?event.status, "status answered");
        Ok(event)
    }

    /// PayHero callbacks are unsigned: the headers are not checked (the per-payment token in
    /// the callback URL, the pending row and the status query are the defences).
    fn parse_callback(&self, _headers: &HeaderMap, body: &[u8]) -> Result<ProviderEvent, CallbackError> {
        let event = PayHeroCallback::parse(body)?.into_event();
        tracing::info!(provider = "payhero", provider_ref = %event.provider_ref, code = %event.code, "callback");
        Ok(event)
    }

    /// PayHero documents no expected answer; any 200 will do, and this one is plain.
    fn callback_ack(&self) -> Value {
        json!({"status": "ok"})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn phones_go_in_the_local_form() {
        assert_eq!(local_phone("254709099876"), "0709099876");
        assert_eq!(local_phone("254110000000"), "0110000000");
    }

    #[test]
    fn error_answers() {
        let reply = |status: u16, body: Value| Reply { status: reqwest::StatusCode::from_u16(status).unwrap(), body };
        assert!(
            matches!(api_error(&reply(401, json!({"error_message":"Unauthorized"}))), ProviderError::Auth(m) if m.contains("Unauthorized"))
        );
        assert!(matches!(api_error(&reply(429, Value::Null)), ProviderError::Busy(_)));
        assert!(matches!(api_error(&reply(503, Value::Null)), ProviderError::Unavailable(_)));
        let invalid = reply(400, json!({"error_message":"invalid channel id","status":"error"}));
        assert!(
            matches!(api_error(&invalid), ProviderError::Rejected { code, message } if code == "400" && message.contains("invalid channel id"))
        );
    }
}
