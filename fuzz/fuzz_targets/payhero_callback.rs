//! PayHero's callback parser: any body is a callback or an error, never a panic; a callback
//! has a reference and a result code, and its event is keyed by one of its references.
#![no_main]

use jasiyo_cloud::providers::payhero::PayHeroCallback;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Ok(callback) = PayHeroCallback::parse(body) {
        assert!(!callback.result_code.is_empty());
        let refs = [callback.checkout_request_id.clone(), callback.external_reference.clone()];
        let event = callback.into_event();
        assert!(!event.provider_ref.is_empty() && refs.contains(&event.provider_ref));
    }
});
