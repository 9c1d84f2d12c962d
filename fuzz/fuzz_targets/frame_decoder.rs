//! The agent<->cloud frame decoder: any bytes decode to a message or an error (never a
//! panic), a decoded message encodes back to a frame that decodes to the same message, and
//! the hello-version peek never panics.
#![no_main]

use jasiyo_shared::codec::peek_hello_version;
use jasiyo_shared::{AgentMessage, CloudMessage, decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|frame: &[u8]| {
    let _ = peek_hello_version(frame);
    if let Ok(message) = decode::<AgentMessage>(frame) {
        let again = encode(&message).expect("a decoded message encodes");
        assert_eq!(decode::<AgentMessage>(&again).expect("and decodes"), message);
    }
    if let Ok(message) = decode::<CloudMessage>(frame) {
        let again = encode(&message).expect("a decoded message encodes");
        assert_eq!(decode::<CloudMessage>(&again).expect("and decodes"), message);
    }
});
