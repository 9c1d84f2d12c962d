//! Paystack's wire: what a charge and a Verify answer mean.

use serde_json::Value;

use crate::providers::{FailureReason, PaymentStatus, ProviderError, ProviderEvent, PushAccepted, Reply};

/// Whole shillings from the amount we asked for, in cents, which must be KES and whole:
/// `requested_amount` where the transaction has it (when the customer pays the fees,
/// `amount` is that plus the fees, and a correct payment must not look wrong), else
/// `amount`.
pub(super) fn kes_from_cents(data: &Value) -> Result<u32, String> {
    let currency = data.get("currency").and_then(Value::as_str).unwrap_or_default();
    if currency != "KES" {
        return Err(format!("currency {currency:?}, not KES"));
    }
    let requested = data.get("requested_amount").and_then(Value::as_u64).filter(|cents| *cents > 0);
    let cents = requested.or_else(|| data.get("amount").and_then(Value::as_u64)).ok_or("no amount in cents")?;
    if cents % 100 != 0 {
        return Err(format!("amount {cents} cents is not whole shillings"));
    }
    u32::try_from(cents / 100).map_err(|_| format!("amount {cents} cents is too large"))
}

/// `data.message`, else `data.gateway_response` (the top-level `message` only says how the
/// API call went: "Charge attempted", "Verification successful").
fn reason_text(reply_body: &Value) -> String {
    ["/data/message", "/data/gateway_response"]
        .iter()
        .find_map(|pointer| reply_body.pointer(pointer).and_then(Value::as_str).map(str::trim).filter(|t| !t.is_empty()))
        .unwrap_or_default()
        .to_owned()
}

/// Paystack passes Safaricom's words through; read the common ones into reasons.
fn failure_reason(state: &str, text: &str) -> FailureReason {
    let lower = text.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|word| lower.contains(word));
    if has(&["cancel"]) {
        FailureReason::Cancelled
    } else if has(&["insufficient"]) {
        FailureReason::InsufficientFunds
    } else if has(&["timeout", "timed out", "cannot be reached", "no response", "expired"]) {
        FailureReason::Timeout
    } else if has(&["initiator information is invalid", "wrong pin", "invalid pin", "incorrect pin"]) {
        FailureReason::WrongPin
    } else if has(&["limit"]) {
        FailureReason::LimitExceeded
    } else if state == "abandoned" && text.is_empty() {
        // The customer never completed the prompt.
        FailureReason::Timeout
    } else if text.is_empty() {
        FailureReason::Other(format!("Paystack transaction {state}"))
    } else {
        FailureReason::Other(text.to_owned())
    }
}

/// What an HTTP error answer means (no `data.status` to go by).
fn api_error(reply: &Reply) -> ProviderError {
    let status = reply.status;
    let message = reply.str("message").unwrap_or_default().trim().to_owned();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        ProviderError::Auth(format!("Paystack refused the secret key ({status}: {message})"))
    } else if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        ProviderError::Busy(format!("Paystack is rate limiting ({message})"))
    } else if status.is_server_error() || reply.body.is_null() && !status.is_client_error() {
        ProviderError::Unavailable(format!("Paystack answered {status}: {message}"))
    } else {
        let code = reply.str("code").map_or_else(|| status.as_u16().to_string(), str::to_owned);
        ProviderError::Rejected { code, message: format!("Paystack refused the request: {message}") }
    }
}

