//! Safaricom Daraja: OAuth (a new token invalidates the old one), STK Push with Daraja's
//! validation, STK Query (in-flight and unknown ids are HTTP 500, `ResultCode` a string),
//! and the `stkCallback` bodies.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use super::numbers::{daraja_msisdn, number_text, whole_amount};
use super::server::{answer_new_prompt, basic_credentials, bearer, daraja_error, injected, json_response};
use super::state::{Endpoint, Record, Shared, TOKEN_LIFETIME, random_alnum};
use super::time::{nairobi_stamp, now_unix, parse_nairobi_stamp};
use super::{DarajaAccount, Prompt, PromptState, Provider, Resolution};

/// How far a `Timestamp` may be from Nairobi time now (Safaricom documents no tolerance).
const TIMESTAMP_SKEW_SECS: i64 = 3600;

/// `GET /oauth/v1/generate?grant_type=client_credentials` with Basic key:secret.
pub(crate) async fn oauth(State(shared): State<Arc<Shared>>, Query(query): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    shared.token_requests.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    shared.bump();
    if let Some(answer) = injected(&shared, Endpoint::DarajaOauth).await {
        return answer;
    }
    let account = &shared.accounts.daraja;
    match basic_credentials(&headers) {
        Some((key, secret)) if key == account.consumer_key && secret == account.consumer_secret => {}
        _ => return bad_authentication(),
    }
    if query.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return daraja_error(StatusCode::BAD_REQUEST, "400.008.02", "Invalid grant type passed");
    }
    let token = random_alnum(28);
    shared.state().daraja_token = Some((token.clone(), Instant::now()));
    shared.bump();
    json_response(StatusCode::OK, json!({"access_token": token, "expires_in": "3599"}))
}

/// Wrong consumer key or secret, or not Basic auth.
pub(crate) fn bad_authentication() -> Response {
    daraja_error(StatusCode::BAD_REQUEST, "400.008.01", "Invalid Authentication passed")
}

/// A missing, expired, foreign or superseded token.
pub(crate) fn invalid_token() -> Response {
    daraja_error(StatusCode::NOT_FOUND, "404.001.03", "Invalid Access Token")
}

/// The customer already has a live STK session.
pub(crate) fn lock_subscriber() -> Response {
    daraja_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "500.001.1001",
        "Unable to lock subscriber, a transaction is already in process for the current subscriber",
    )
}

fn token_is_live(shared: &Shared, headers: &HeaderMap) -> bool {
    let Some(token) = bearer(headers) else { return false };
    matches!(&shared.state().daraja_token, Some((live, issued)) if live == token && issued.elapsed() < TOKEN_LIFETIME)
}

/// Why Daraja refused a request body.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// HTTP 400 `400.002.02` `Bad Request - Invalid <field>`.
    Invalid(&'static str),
    /// HTTP 500 `500.001.1001` with this message (a configuration error on the merchant's side).
    Merchant(&'static str),
}

impl Refusal {
    fn answer(self) -> Response {
        match self {
            Refusal::Invalid(field) => daraja_error(StatusCode::BAD_REQUEST, "400.002.02", &format!("Bad Request - Invalid {field}")),
            Refusal::Merchant(message) => daraja_error(StatusCode::INTERNAL_SERVER_ERROR, "500.001.1001", message),
        }
    }
}

/// A JSON object body; anything else reads as a missing `BusinessShortCode`, as Daraja
/// answers a body sent without `Content-Type: application/json`.
fn object_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, Refusal> {
    let json_type = headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"));
    match serde_json::from_slice::<Value>(body) {
        Ok(value) if json_type && value.is_object() => Ok(value),
        _ => Err(Refusal::Invalid("BusinessShortCode")),
    }
}

/// `BusinessShortCode`, `Timestamp` and `Password`, shared by push and query.
fn check_credentials(account: &DarajaAccount, request: &Value, now: i64) -> Result<(), Refusal> {
    let short_code = number_text(request.get("BusinessShortCode"))
        .filter(|s| (5..=7).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
        .ok_or(Refusal::Invalid("BusinessShortCode"))?;
    if short_code != account.short_code {
        return Err(Refusal::Merchant("Merchant does not exist"));
    }
    let timestamp = request.get("Timestamp").and_then(Value::as_str).ok_or(Refusal::Invalid("Timestamp"))?;
    let when = parse_nairobi_stamp(timestamp).ok_or(Refusal::Invalid("Timestamp"))?;
    if (when - now).abs() > TIMESTAMP_SKEW_SECS {
        return Err(Refusal::Invalid("Timestamp"));
    }
    let expected = BASE64.encode(format!("{short_code}{}{timestamp}", account.passkey));
    if request.get("Password").and_then(Value::as_str) != Some(expected.as_str()) {
        return Err(Refusal::Merchant("Wrong credentials"));
    }
    Ok(())
}

/// A push that passed validation.
#[derive(Debug)]
struct Push {
    amount: u64,
    phone: String,
    callback_url: String,
    account_reference: String,
}

/// Daraja's checks on an STK push body, field by field.
fn validate_push(account: &DarajaAccount, request: &Value, now: i64) -> Result<Push, Refusal> {
    check_credentials(account, request, now)?;
    let (wanted_type, wanted_party_b) = match &account.till {
        None => ("CustomerPayBillOnline", &account.short_code),
        Some(till) => ("CustomerBuyGoodsOnline", till),
    };
    if request.get("TransactionType").and_then(Value::as_str) != Some(wanted_type) {
        return Err(Refusal::Invalid("TransactionType"));
    }
    let amount = whole_amount(request.get("Amount")).ok_or(Refusal::Invalid("Amount"))?;
    daraja_msisdn(request.get("PartyA")).ok_or(Refusal::Invalid("PartyA"))?;
    if number_text(request.get("PartyB")).as_ref() != Some(wanted_party_b) {
        return Err(Refusal::Invalid("PartyB"));
    }
    let phone = daraja_msisdn(request.get("PhoneNumber")).ok_or(Refusal::Invalid("PhoneNumber"))?;
    let callback_url =
        request.get("CallBackURL").and_then(Value::as_str).filter(|u| is_http_url(u)).ok_or(Refusal::Invalid("CallBackURL"))?;
    let account_reference = request
        .get("AccountReference")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty() && r.chars().count() <= 12)
        .ok_or(Refusal::Invalid("AccountReference"))?;
    match request.get("TransactionDesc") {
        None | Some(Value::Null) => {}
        Some(Value::String(desc)) if desc.chars().count() <= 13 => {}
        Some(_) => return Err(Refusal::Invalid("TransactionDesc")),
    }
    Ok(Push { amount, phone, callback_url: callback_url.to_string(), account_reference: account_reference.to_string() })
}

/// An absolute `http`/`https` URL with a host. (Real Daraja wants public HTTPS; tests
/// and the demo call back to localhost over plain HTTP.)
pub(crate) fn is_http_url(text: &str) -> bool {
    reqwest::Url::parse(text).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty()))
}

