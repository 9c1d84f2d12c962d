//! Paystack: `POST /charge` with a `mobile_money` M-Pesa block (amounts in cents),
//! `GET /transaction/verify/{reference}`, `GET /balance`, and the signed `charge.success` webhook (Paystack
//! sends none for failures). Error messages are Paystack-like but unverified.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha512;

use super::numbers::{paystack_msisdn, whole_amount};
use super::server::{answer_new_prompt, bearer, injected, json_response, paystack_error};
use super::state::{Endpoint, Record, Shared};
use super::time::{iso_utc, now_unix};
use super::{Prompt, PromptState, Provider, Resolution};

/// Paystack's minimum for KES: Ksh 3.00.
const MIN_CENTS: u64 = 300;

/// A wrong or missing secret key.
pub(crate) fn invalid_key() -> Response {
    paystack_error(StatusCode::UNAUTHORIZED, "Invalid key")
}

fn authorised(shared: &Shared, headers: &HeaderMap) -> bool {
    bearer(headers) == Some(shared.accounts.paystack.secret_key.as_str())
}

/// A charge that passed validation.
struct Charge {
    email: String,
    amount_kes: u64,
    phone: String,
    reference: Option<String>,
    metadata: Value,
}

/// `local@domain`, the domain of two or more DNS labels and not under the reserved
/// `.invalid` (stricter than Paystack is known to be: unverified).
fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else { return false };
    let labels: Vec<&str> = domain.split('.').collect();
    !local.is_empty()
        && !local.contains(char::is_whitespace)
        && labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && !domain.to_ascii_lowercase().ends_with(".invalid")
}

fn validate(request: &Value) -> Result<Charge, &'static str> {
    let email = request.get("email").and_then(Value::as_str).filter(|e| valid_email(e)).ok_or("Invalid Email Address Passed")?;
    let cents = whole_amount(request.get("amount")).ok_or("Invalid Amount Sent")?;
    if cents < MIN_CENTS {
        return Err("Amount cannot be less than KES 3.00");
    }
    // M-Pesa moves whole shillings only.
    if cents % 100 != 0 {
        return Err("Invalid Amount Sent");
    }
    if request.get("currency").and_then(Value::as_str) != Some("KES") {
        return Err("Currency not supported by merchant");
    }
    let mobile_money = request.get("mobile_money").ok_or("mobile_money is required")?;
    if mobile_money.get("provider").and_then(Value::as_str) != Some("mpesa") {
        return Err("Invalid mobile money provider");
    }
    let phone = mobile_money.get("phone").and_then(Value::as_str).and_then(paystack_msisdn).ok_or("Invalid phone number")?;
    let reference = match request.get("reference") {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) if !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '=')) => {
            Some(r.clone())
        }
        Some(_) => return Err("Invalid transaction reference"),
    };
    let metadata = request.get("metadata").cloned().unwrap_or(Value::Null);
    Ok(Charge { email: email.to_string(), amount_kes: cents / 100, phone, reference, metadata })
}

/// `POST /charge`.
pub(crate) async fn charge(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(answer) = injected(&shared, Endpoint::PaystackCharge).await {
        return answer;
    }
    if !authorised(&shared, &headers) {
        return invalid_key();
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let charge = match validate(&request) {
        Ok(charge) => charge,
        Err(message) => return paystack_error(StatusCode::BAD_REQUEST, message),
    };
    let reference = {
        let mut state = shared.state();
        let reference = match charge.reference {
            Some(reference) if state.contains(&reference) => {
                return paystack_error(StatusCode::BAD_REQUEST, "Duplicate Transaction Reference");
            }
            Some(reference) => reference,
            None => state.new_ref(15, false),
        };
        let prompt = Prompt {
            provider: Provider::Paystack,
            provider_ref: reference.clone(),
            msisdn: charge.phone,
            amount_kes: charge.amount_kes,
            callback_url: None,
            state: PromptState::Pending,
            receipt: None,
            account_reference: None,
            checkout_request_id: None,
        };
        tracing::info!(provider_ref = %reference, msisdn = %prompt.msisdn, amount = prompt.amount_kes, "payment emulator: Paystack charge");
        let record = Record {
            prompt,
            merchant_request_id: String::new(),
            created_unix: now_unix(),
            resolved_unix: None,
            paystack_id: 4_000_000_000 + state.next_seq(),
            email: Some(charge.email),
            metadata: charge.metadata,
            fees_on_customer: state.paystack_fees_on_customer,
        };
        state.add(record);
        reference
    };
    shared.bump();
    let body = json!({
        "status": true,
        "message": "Charge attempted",
        "data": {"reference": reference, "status": "pay_offline", "display_text": "Please complete authorization process on your mobile phone"},
    });
    answer_new_prompt(&shared, reference, StatusCode::OK, body)
}

/// The balance the emulated integration reports, in cents.
pub const BALANCE_CENTS: u64 = 1_234_500;

/// `GET /balance` (Transfers Control, "Check Balance"): amounts in subunits.
pub(crate) async fn balance(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if !authorised(&shared, &headers) {
        return invalid_key();
    }
    json_response(
        StatusCode::OK,
        json!({"status": true, "message": "Balances retrieved", "data": [{"currency": "KES", "balance": BALANCE_CENTS}]}),
    )
}

/// `GET /transaction/verify/{reference}`.
pub(crate) async fn verify(State(shared): State<Arc<Shared>>, Path(reference): Path<String>, headers: HeaderMap) -> Response {
    if let Some(answer) = injected(&shared, Endpoint::PaystackVerify).await {
        return answer;
    }
    if !authorised(&shared, &headers) {
        return invalid_key();
    }
    let state = shared.state();
    let Some(record) = state.record(&reference).filter(|r| r.prompt.provider == Provider::Paystack) else {
        return paystack_error(StatusCode::BAD_REQUEST, "Transaction reference not found");
    };
    let data = transaction(record, state.paystack_pending_reads_abandoned);
    json_response(StatusCode::OK, json!({"status": true, "message": "Verification successful", "data": data}))
}

/// Why a failed mobile-money charge failed, as `gateway_response` words it.
fn gateway_response(resolution: Resolution) -> &'static str {
    match resolution {
        Resolution::Approve => "Approved",
        Resolution::Cancel => "Transaction cancelled by user",
        Resolution::Timeout => "Transaction timed out",
        Resolution::WrongPin => "Declined",
        Resolution::InsufficientFunds => "Insufficient funds",
    }
}

