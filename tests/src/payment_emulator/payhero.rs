//! PayHero API v2: `POST /api/v2/payments` (Basic auth, answers QUEUED),
//! `GET /api/v2/transaction-status`, `GET /api/v2/wallets` (the wallet balances), and the `{"response":{…},"status":…}` callback.
//! PayHero documents no error bodies; the ones here are unverified.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::accounts::PayHeroAccount;
use super::daraja::is_http_url;
use super::numbers::payhero_msisdn;
use super::server::{answer_new_prompt, basic_credentials, injected, json_response, payhero_error};
use super::state::{Endpoint, Record, Shared};
use super::time::{iso_utc, now_unix};
use super::{Prompt, PromptState, Provider, Resolution};

/// Wrong or missing API user name or password (unverified body).
pub(crate) fn unauthorized() -> Response {
    payhero_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "invalid API credentials")
}

fn authorised(shared: &Shared, headers: &HeaderMap) -> bool {
    let account = &shared.accounts.payhero;
    basic_credentials(headers).is_some_and(|(user, password)| user == account.username && password == account.password)
}

/// A payment request that passed validation.
struct Payment {
    amount: u64,
    phone: String,
    external_reference: Option<String>,
    callback_url: Option<String>,
}

fn validate(account: &PayHeroAccount, request: &Value) -> Result<Payment, &'static str> {
    let amount = request.get("amount").and_then(Value::as_u64).filter(|a| *a >= 1).ok_or("amount must be a whole number of shillings")?;
    let phone = request.get("phone_number").and_then(Value::as_str).and_then(payhero_msisdn).ok_or("invalid phone_number")?;
    match request.get("channel_id").and_then(Value::as_u64) {
        Some(id) if id == account.channel_id => {}
        Some(_) => return Err("payment channel not found"),
        None => return Err("channel_id must be an integer"),
    }
    let provider = request.get("provider").and_then(Value::as_str);
    let network_code = request.get("network_code").and_then(Value::as_str);
    let (wanted, code) = if account.wallet_channel { ("sasapay", Some("63902")) } else { ("m-pesa", None) };
    if provider != Some(wanted) {
        return Err("invalid provider for this payment channel");
    }
    if code.is_some() && network_code != code {
        return Err("invalid network_code");
    }
    let optional_text = |key: &str| match request.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err("optional fields must be strings"),
    };
    let external_reference = optional_text("external_reference")?;
    let callback_url = optional_text("callback_url")?.filter(|u| !u.is_empty());
    if callback_url.as_deref().is_some_and(|u| !is_http_url(u)) {
        return Err("invalid callback_url");
    }
    optional_text("customer_name")?;
    Ok(Payment { amount, phone, external_reference, callback_url })
}