/// `POST /mpesa/stkpush/v1/processrequest`.
pub(crate) async fn push(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(answer) = injected(&shared, Endpoint::DarajaPush).await {
        return answer;
    }
    if !token_is_live(&shared, &headers) {
        return invalid_token();
    }
    let now = now_unix();
    let push = match object_body(&headers, &body).and_then(|request| validate_push(&shared.accounts.daraja, &request, now)) {
        Ok(push) => push,
        Err(refusal) => return refusal.answer(),
    };
    let (checkout_id, merchant_id) = {
        let mut state = shared.state();
        if state.pending_on(&push.phone).is_some() {
            return lock_subscriber();
        }
        let checkout_id = state.new_checkout_id(&push.phone, now);
        let merchant_id = state.new_merchant_request_id();
        let prompt = Prompt {
            provider: Provider::Daraja,
            provider_ref: checkout_id.clone(),
            msisdn: push.phone,
            amount_kes: push.amount,
            callback_url: Some(push.callback_url),
            state: PromptState::Pending,
            receipt: None,
            account_reference: Some(push.account_reference),
            checkout_request_id: Some(checkout_id.clone()),
        };
        tracing::info!(provider_ref = %checkout_id, msisdn = %prompt.msisdn, amount = prompt.amount_kes, "payment emulator: Daraja STK push");
        state.add(Record {
            prompt,
            merchant_request_id: merchant_id.clone(),
            created_unix: now,
            resolved_unix: None,
            paystack_id: 0,
            email: None,
            metadata: Value::Null,
            fees_on_customer: false,
        });
        (checkout_id, merchant_id)
    };
    shared.bump();
    let accepted = "Success. Request accepted for processing";
    let body = json!({
        "MerchantRequestID": merchant_id,
        "CheckoutRequestID": checkout_id,
        "ResponseCode": "0",
        "ResponseDescription": accepted,
        "CustomerMessage": accepted,
    });
    answer_new_prompt(&shared, checkout_id, StatusCode::OK, body)
}

/// `POST /mpesa/stkpushquery/v1/query`.
pub(crate) async fn query(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(answer) = injected(&shared, Endpoint::DarajaQuery).await {
        return answer;
    }
    if !token_is_live(&shared, &headers) {
        return invalid_token();
    }
    let checked = object_body(&headers, &body).and_then(|request| {
        check_credentials(&shared.accounts.daraja, &request, now_unix())?;
        request.get("CheckoutRequestID").and_then(Value::as_str).map(str::to_string).ok_or(Refusal::Invalid("CheckoutRequestID"))
    });
    let checkout_id = match checked {
        Ok(id) => id,
        Err(refusal) => return refusal.answer(),
    };
    *shared.status_queries.lock().expect("queries lock").entry(checkout_id.clone()).or_default() += 1;
    let state = shared.state();
    let Some(record) = state.record(&checkout_id).filter(|r| r.prompt.provider == Provider::Daraja) else {
        return Refusal::Merchant("The transaction does not Exist").answer();
    };
    let PromptState::Resolved(resolution) = record.prompt.state else {
        return Refusal::Merchant("The transaction is being processed").answer();
    };
    json_response(
        StatusCode::OK,
        json!({
            "ResponseCode": "0",
            // Daraja's own spelling.
            "ResponseDescription": "The service request has been accepted successsfully",
            "MerchantRequestID": record.merchant_request_id,
            "CheckoutRequestID": checkout_id,
            "ResultCode": resolution.result_code().to_string(),
            "ResultDesc": resolution.result_desc(),
        }),
    )
}

