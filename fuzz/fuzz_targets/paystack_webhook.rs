//! Paystack's webhook, through the provider's own callback entry: any body with any
//! signature is an event or an error, never a panic; a body signed with the secret is never
//! refused for its signature, and the same body under any other signature always is.
#![no_main]

use std::sync::OnceLock;

use http::{HeaderMap, HeaderValue};
use jasiyo_cloud::providers::paystack::{Paystack, SIGNATURE_HEADER, sign};
use jasiyo_cloud::providers::{CallbackError, Provider, ProviderConfig, Secret};
use jasiyo_fuzz::fields;
use libfuzzer_sys::fuzz_target;

fn http() -> &'static reqwest::Client {
    static HTTP: OnceLock<reqwest::Client> = OnceLock::new();
    HTTP.get_or_init(reqwest::Client::new)
}

fuzz_target!(|data: &[u8]| {
    let f = fields(data, 3);
    let (secret, signature, body) = (f[0].clone(), f[1].as_bytes(), f[2].as_bytes());
    let config = ProviderConfig::Paystack { secret_key: Secret(secret.clone()), base_url: None };
    let paystack = Paystack::new(config, http().clone());
    let with = |signature: &[u8]| {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_bytes(signature) {
            headers.insert(SIGNATURE_HEADER, value);
        }
        paystack.parse_callback(&headers, body)
    };

    let right = sign(&Secret(secret), body);
    let signed = with(right.as_bytes());
    assert!(!matches!(signed, Err(CallbackError::BadSignature)), "a signed body was refused: {signed:?}");
    if let Ok(event) = &signed {
        assert!(!event.provider_ref.is_empty());
    }
    let claimed = std::str::from_utf8(signature.trim_ascii()).unwrap_or("").to_ascii_lowercase();
    if claimed != right {
        let forged = with(signature);
        assert!(matches!(forged, Err(CallbackError::BadSignature)), "a wrong signature was taken: {forged:?}");
    }
});
