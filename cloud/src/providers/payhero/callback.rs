//! PayHero's v2 callback, read (the documented success form, the failure form, and the
//! extra keys seen in the wild).

use serde_json::Value;

use crate::providers::daraja::result_status;
use crate::providers::{CallbackError, PaymentStatus, ProviderEvent, code_text, digits_text, whole_kes};

/// A PayHero v2 callback, read. Failures come with top-level `status:false`,
/// `response.Status` "Failed", Safaricom's `ResultCode` and an empty receipt.
// Debug hides its secrets: crate::redact.
#[derive(Clone, PartialEq, Eq)]
pub struct PayHeroCallback {
    /// Top-level `status`.
    pub ok: bool,
    /// `response.Status` ("Success" / "Failed").
    pub state: String,
    /// Safaricom's `CheckoutRequestID`: [`crate::providers::PushAccepted::secondary_ref`].
    pub checkout_request_id: String,
    /// `ExternalReference`: our payment id.
    pub external_reference: String,
    /// Safaricom's `ResultCode`, as text.
    pub result_code: String,
    /// Safaricom's `ResultDesc`.
    pub result_desc: String,
    /// `Amount` in whole shillings.
    pub amount_kes: Option<u32>,
    /// `MpesaReceiptNumber`, unless empty.
    pub receipt: Option<String>,
    /// `Phone`, digits only (sent with or without `+`).
    pub phone: Option<String>,
}

fn malformed(what: &str) -> CallbackError {
    CallbackError::Malformed(format!("PayHero callback: {what}"))
}

impl PayHeroCallback {
    /// Reads `{"forward_url":…,"response":{…},"status":…}`; unknown keys are ignored.
    pub fn parse(body: &[u8]) -> Result<PayHeroCallback, CallbackError> {
        let root: Value = serde_json::from_slice(body).map_err(|e| malformed(&format!("not JSON ({e})")))?;
        let response = root.get("response").filter(|r| r.is_object()).ok_or_else(|| malformed("no response object"))?;
        let text = |key: &str| response.get(key).and_then(code_text).unwrap_or_default();
        let checkout_request_id = text("CheckoutRequestID");
        let external_reference = text("ExternalReference");
        if checkout_request_id.is_empty() && external_reference.is_empty() {
            return Err(malformed("neither CheckoutRequestID nor ExternalReference"));
        }
        let result_code = text("ResultCode");
        if result_code.is_empty() {
            return Err(malformed("no ResultCode"));
        }
        let amount = response.get("Amount").filter(|a| !a.is_null()).map(whole_kes).transpose();
        let amount_kes = match amount {
            Ok(amount) => amount,
            Err(e) if result_code == "0" => return Err(malformed(&e)),
            Err(_) => None,
        };
        Ok(PayHeroCallback {
            ok: root.get("status").and_then(Value::as_bool).unwrap_or(result_code == "0"),
            state: text("Status"),
            external_reference,
            result_desc: text("ResultDesc"),
            receipt: Some(text("MpesaReceiptNumber")).filter(|r| !r.is_empty()),
            phone: response.get("Phone").and_then(digits_text),
            checkout_request_id,
            result_code,
            amount_kes,
        })
    }

    /// The normalised event, keyed by the CheckoutRequestID (the callback has no PayHero
    /// `reference`), or by our `ExternalReference` when there is none; the
    /// `ExternalReference` is its `our_ref` either way. A result code 0 that the rest of the callback contradicts
    /// (`status:false` or Status "Failed") is reported as pending: ask the status endpoint.
    pub fn into_event(self) -> ProviderEvent {
        let contradicted = !self.ok || self.state.eq_ignore_ascii_case("failed");
        let status = match result_status(&self.result_code, &self.result_desc) {
            PaymentStatus::Paid if contradicted => {
                tracing::warn!(provider = "payhero", checkout = %self.checkout_request_id, external_reference = %self.external_reference, "ResultCode 0 in a failed callback");
                PaymentStatus::Pending
            }
            status => status,
        };
        let our_ref = Some(self.external_reference).filter(|r| !r.is_empty());
        let provider_ref = match self.checkout_request_id {
            id if id.is_empty() => our_ref.clone().unwrap_or_default(),
            id => id,
        };
        ProviderEvent {
            provider_ref,
            our_ref,
            status,
            amount_kes: self.amount_kes,
            receipt: self.receipt,
            code: self.result_code,
            description: self.result_desc,
            msisdn: self.phone,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::FailureReason;

    const DOCS_SUCCESS: &str = r#"{"forward_url":"","response":{"Amount":10,"CheckoutRequestID":"ws_CO_14012024103543427709099876",
        "ExternalReference":"INV-009","MerchantRequestID":"3202-70921557-1","MpesaReceiptNumber":"SAE3YULR0Y",
        "Phone":"+254709099876","ResultCode":0,"ResultDesc":"The service request is processed successfully.","Status":"Success"},"status":true}"#;