/// The answer to `POST /charge`. `pay_offline` (the M-Pesa prompt was sent), `pending` and
/// `success` are accepted; `failed` is refused with Paystack's reason. The failed form can
/// come with an HTTP error status, so `data.status` is read first.
pub(crate) fn charge_result(reply: &Reply, reference: &str) -> Result<PushAccepted, ProviderError> {
    let state = reply.body.pointer("/data/status").and_then(Value::as_str).unwrap_or_default();
    match state {
        "pay_offline" | "pending" | "success" | "ongoing" | "processing" => {
            let provider_ref = reply.body.pointer("/data/reference").and_then(Value::as_str).filter(|r| !r.is_empty());
            Ok(PushAccepted { provider_ref: provider_ref.unwrap_or(reference).to_owned(), secondary_ref: None })
        }
        "failed" => {
            let text = reason_text(&reply.body);
            Err(ProviderError::Rejected { code: "failed".to_owned(), message: format!("Paystack refused the charge: {text}") })
        }
        "" => Err(api_error(reply)),
        other => Err(ProviderError::Rejected {
            code: other.to_owned(),
            message: format!("Paystack asked for step {other:?}, which an M-Pesa charge does not have"),
        }),
    }
}

/// The answer to `GET /transaction/verify/{reference}`. "Transaction reference not found"
/// (the charge may not be recorded yet) is read as pending, like Daraja's unknown ids: the
/// payments service gives up after its own deadline.
pub(crate) fn verify_event(provider_ref: &str, reply: &Reply) -> Result<ProviderEvent, ProviderError> {
    let data = reply.body.get("data").filter(|data| data.is_object());
    let Some(data) = data.filter(|_| reply.status.is_success()) else {
        let message = reply.str("message").unwrap_or_default();
        if message.to_ascii_lowercase().contains("reference not found") && reply.status.is_client_error() {
            return Ok(ProviderEvent {
                provider_ref: provider_ref.to_owned(),
                status: PaymentStatus::Pending,
                amount_kes: None,
                receipt: None,
                code: "not_found".to_owned(),
                description: message.to_owned(),
                msisdn: None,
                our_ref: None,
            });
        }
        return Err(api_error(reply));
    };
    let state = data.get("status").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase();
    let text = reason_text(&reply.body);
    let mut amount_kes = None;
    let status = match state.as_str() {
        "success" => match kes_from_cents(data) {
            Ok(kes) => {
                amount_kes = Some(kes);
                PaymentStatus::Paid
            }
            // Money moved, but not what we charged: do not provision; an operator looks.
            Err(why) => PaymentStatus::Failed(FailureReason::Other(format!("paid, but {why}"))),
        },
        "failed" | "abandoned" | "reversed" => PaymentStatus::Failed(failure_reason(&state, &text)),
        "ongoing" | "pending" | "processing" | "queued" | "pay_offline" => PaymentStatus::Pending,
        other => {
            tracing::warn!(provider = "paystack", provider_ref, status = other, "unknown transaction status; read as pending");
            PaymentStatus::Pending
        }
    };
    Ok(ProviderEvent {
        provider_ref: data.get("reference").and_then(Value::as_str).filter(|r| !r.is_empty()).unwrap_or(provider_ref).to_owned(),
        receipt: receipt(data).filter(|_| status == PaymentStatus::Paid),
        status,
        amount_kes,
        code: state,
        description: text,
        msisdn: None,
        our_ref: None,
    })
}

pub(super) fn receipt(data: &Value) -> Option<String> {
    data.get("receipt_number").and_then(Value::as_str).map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned)
}

