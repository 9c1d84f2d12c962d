//! PayHero's transaction-status answer, read.

use serde_json::Value;

use crate::providers::daraja::result_status;
use crate::providers::{FailureReason, PaymentStatus, ProviderEvent, code_text, whole_kes};

/// What `GET /api/v2/transaction-status` said: QUEUED is pending, SUCCESS paid (receipt in
/// `provider_reference` or `third_party_reference`), FAILED failed. An unknown status is
/// read as pending: anything but SUCCESS is not paid, and the payments service gives up
/// after its own deadline.
pub(crate) fn status_event(provider_ref: &str, body: &Value) -> ProviderEvent {
    let first = |keys: &[&str]| keys.iter().find_map(|key| body.get(*key).and_then(code_text).filter(|t| !t.is_empty()));
    let state = body.get("status").and_then(Value::as_str).unwrap_or_default().trim().to_ascii_uppercase();
    let description = first(&["ResultDesc", "result_desc", "message"]).unwrap_or_default();
    let status = match state.as_str() {
        "SUCCESS" => PaymentStatus::Paid,
        "QUEUED" => PaymentStatus::Pending,
        "FAILED" => {
            // Not in the documented answer, but if Safaricom's code is there, use it.
            let from_code = first(&["ResultCode", "result_code"]).map(|code| result_status(&code, &description));
            match from_code {
                Some(failed @ PaymentStatus::Failed(_)) => failed,
                _ if description.is_empty() => PaymentStatus::Failed(FailureReason::Other("PayHero reports the payment failed".to_owned())),
                _ => PaymentStatus::Failed(FailureReason::Other(description.clone())),
            }
        }
        other => {
            tracing::warn!(provider = "payhero", provider_ref, status = other, "unknown transaction status; read as pending");
            PaymentStatus::Pending
        }
    };
    let paid = status == PaymentStatus::Paid;
    ProviderEvent {
        provider_ref: provider_ref.to_owned(),
        receipt: if paid { first(&["provider_reference", "third_party_reference"]) } else { None },
        amount_kes: body.get("amount").and_then(|amount| whole_kes(amount).ok()),
        status,
        code: state,
        description,
        msisdn: None,
        our_ref: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_documented_success() {
        let body = json!({"transaction_date":"2024-11-26T08:41:14.160604Z","provider":"m-pesa","success":true,"merchant":"Ron Doe",
            "payment_reference":"","third_party_reference":"SKQ96C7K7H","status":"SUCCESS","reference":"6b71",
            "CheckoutRequestID":"","provider_reference":"SKQ96C7K7H"});
        let event = status_event("6b71", &body);
        assert_eq!(event.status, PaymentStatus::Paid);
        assert_eq!(event.receipt.as_deref(), Some("SKQ96C7K7H"));
        assert_eq!(event.code, "SUCCESS");
    }

    #[test]
    fn receipt_from_either_field() {
        let body = json!({"status":"SUCCESS","provider_reference":"","third_party_reference":"SKQ96C7K7J"});
        assert_eq!(status_event("r", &body).receipt.as_deref(), Some("SKQ96C7K7J"));
    }

    #[test]
    fn states() {
        let cases = [
            (json!({"status":"QUEUED","success":true}), PaymentStatus::Pending),
            (json!({"status":"queued"}), PaymentStatus::Pending),
            (json!({"status":"SOMETHING_NEW"}), PaymentStatus::Pending),
            (json!({"status":"FAILED"}), PaymentStatus::Failed(FailureReason::Other("PayHero reports the payment failed".into()))),
            (
                json!({"status":"FAILED","ResultCode":"1032","ResultDesc":"Request cancelled by user"}),
                PaymentStatus::Failed(FailureReason::Cancelled),
            ),
            (json!({"status":"FAILED","result_desc":"Insufficient"}), PaymentStatus::Failed(FailureReason::Other("Insufficient".into()))),
        ];
        for (body, expected) in cases {
            let event = status_event("r", &body);
            assert_eq!(event.status, expected, "{body}");
            assert_eq!(event.receipt, None, "{body}");
        }
    }
}
