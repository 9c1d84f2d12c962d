//! The RouterOS API sentence codec and the reply parser: any bytes decode to a sentence,
//! "incomplete" or an error; a decoded sentence encodes back to the same words in no more
//! bytes; a parsed reply (without a `!fatal` reason) or request writes back to words that
//! parse to the same.
#![no_main]

use jasiyo_agent::routeros::codec::{Decoded, decode_sentence, encode_sentence};
use jasiyo_agent::routeros::sentence::{Reply, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(Decoded::Sentence(words, used)) = decode_sentence(data) else { return };
    assert!(used <= data.len());
    // Lengths may come in a longer form than needed (`c0 00 00` for 0), which RouterOS never
    // sends and the decoder accepts: the words, not the bytes, must survive re-encoding.
    let again = encode_sentence(&words);
    assert!(again.len() <= used);
    match decode_sentence(&again) {
        Ok(Decoded::Sentence(reread, n)) => assert!(reread == words && n == again.len(), "a sentence re-encodes to itself"),
        other => panic!("a re-encoded sentence does not decode: {other:?}"),
    }
    // A `!fatal` reason is its bare words joined with spaces, which the emulator's writer
    // does not split again: only replies without one are written back.
    if let Ok(reply) = Reply::parse(&words).map(|reply| Reply { reason: None, ..reply }) {
        for tag_first in [false, true] {
            let again: Vec<Vec<u8>> = reply.to_words(tag_first).into_iter().map(String::into_bytes).collect();
            let reread = Reply::parse(&again).expect("a written reply parses");
            assert_eq!(reread, reply);
        }
    }
    if let Some(request) = Request::parse(&words) {
        let again: Vec<Vec<u8>> = request.to_words().into_iter().map(String::into_bytes).collect();
        assert_eq!(Request::parse(&again).as_ref(), Some(&request), "a written request parses");
    }
});