/// The `stkCallback` body. Written by hand because the success form carries `Amount` as a
/// decimal (`50.00`), which `serde_json` would print as `50.0`.
pub(crate) fn callback_body(record: &Record, resolution: Resolution) -> String {
    let prompt = &record.prompt;
    let quote = |s: &str| Value::from(s).to_string();
    let head = format!(
        r#""MerchantRequestID":{},"CheckoutRequestID":{},"ResultCode":{},"ResultDesc":{}"#,
        quote(&record.merchant_request_id),
        quote(&prompt.provider_ref),
        resolution.result_code(),
        quote(resolution.result_desc()),
    );
    let Some(receipt) = prompt.receipt.as_deref().filter(|_| resolution == Resolution::Approve) else {
        return format!(r#"{{"Body":{{"stkCallback":{{{head}}}}}}}"#);
    };
    let paid_at = nairobi_stamp(record.resolved_unix.unwrap_or_else(now_unix));
    let items = format!(
        r#"[{{"Name":"Amount","Value":{}.00}},{{"Name":"MpesaReceiptNumber","Value":{}}},{{"Name":"Balance"}},{{"Name":"TransactionDate","Value":{paid_at}}},{{"Name":"PhoneNumber","Value":{}}}]"#,
        prompt.amount_kes,
        quote(receipt),
        prompt.msisdn,
    );
    format!(r#"{{"Body":{{"stkCallback":{{{head},"CallbackMetadata":{{"Item":{items}}}}}}}}}"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> DarajaAccount {
        DarajaAccount::default()
    }

    fn good(now: i64) -> Value {
        let stamp = nairobi_stamp(now);
        json!({
            "BusinessShortCode": 174379,
            "Password": BASE64.encode(format!("174379{}{stamp}", account().passkey)),
            "Timestamp": stamp,
            "TransactionType": "CustomerPayBillOnline",
            "Amount": "1",
            "PartyA": 254708374149u64,
            "PartyB": "174379",
            "PhoneNumber": "254708374149",
            "CallBackURL": "https://example.com/cb/abc",
            "AccountReference": "HOTSPOT1",
            "TransactionDesc": "Wi-Fi 1h",
        })
    }

    #[test]
    fn accepts_a_sandbox_push_and_refuses_each_bad_field() {
        let now = now_unix();
        let push = validate_push(&account(), &good(now), now).expect("valid");
        assert_eq!((push.amount, push.phone.as_str()), (1, "254708374149"));
        let cases: [(&str, Value, Refusal); 6] = [
            ("Amount", json!(1.5), Refusal::Invalid("Amount")),
            ("AccountReference", json!("THIRTEENCHARS"), Refusal::Invalid("AccountReference")),
            ("TransactionDesc", json!("fourteen chars"), Refusal::Invalid("TransactionDesc")),
            ("Password", json!("bm9wZQ=="), Refusal::Merchant("Wrong credentials")),
            ("BusinessShortCode", json!("600000"), Refusal::Merchant("Merchant does not exist")),
            ("TransactionType", json!("CustomerBuyGoodsOnline"), Refusal::Invalid("TransactionType")),
        ];
        for (field, value, refusal) in cases {
            let mut request = good(now);
            request[field] = value;
            assert_eq!(validate_push(&account(), &request, now).unwrap_err(), refusal, "{field}");
        }
    }

    #[test]
    fn success_callback_has_decimal_amount_and_integer_date_and_phone() {
        let record = Record {
            prompt: Prompt {
                provider: Provider::Daraja,
                provider_ref: "ws_CO_1".into(),
                msisdn: "254708374149".into(),
                amount_kes: 50,
                callback_url: None,
                state: PromptState::Resolved(Resolution::Approve),
                receipt: Some("NLJ7RT61SV".into()),
                account_reference: None,
                checkout_request_id: None,
            },
            merchant_request_id: "29115-34620561-1".into(),
            created_unix: 0,
            resolved_unix: Some(1_576_740_075),
            paystack_id: 0,
            email: None,
            metadata: Value::Null,
            fees_on_customer: false,
        };
        let body = callback_body(&record, Resolution::Approve);
        assert!(body.contains(r#"{"Name":"Amount","Value":50.00}"#), "{body}");
        assert!(body.contains(r#"{"Name":"TransactionDate","Value":20191219102115}"#), "{body}");
        let parsed: Value = serde_json::from_str(&body).expect("valid JSON");
        assert_eq!(parsed["Body"]["stkCallback"]["CallbackMetadata"]["Item"][4]["Value"], json!(254708374149u64));
    }
}
