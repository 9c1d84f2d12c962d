//! Paystack's webhook: the signature over the raw body, and the `charge.success` event.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha512;

use super::wire::{kes_from_cents, receipt};
use crate::providers::{CallbackError, PaymentStatus, ProviderEvent, Secret};

/// The header carrying the webhook signature.
pub const SIGNATURE_HEADER: &str = "x-paystack-signature";

fn mac(secret: &Secret) -> Hmac<Sha512> {
    // HMAC takes keys of any length: this never fails.
    <Hmac<Sha512> as Mac>::new_from_slice(secret.0.as_bytes()).expect("HMAC accepts any key length")
}

/// The signature Paystack puts on `body`: hex HMAC-SHA512 of the raw bytes, keyed with the
/// secret key.
pub fn sign(secret: &Secret, body: &[u8]) -> String {
    let mut mac = mac(secret);
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks the signature in constant time over the raw body.
fn check_signature(secret: &Secret, signature: Option<&[u8]>, body: &[u8]) -> Result<(), CallbackError> {
    let signature = signature.ok_or(CallbackError::BadSignature)?;
    let signature = hex::decode(signature.trim_ascii()).map_err(|_| CallbackError::BadSignature)?;
    let mut mac = mac(secret);
    mac.update(body);
    mac.verify_slice(&signature).map_err(|_| CallbackError::BadSignature)
}

/// A signed webhook: `charge.success` becomes a paid event; other events are ignored.
pub(crate) fn webhook_event(secret: &Secret, signature: Option<&[u8]>, body: &[u8]) -> Result<ProviderEvent, CallbackError> {
    check_signature(secret, signature, body)?;
    let malformed = |what: String| CallbackError::Malformed(format!("Paystack webhook: {what}"));
    let root: Value = serde_json::from_slice(body).map_err(|e| malformed(format!("not JSON ({e})")))?;
    let event = root.get("event").and_then(Value::as_str).ok_or_else(|| malformed("no event".to_owned()))?;
    if event != "charge.success" {
        return Err(CallbackError::Ignored(format!("Paystack event {event}")));
    }
    let data = root.get("data").filter(|d| d.is_object()).ok_or_else(|| malformed("no data".to_owned()))?;
    let reference = data.get("reference").and_then(Value::as_str).map(str::trim).unwrap_or_default();
    if reference.is_empty() {
        return Err(malformed("no data.reference".to_owned()));
    }
    let state = data.get("status").and_then(Value::as_str).unwrap_or("success");
    if state != "success" {
        return Err(malformed(format!("charge.success with status {state:?}")));
    }
    let amount_kes = kes_from_cents(data).map_err(malformed)?;
    Ok(ProviderEvent {
        provider_ref: reference.to_owned(),
        status: PaymentStatus::Paid,
        amount_kes: Some(amount_kes),
        receipt: receipt(data),
        code: event.to_owned(),
        description: data.get("gateway_response").and_then(Value::as_str).unwrap_or_default().to_owned(),
        msisdn: None,
        our_ref: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret() -> Secret {
        Secret("sk_test_4f1c0ffee".into())
    }

    fn charge_success(amount: u64, currency: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({"event":"charge.success","data":{"id":302961,"domain":"live","status":"success",
            "reference":"hs_abc123","amount":amount,"currency":currency,"channel":"mobile_money","gateway_response":"Approved",
            "paid_at":"2025-01-01T10:00:00.000Z","fees":150,"metadata":{},"receipt_number":"TAB1CD2EF3",
            "authorization":{"authorization_code":"AUTH_x","bin":"071XXX","last4":"X000","channel":"mobile_money",
            "bank":"M-PESA","brand":"M-pesa","country_code":"KE","mobile_money_number":"0710000000","reusable":false},
            "customer":{"id":1,"email":"254710000000@hotspot.jasiyo.invalid","customer_code":"CUS_x","phone":null}}}))
        .unwrap()
    }

    #[test]
    fn a_signed_charge_success() {
        let body = charge_success(5000, "KES");
        let signature = sign(&secret(), &body);
        assert_eq!(signature.len(), 128);
        let event = webhook_event(&secret(), Some(signature.as_bytes()), &body).unwrap();
        assert_eq!(
            event,
            ProviderEvent {
                provider_ref: "hs_abc123".into(),
                status: PaymentStatus::Paid,
                amount_kes: Some(50),
                receipt: Some("TAB1CD2EF3".into()),
                code: "charge.success".into(),
                description: "Approved".into(),
                msisdn: None,
                our_ref: None,
            }
        );
        // Upper-case hex is the same signature.
        assert!(webhook_event(&secret(), Some(signature.to_uppercase().as_bytes()), &body).is_ok());
    }

    #[test]
    fn the_signature_is_over_the_raw_bytes() {
        // The same JSON re-serialised (here: pretty-printed) no longer matches.
        let body = charge_success(5000, "KES");
        let signature = sign(&secret(), &body);
        let reserialised = serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(&body).unwrap()).unwrap();
        assert_eq!(webhook_event(&secret(), Some(signature.as_bytes()), &reserialised), Err(CallbackError::BadSignature));
    }

    #[test]
    fn bad_signatures() {
        let body = charge_success(5000, "KES");
        let other_key = sign(&Secret("sk_test_other".into()), &body);
        let good = sign(&secret(), &body);
        let cases: [Option<&[u8]>; 5] = [None, Some(b""), Some(b"not hex"), Some(other_key.as_bytes()), Some(&good.as_bytes()[..64])];
        for signature in cases {
            assert_eq!(webhook_event(&secret(), signature, &body), Err(CallbackError::BadSignature), "{signature:?}");
        }
    }

    fn signed(body: &[u8]) -> Result<ProviderEvent, CallbackError> {
        webhook_event(&secret(), Some(sign(&secret(), body).as_bytes()), body)
    }

    #[test]
    fn other_events_are_ignored() {
        for event in ["transfer.success", "charge.dispute.create", "refund.processed"] {
            let body = serde_json::to_vec(&json!({"event":event,"data":{"reference":"x"}})).unwrap();
            assert!(matches!(signed(&body), Err(CallbackError::Ignored(_))), "{event}");
        }
    }

    #[test]
    fn odd_amounts_and_currencies_are_malformed() {
        for body in [charge_success(5050, "KES"), charge_success(5000, "NGN"), b"{}".to_vec(), b"nope".to_vec()] {
            assert!(matches!(signed(&body), Err(CallbackError::Malformed(_))), "{}", String::from_utf8_lossy(&body));
        }
        let no_reference = serde_json::to_vec(&json!({"event":"charge.success","data":{"amount":100,"currency":"KES"}})).unwrap();
        assert!(matches!(signed(&no_reference), Err(CallbackError::Malformed(_))));
    }
}