/// The answer to `GET /balance` (Transfers Control, "Check Balance":
/// `{"status":true,"message":"Balances retrieved","data":[{"currency":"NGN","balance":1700000}]}`,
/// amounts in subunits), in words for the owner: Paystack's message and each balance.
pub(crate) fn balance_said(reply: &Reply) -> Result<String, ProviderError> {
    if !reply.status.is_success() {
        return Err(api_error(reply));
    }
    let Some(balances) = reply.body.get("data").and_then(Value::as_array) else {
        return Err(ProviderError::Unavailable(format!("Paystack's balance answer has no data (HTTP {})", reply.status)));
    };
    let each: Vec<String> = balances
        .iter()
        .filter_map(|entry| {
            let currency = entry.get("currency").and_then(Value::as_str)?;
            let cents = entry.get("balance").and_then(Value::as_i64)?;
            Some(format!("{currency} {}.{:02}", cents / 100, (cents % 100).abs()))
        })
        .collect();
    let message = reply.str("message").map(str::trim).filter(|m| !m.is_empty()).unwrap_or("Balances retrieved");
    Ok(if each.is_empty() { format!("Paystack: {message}") } else { format!("Paystack: {message} ({})", each.join(", ")) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;
    use serde_json::json;

    #[test]
    fn balance_answers() {
        let documented = reply(200, json!({"status":true,"message":"Balances retrieved","data":[{"currency":"NGN","balance":1700000}]}));
        assert_eq!(balance_said(&documented).unwrap(), "Paystack: Balances retrieved (NGN 17000.00)");
        let kes = reply(200, json!({"status":true,"message":"Balances retrieved","data":[{"currency":"KES","balance":12345}]}));
        assert_eq!(balance_said(&kes).unwrap(), "Paystack: Balances retrieved (KES 123.45)");
        let refused = reply(401, json!({"status":false,"message":"Invalid key"}));
        assert!(matches!(balance_said(&refused), Err(ProviderError::Auth(m)) if m.contains("Invalid key")));
        assert!(matches!(balance_said(&reply(200, Value::Null)), Err(ProviderError::Unavailable(_))));
    }

    fn reply(status: u16, body: Value) -> Reply {
        Reply { status: StatusCode::from_u16(status).unwrap(), body }
    }

    #[test]
    fn the_amount_checked_is_the_amount_requested() {
        let paid = |data: Value| kes_from_cents(&data);
        // The customer paid the fees: 2000 requested, 2030 taken.
        assert_eq!(paid(json!({"currency":"KES","amount":2030,"requested_amount":2000,"fees":30})), Ok(20));
        assert_eq!(paid(json!({"currency":"KES","amount":2000})), Ok(20), "no requested_amount: the amount");
        assert!(paid(json!({"currency":"KES","amount":2000,"requested_amount":1050})).is_err(), "not whole shillings");
        assert!(paid(json!({"currency":"NGN","amount":2000,"requested_amount":2000})).is_err());
    }

    #[test]
    fn charge_answers() {
        let offline = reply(
            200,
            json!({"status":true,"message":"Charge attempted","data":{"reference":"hs_1","status":"pay_offline",
            "display_text":"Please complete authorization process on your mobile phone"}}),
        );
        assert_eq!(charge_result(&offline, "hs_1"), Ok(PushAccepted { provider_ref: "hs_1".into(), secondary_ref: None }));
        for state in ["pending", "success"] {
            let answer = reply(200, json!({"status":true,"data":{"status":state}}));
            assert_eq!(charge_result(&answer, "ours").unwrap().provider_ref, "ours", "{state}");
        }

        let failed = reply(
            400,
            json!({"status":false,"message":"Charge attempted","data":{"reference":"hs_2","status":"failed",
            "message":"The balance is insufficient for the transaction","gateway_response":"Declined"}}),
        );
        assert!(matches!(charge_result(&failed, "hs_2"),
            Err(ProviderError::Rejected { code, message }) if code == "failed" && message.contains("insufficient")));
        let failed_gateway = reply(200, json!({"status":true,"data":{"status":"failed","message":null,"gateway_response":"Declined"}}));
        assert!(
            matches!(charge_result(&failed_gateway, "r"), Err(ProviderError::Rejected { message, .. }) if message.contains("Declined"))
        );
        let otp = reply(200, json!({"status":true,"data":{"status":"send_otp"}}));
        assert!(matches!(charge_result(&otp, "r"), Err(ProviderError::Rejected { code, .. }) if code == "send_otp"));
    }

    #[test]
    fn charge_errors() {
        type Check = fn(&ProviderError) -> bool;
        let cases: [(Reply, Check); 5] = [
            (
                reply(401, json!({"status":false,"message":"Invalid key"})),
                |e| matches!(e, ProviderError::Auth(m) if m.contains("Invalid key")),
            ),
            (
                reply(400, json!({"status":false,"message":"Duplicate Transaction Reference"})),
                |e| matches!(e, ProviderError::Rejected { message, .. } if message.contains("Duplicate")),
            ),
            (reply(429, json!({"status":false,"message":"Too many requests"})), |e| matches!(e, ProviderError::Busy(_))),
            (reply(502, Value::Null), |e| matches!(e, ProviderError::Unavailable(_))),
            (reply(200, Value::Null), |e| matches!(e, ProviderError::Unavailable(_))),
        ];
        for (reply, check) in cases {
            let error = charge_result(&reply, "r").unwrap_err();
            assert!(check(&error), "{reply:?} gave {error:?}");
        }
    }

    fn verify(data: Value) -> ProviderEvent {
        verify_event("hs_1", &reply(200, json!({"status":true,"message":"Verification successful","data":data}))).unwrap()
    }

    #[test]
    fn verified_success() {
        let event = verify(json!({"id":1,"domain":"live","status":"success","reference":"hs_1","amount":5000,"currency":"KES",
            "channel":"mobile_money","gateway_response":"Approved","receipt_number":"SKQ96C7K7H"}));
        assert_eq!(event.status, PaymentStatus::Paid);
        assert_eq!((event.amount_kes, event.receipt.as_deref(), event.code.as_str()), (Some(50), Some("SKQ96C7K7H"), "success"));
        assert_eq!(event.description, "Approved");

        let dollars = verify(json!({"status":"success","reference":"hs_1","amount":5000,"currency":"USD"}));
        assert!(matches!(dollars.status, PaymentStatus::Failed(FailureReason::Other(m)) if m.contains("USD")));
        let cents = verify(json!({"status":"success","reference":"hs_1","amount":5050,"currency":"KES"}));
        assert!(matches!(cents.status, PaymentStatus::Failed(FailureReason::Other(m)) if m.contains("5050")));
    }

    #[test]
    fn verified_states() {
        let cases = [
            ("failed", "Request cancelled by user", PaymentStatus::Failed(FailureReason::Cancelled)),
            ("failed", "The balance is insufficient for the transaction", PaymentStatus::Failed(FailureReason::InsufficientFunds)),
            ("failed", "DS timeout user cannot be reached", PaymentStatus::Failed(FailureReason::Timeout)),
            ("failed", "The initiator information is invalid.", PaymentStatus::Failed(FailureReason::WrongPin)),
            ("failed", "Declined", PaymentStatus::Failed(FailureReason::Other("Declined".into()))),
            ("abandoned", "", PaymentStatus::Failed(FailureReason::Timeout)),
            ("reversed", "", PaymentStatus::Failed(FailureReason::Other("Paystack transaction reversed".into()))),
            ("ongoing", "", PaymentStatus::Pending),
            ("pending", "", PaymentStatus::Pending),
            ("processing", "", PaymentStatus::Pending),
            ("queued", "", PaymentStatus::Pending),
            ("something_new", "", PaymentStatus::Pending),
        ];
        for (state, text, expected) in cases {
            let event = verify(json!({"status":state,"reference":"hs_1","amount":5000,"currency":"KES","gateway_response":text}));
            assert_eq!(event.status, expected, "{state} {text}");
            assert_eq!((event.amount_kes, event.receipt), (None, None));
        }
    }

    #[test]
    fn verify_errors() {
        let unknown = reply(400, json!({"status":false,"message":"Transaction reference not found"}));
        assert_eq!(verify_event("hs_9", &unknown).unwrap().status, PaymentStatus::Pending);
        let bad_key = reply(401, json!({"status":false,"message":"Invalid key"}));
        assert!(matches!(verify_event("hs_9", &bad_key), Err(ProviderError::Auth(_))));
        assert!(matches!(verify_event("hs_9", &reply(500, Value::Null)), Err(ProviderError::Unavailable(_))));
    }
}
