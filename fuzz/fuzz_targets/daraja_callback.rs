//! Daraja's STK callback parser: any body is a callback or an error, never a panic; a
//! callback has its join key and result code, and becomes an event keyed by it.
#![no_main]

use jasiyo_cloud::providers::daraja::StkCallback;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Ok(callback) = StkCallback::parse(body) {
        assert!(!callback.checkout_request_id.is_empty() && !callback.result_code.is_empty());
        let id = callback.checkout_request_id.clone();
        assert_eq!(callback.into_event().provider_ref, id);
    }
});
