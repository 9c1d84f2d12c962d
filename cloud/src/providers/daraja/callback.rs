//! Daraja's STK callback, read with every quirk seen in the wild, and the M-Pesa result-code
//! table (shared with PayHero, which forwards Safaricom's codes).

use serde_json::Value;

use crate::providers::{CallbackError, FailureReason, PaymentStatus, ProviderEvent, code_text, digits_text, whole_kes};

/// What an M-Pesa `ResultCode` (callback or query) says about the payment. Switches on the
/// code only: the text varies for one code ("DS timeout.", "No response from user.").
pub fn result_status(code: &str, description: &str) -> PaymentStatus {
    let reason = match code.trim() {
        "0" => return PaymentStatus::Paid,
        // Query only: "The transaction is still under processing".
        "4999" => return PaymentStatus::Pending,
        "1" => FailureReason::InsufficientFunds,
        "1031" | "1032" => FailureReason::Cancelled,
        "1037" | "1019" => FailureReason::Timeout,
        "2001" => FailureReason::WrongPin,
        "2" | "3" | "4" | "8" => FailureReason::LimitExceeded,
        "17" | "26" | "1001" => FailureReason::Busy,
        other => FailureReason::Other(match description.trim() {
            "" => format!("M-Pesa result code {other}"),
            text => text.to_owned(),
        }),
    };
    PaymentStatus::Failed(reason)
}

/// One STK callback, read. Only `checkout_request_id` and `result_code` are required; the
/// metadata items are there for successes only, and each of them may be missing.
// Debug hides its secrets: crate::redact.
#[derive(Clone, PartialEq, Eq)]
pub struct StkCallback {
    /// `MerchantRequestID` (empty if absent).
    pub merchant_request_id: String,
    /// `CheckoutRequestID`: the join key with our push.
    pub checkout_request_id: String,
    /// `ResultCode` as text (sent as a number; a string is accepted).
    pub result_code: String,
    /// `ResultDesc`.
    pub result_desc: String,
    /// `Amount` in whole shillings (sent as `1`, `1.0`, `1.00` or `"1"`).
    pub amount_kes: Option<u32>,
    /// `MpesaReceiptNumber`.
    pub receipt: Option<String>,
    /// `TransactionDate`, `YYYYMMDDHHmmss` Nairobi time.
    pub transaction_date: Option<String>,
    /// `PhoneNumber`, `2547XXXXXXXX`.
    pub phone: Option<String>,
}

fn malformed(what: &str) -> CallbackError {
    CallbackError::Malformed(format!("Daraja STK callback: {what}"))
}