/// `POST /api/v2/payments`.
pub(crate) async fn push(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(answer) = injected(&shared, Endpoint::PayHeroPush).await {
        return answer;
    }
    if !authorised(&shared, &headers) {
        return unauthorized();
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let payment = match validate(&shared.accounts.payhero, &request) {
        Ok(payment) => payment,
        Err(message) => return payhero_error(StatusCode::BAD_REQUEST, "BAD_REQUEST", message),
    };
    let now = now_unix();
    let (reference, checkout_id, answer_checkout_id) = {
        let mut state = shared.state();
        let reference = state.new_ref(10, true);
        let checkout_id = state.new_checkout_id(&payment.phone, now);
        let merchant_request_id = state.new_merchant_request_id();
        let prompt = Prompt {
            provider: Provider::PayHero,
            provider_ref: reference.clone(),
            msisdn: payment.phone,
            amount_kes: payment.amount,
            callback_url: payment.callback_url,
            state: PromptState::Pending,
            receipt: None,
            account_reference: payment.external_reference,
            checkout_request_id: Some(checkout_id.clone()),
        };
        tracing::info!(provider_ref = %reference, msisdn = %prompt.msisdn, amount = prompt.amount_kes, "payment emulator: PayHero push");
        state.add(Record {
            prompt,
            merchant_request_id,
            created_unix: now,
            resolved_unix: None,
            paystack_id: 0,
            email: None,
            metadata: Value::Null,
            fees_on_customer: false,
        });
        (reference, checkout_id, !state.payhero_without_checkout_id)
    };
    shared.bump();
    let mut body = json!({"success": true, "status": "QUEUED", "reference": reference});
    if answer_checkout_id {
        body["CheckoutRequestID"] = json!(checkout_id);
    }
    // 201 as PayHero's docs show for a created payment (unverified against live traffic).
    answer_new_prompt(&shared, reference, StatusCode::CREATED, body)
}

/// The balance the emulated service wallet reports.
pub const SERVICE_WALLET_BALANCE: f64 = 15101.36;

/// `GET /api/v2/wallets?wallet_type=service_wallet|payment_wallet`: the wallet, in the
/// documented shape ("GET: Service Wallet Balance" / "GET: Payments Wallet Balance").
pub(crate) async fn wallets(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !authorised(&shared, &headers) {
        return unauthorized();
    }
    let (id, wallet_type, balance) = match query.get("wallet_type").map(String::as_str) {
        Some("service_wallet") => (22156, "service_wallet", json!(SERVICE_WALLET_BALANCE)),
        Some("payment_wallet") => (22157, "payment_wallet", json!(0)),
        _ => return payhero_error(StatusCode::BAD_REQUEST, "BAD_REQUEST", "wallet_type must be service_wallet or payment_wallet"),
    };
    let created = iso_utc(now_unix() - 86_400);
    json_response(
        StatusCode::OK,
        json!({
            "id": id,
            "account_id": 22183,
            "wallet_type": wallet_type,
            "currency": "KES",
            "available_balance": balance,
            "created_at": created,
            "updated_at": iso_utc(now_unix()),
        }),
    )
}

/// `GET /api/v2/transaction-status?reference=`.
pub(crate) async fn status(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(answer) = injected(&shared, Endpoint::PayHeroStatus).await {
        return answer;
    }
    if !authorised(&shared, &headers) {
        return unauthorized();
    }
    let reference = query.get("reference").map(String::as_str).unwrap_or_default();
    let state = shared.state();
    let Some(record) = state.record(reference).filter(|r| r.prompt.provider == Provider::PayHero) else {
        return payhero_error(StatusCode::NOT_FOUND, "NOT_FOUND", "transaction not found");
    };
    let status = match record.prompt.state {
        PromptState::Pending => "QUEUED",
        PromptState::Resolved(Resolution::Approve) => "SUCCESS",
        PromptState::Resolved(_) => "FAILED",
    };
    let receipt = record.prompt.receipt.clone().unwrap_or_default();
    json_response(
        StatusCode::OK,
        json!({
            "transaction_date": iso_utc(record.created_unix),
            "provider": "m-pesa",
            "success": true,
            "merchant": "Jasiyo Test",
            "payment_reference": "",
            "third_party_reference": receipt,
            "status": status,
            "reference": reference,
            "CheckoutRequestID": record.prompt.checkout_request_id,
            "provider_reference": receipt,
        }),
    )
}

/// The callback body: the documented success form, or the observed failure form
/// (`status:false`, `Status:"Failed"`, empty receipt).
pub(crate) fn callback_body(record: &Record, resolution: Resolution) -> String {
    let prompt = &record.prompt;
    let approved = resolution == Resolution::Approve;
    json!({
        "forward_url": "",
        "response": {
            "Amount": prompt.amount_kes,
            "CheckoutRequestID": prompt.checkout_request_id,
            "ExternalReference": prompt.account_reference.clone().unwrap_or_default(),
            "MerchantRequestID": record.merchant_request_id,
            "MpesaReceiptNumber": if approved { prompt.receipt.clone().unwrap_or_default() } else { String::new() },
            "Phone": format!("+{}", prompt.msisdn),
            "ResultCode": resolution.result_code(),
            "ResultDesc": resolution.result_desc(),
            "Status": if approved { "Success" } else { "Failed" },
        },
        "status": approved,
    })
    .to_string()
}