    #[test]
    fn the_documented_success() {
        let callback = PayHeroCallback::parse(DOCS_SUCCESS.as_bytes()).unwrap();
        assert_eq!(
            callback,
            PayHeroCallback {
                ok: true,
                state: "Success".into(),
                checkout_request_id: "ws_CO_14012024103543427709099876".into(),
                external_reference: "INV-009".into(),
                result_code: "0".into(),
                result_desc: "The service request is processed successfully.".into(),
                amount_kes: Some(10),
                receipt: Some("SAE3YULR0Y".into()),
                phone: Some("254709099876".into()),
            }
        );
        let event = callback.into_event();
        assert_eq!(event.status, PaymentStatus::Paid);
        assert_eq!(event.provider_ref, "ws_CO_14012024103543427709099876");
        assert_eq!((event.amount_kes, event.receipt.as_deref()), (Some(10), Some("SAE3YULR0Y")));
    }

    #[test]
    fn extra_keys_and_a_phone_without_plus() {
        let body = r#"{"forward_url":"","response":{"Amount":20.0,"CheckoutRequestID":"ws_CO_2","ChannelID":911,"ExternalReference":"p-1",
            "Fee":2.9,"MerchantRequestID":"m","MpesaReceiptNumber":"SAE3YULR0Z","PaymentWalletBalance":12.5,"Phone":"254709099876",
            "ResultCode":0,"ResultDesc":"The service request is processed successfully.","ServiceWalletBalance":100,"Status":"Success"},"status":true}"#;
        let callback = PayHeroCallback::parse(body.as_bytes()).unwrap();
        assert_eq!(callback.phone.as_deref(), Some("254709099876"));
        assert_eq!(callback.amount_kes, Some(20));
        assert_eq!(callback.into_event().status, PaymentStatus::Paid);
    }

    #[test]
    fn failures_use_the_safaricom_table() {
        let cases = [
            (r#"1032"#, "Request cancelled by user.", FailureReason::Cancelled),
            (r#""1037""#, "DS timeout user cannot be reached", FailureReason::Timeout),
            (r#"1"#, "The balance is insufficient for the transaction.", FailureReason::InsufficientFunds),
            (r#"2001"#, "The initiator information is invalid.", FailureReason::WrongPin),
            (r#"2028"#, "Not permitted", FailureReason::Other("Not permitted".into())),
        ];
        for (code, desc, reason) in cases {
            let body = format!(
                r#"{{"forward_url":"","response":{{"Amount":10,"CheckoutRequestID":"ws_CO_3","ExternalReference":"p-2",
                "MerchantRequestID":"m","MpesaReceiptNumber":"","Phone":"+254709099876","ResultCode":{code},
                "ResultDesc":"{desc}","Status":"Failed"}},"status":false}}"#
            );
            let event = PayHeroCallback::parse(body.as_bytes()).unwrap().into_event();
            assert_eq!(event.status, PaymentStatus::Failed(reason), "{body}");
            assert_eq!(event.receipt, None);
        }
    }

    #[test]
    fn our_external_reference_is_carried_and_keys_a_callback_without_checkout_id() {
        let event = PayHeroCallback::parse(DOCS_SUCCESS.as_bytes()).unwrap().into_event();
        assert_eq!(event.our_ref.as_deref(), Some("INV-009"));
        let body = r#"{"response":{"Amount":10,"ExternalReference":"p-9","MpesaReceiptNumber":"SAE3YULR0Y","ResultCode":0,
            "ResultDesc":"ok","Status":"Success"},"status":true}"#;
        let event = PayHeroCallback::parse(body.as_bytes()).unwrap().into_event();
        assert_eq!((event.provider_ref.as_str(), event.our_ref.as_deref()), ("p-9", Some("p-9")));
        assert_eq!(event.status, PaymentStatus::Paid);
    }

    #[test]
    fn a_contradicted_success_is_only_pending() {
        let body =
            r#"{"response":{"CheckoutRequestID":"ws_CO_4","ResultCode":0,"Status":"Failed","MpesaReceiptNumber":""},"status":false}"#;
        assert_eq!(PayHeroCallback::parse(body.as_bytes()).unwrap().into_event().status, PaymentStatus::Pending);
    }

    #[test]
    fn malformed_callbacks() {
        let cases = [
            "[]",
            r#"{"status":true}"#,
            r#"{"response":{"ResultCode":0},"status":true}"#,
            r#"{"response":{"CheckoutRequestID":"ws_CO_5"},"status":true}"#,
            r#"{"response":{"CheckoutRequestID":"ws_CO_5","ResultCode":0,"Amount":"ten"},"status":true}"#,
        ];
        for body in cases {
            assert!(matches!(PayHeroCallback::parse(body.as_bytes()), Err(CallbackError::Malformed(_))), "{body}");
        }
    }
}