impl StkCallback {
    /// Reads `{"Body":{"stkCallback":{…}}}`.
    pub fn parse(body: &[u8]) -> Result<StkCallback, CallbackError> {
        let root: Value = serde_json::from_slice(body).map_err(|e| malformed(&format!("not JSON ({e})")))?;
        let callback = root.pointer("/Body/stkCallback").ok_or_else(|| malformed("no Body.stkCallback"))?;
        let text = |key: &str| callback.get(key).and_then(Value::as_str).map(str::trim).unwrap_or_default().to_owned();
        let checkout_request_id = text("CheckoutRequestID");
        if checkout_request_id.is_empty() {
            return Err(malformed("no CheckoutRequestID"));
        }
        let result_code =
            callback.get("ResultCode").and_then(code_text).filter(|code| !code.is_empty()).ok_or_else(|| malformed("no ResultCode"))?;
        let mut parsed = StkCallback {
            merchant_request_id: text("MerchantRequestID"),
            checkout_request_id,
            result_code,
            result_desc: text("ResultDesc"),
            amount_kes: None,
            receipt: None,
            transaction_date: None,
            phone: None,
        };
        // Failures carry no metadata; successes carry name-keyed items, in any order, some
        // (`Balance`) without a value.
        let items = callback.pointer("/CallbackMetadata/Item").and_then(Value::as_array);
        let item = |name: &str| {
            items?
                .iter()
                .find(|item| item.get("Name").and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case(name)))?
                .get("Value")
                .filter(|value| !value.is_null())
        };
        if parsed.result_code == "0" {
            parsed.amount_kes = item("Amount").map(whole_kes).transpose().map_err(|e| malformed(&e))?;
            parsed.receipt = item("MpesaReceiptNumber").and_then(code_text).filter(|r| !r.is_empty());
            parsed.transaction_date = item("TransactionDate").and_then(digits_text);
            parsed.phone = item("PhoneNumber").and_then(digits_text);
        }
        Ok(parsed)
    }

    /// The normalised event.
    pub fn into_event(self) -> ProviderEvent {
        ProviderEvent {
            status: result_status(&self.result_code, &self.result_desc),
            provider_ref: self.checkout_request_id,
            amount_kes: self.amount_kes,
            receipt: self.receipt,
            code: self.result_code,
            description: self.result_desc,
            msisdn: self.phone,
            our_ref: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::FailureReason::*;

    const DOCS_SUCCESS: &str = r#"{"Body":{"stkCallback":{"MerchantRequestID":"29115-34620561-1","CheckoutRequestID":"ws_CO_191220191020363925",
 "ResultCode":0,"ResultDesc":"The service request is processed successfully.",
 "CallbackMetadata":{"Item":[{"Name":"Amount","Value":1.00},{"Name":"MpesaReceiptNumber","Value":"NLJ7RT61SV"},
  {"Name":"Balance"},{"Name":"TransactionDate","Value":20191219102115},{"Name":"PhoneNumber","Value":254708374149}]}}}}"#;

    #[test]
    fn the_documented_success() {
        let callback = StkCallback::parse(DOCS_SUCCESS.as_bytes()).unwrap();
        assert_eq!(
            callback,
            StkCallback {
                merchant_request_id: "29115-34620561-1".into(),
                checkout_request_id: "ws_CO_191220191020363925".into(),
                result_code: "0".into(),
                result_desc: "The service request is processed successfully.".into(),
                amount_kes: Some(1),
                receipt: Some("NLJ7RT61SV".into()),
                transaction_date: Some("20191219102115".into()),
                phone: Some("254708374149".into()),
            }
        );
        let event = callback.into_event();
        assert_eq!(event.status, PaymentStatus::Paid);
        assert_eq!(event.provider_ref, "ws_CO_191220191020363925");
        assert_eq!(event.code, "0");
    }

    fn success_with(items: &str, result_code: &str) -> String {
        format!(
            r#"{{"Body":{{"stkCallback":{{"MerchantRequestID":"m","CheckoutRequestID":"ws_CO_1","ResultCode":{result_code},
            "ResultDesc":"ok","CallbackMetadata":{{"Item":[{items}]}}}}}}}}"#
        )
    }

    #[test]
    fn success_quirks() {
        // (items, result code as sent, amount, receipt, date, phone)
        let cases = [
            (r#"{"Name":"Amount","Value":1},{"Name":"MpesaReceiptNumber","Value":"R1"}"#, "0", 1, "R1", None, None),
            (r#"{"Name":"Amount","Value":1.0},{"Name":"MpesaReceiptNumber","Value":"R2"}"#, "0", 1, "R2", None, None),
            (r#"{"Name":"Amount","Value":"50"},{"Name":"MpesaReceiptNumber","Value":"R3"}"#, "\"0\"", 50, "R3", None, None),
            (r#"{"Name":"Amount","Value":"50.00"},{"Name":"MpesaReceiptNumber","Value":"R4"}"#, "0", 50, "R4", None, None),
            // No Balance item at all, items in another order, date and phone as strings.
            (
                r#"{"Name":"PhoneNumber","Value":"254708374149"},{"Name":"TransactionDate","Value":"20240101120000"},
                   {"Name":"MpesaReceiptNumber","Value":"R5"},{"Name":"Amount","Value":10}"#,
                "0",
                10,
                "R5",
                Some("20240101120000"),
                Some("254708374149"),
            ),
            // Balance with a null value, and with a value.
            (
                r#"{"Name":"Amount","Value":5},{"Name":"Balance","Value":null},{"Name":"MpesaReceiptNumber","Value":"R6"},
                   {"Name":"TransactionDate","Value":20240101120000},{"Name":"PhoneNumber","Value":254110000000}"#,
                "0",
                5,
                "R6",
                Some("20240101120000"),
                Some("254110000000"),
            ),
            (
                r#"{"Name":"Balance","Value":"1000.00"},{"Name":"Amount","Value":7},{"Name":"MpesaReceiptNumber","Value":"R7"}"#,
                "0",
                7,
                "R7",
                None,
                None,
            ),
        ];
        for (items, code, amount, receipt, date, phone) in cases {
            let body = success_with(items, code);
            let callback = StkCallback::parse(body.as_bytes()).unwrap_or_else(|e| panic!("{body}: {e}"));
            assert_eq!(callback.result_code, "0", "{body}");
            assert_eq!(callback.amount_kes, Some(amount), "{body}");
            assert_eq!(callback.receipt.as_deref(), Some(receipt), "{body}");
            assert_eq!(callback.transaction_date.as_deref(), date, "{body}");
            assert_eq!(callback.phone.as_deref(), phone, "{body}");
            assert_eq!(callback.into_event().status, PaymentStatus::Paid);
        }
    }

    #[test]
    fn failures_without_metadata() {
        let cases = [
            ("1032", "Request cancelled by user", Cancelled),
            ("1031", "Request cancelled by user", Cancelled),
            ("1037", "DS timeout user cannot be reached", Timeout),
            ("1037", "No response from user.", Timeout),
            ("1019", "Transaction has expired", Timeout),
            ("1", "The balance is insufficient for the transaction.", InsufficientFunds),
            ("2001", "The initiator information is invalid.", WrongPin),
            ("2", "Declined due to limit rule", LimitExceeded),
            ("3", "Declined due to limit rule", LimitExceeded),
            ("4", "would exceed daily transfer limit", LimitExceeded),
            ("8", "would exceed the maximum balance", LimitExceeded),
            ("17", "Rule limited.", Busy),
            ("26", "System busy", Busy),
            ("1001", "Unable to lock subscriber", Busy),
            ("1025", "An error occurred while sending a push request", Other("An error occurred while sending a push request".into())),
            (
                "2028",
                "The request is not permitted according to product assignment",
                Other("The request is not permitted according to product assignment".into()),
            ),
            ("9999", "", Other("M-Pesa result code 9999".into())),
        ];
        for (code, desc, reason) in cases {
            for sent in [code.to_owned(), format!("\"{code}\"")] {
                let body = format!(
                    r#"{{"Body":{{"stkCallback":{{"MerchantRequestID":"m","CheckoutRequestID":"ws_CO_9","ResultCode":{sent},"ResultDesc":"{desc}"}}}}}}"#
                );
                let event = StkCallback::parse(body.as_bytes()).unwrap().into_event();
                assert_eq!(event.status, PaymentStatus::Failed(reason.clone()), "{body}");
                assert_eq!((event.code.as_str(), event.amount_kes, event.receipt), (code, None, None));
            }
        }
        let text_code =
            r#"{"Body":{"stkCallback":{"CheckoutRequestID":"c","ResultCode":"SFC_IC0003","ResultDesc":"The operator does not exist"}}}"#;
        let event = StkCallback::parse(text_code.as_bytes()).unwrap().into_event();
        assert_eq!(event.status, PaymentStatus::Failed(Other("The operator does not exist".into())));
    }

    #[test]
    fn malformed_callbacks() {
        let cases = [
            "not json",
            r#"{"Body":{}}"#,
            r#"{"Body":{"stkCallback":{"ResultCode":0}}}"#,
            r#"{"Body":{"stkCallback":{"CheckoutRequestID":"c"}}}"#,
            r#"{"Body":{"stkCallback":{"CheckoutRequestID":"c","ResultCode":null}}}"#,
            r#"{"Body":{"stkCallback":{"CheckoutRequestID":"c","ResultCode":0,"CallbackMetadata":{"Item":[{"Name":"Amount","Value":1.5}]}}}}"#,
        ];
        for body in cases {
            assert!(matches!(StkCallback::parse(body.as_bytes()), Err(CallbackError::Malformed(_))), "{body}");
        }
    }

    #[test]
    fn query_codes() {
        assert_eq!(result_status("4999", "The transaction is still under processing"), PaymentStatus::Pending);
        assert_eq!(result_status("0", ""), PaymentStatus::Paid);
    }
}