/// The transaction object of Verify and of the webhook's `data`; a pending charge is
/// `abandoned` (the customer has not completed it) when `pending_abandoned`, else `ongoing`.
fn transaction(record: &Record, pending_abandoned: bool) -> Value {
    let prompt = &record.prompt;
    let (status, gateway) = match prompt.state {
        PromptState::Pending if pending_abandoned => ("abandoned", None),
        PromptState::Pending => ("ongoing", None),
        PromptState::Resolved(Resolution::Approve) => ("success", Some(gateway_response(Resolution::Approve))),
        PromptState::Resolved(other) => ("failed", Some(gateway_response(other))),
    };
    let requested = prompt.amount_kes * 100;
    let fees = requested * 15 / 1000;
    let cents = if record.fees_on_customer { requested + fees } else { requested };
    let paid_at = (status == "success").then(|| iso_utc(record.resolved_unix.unwrap_or(record.created_unix)));
    let created_at = iso_utc(record.created_unix);
    let local = format!("0{}", &prompt.msisdn[3..]);
    let customer_code = format!("CUS_{}", &prompt.msisdn[3..]);
    json!({
        "id": record.paystack_id,
        "domain": "test",
        "status": status,
        "reference": prompt.provider_ref,
        "receipt_number": prompt.receipt,
        "amount": cents,
        "requested_amount": requested,
        "message": null,
        "gateway_response": gateway,
        "paid_at": paid_at,
        "paidAt": paid_at,
        "created_at": created_at,
        "createdAt": created_at,
        "channel": "mobile_money",
        "currency": "KES",
        "ip_address": null,
        "metadata": record.metadata,
        "log": null,
        "fees": fees,
        "authorization": {
            "authorization_code": format!("AUTH_{}", record.paystack_id),
            "bin": format!("{}XXX", &local[..3]),
            "last4": format!("X{}", &local[local.len() - 3..]),
            "exp_month": "12",
            "exp_year": "9999",
            "channel": "mobile_money",
            "card_type": "",
            "bank": "M-PESA",
            "country_code": "KE",
            "brand": "M-pesa",
            "reusable": false,
            "signature": null,
            "account_name": null,
            "mobile_money_number": local,
        },
        "customer": {
            "id": record.paystack_id % 1_000_000,
            "first_name": null,
            "last_name": null,
            "email": record.email,
            "customer_code": customer_code,
            "phone": format!("+{}", prompt.msisdn),
            "metadata": null,
            "risk_action": "default",
        },
    })
}

/// The `charge.success` body and its `x-paystack-signature`; `None` for anything but an
/// approval, since Paystack sends no event for failed mobile-money charges.
pub(crate) fn webhook(record: &Record, resolution: Resolution, secret_key: &str) -> Option<(String, String)> {
    if resolution != Resolution::Approve {
        return None;
    }
    let body = json!({"event": "charge.success", "data": transaction(record, false)}).to_string();
    let signature = signature(secret_key, body.as_bytes());
    Some((body, signature))
}

/// Hex HMAC-SHA512 of the exact body bytes, keyed with the secret key.
pub fn signature(secret_key: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha512>::new_from_slice(secret_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}
