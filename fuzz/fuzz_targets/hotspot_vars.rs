//! The hotspot variables the router's login page passes to the portal (CHAP id and
//! challenge, MAC, address, login and original URLs): any query string reads without a
//! panic, and what it yields is what the page may use: CHAP halves both or neither, each
//! 1 to 64 bytes in hex; a login URL only on a hotspot's host; URLs only `http(s)`.
#![no_main]

use jasiyo_cloud::portal::page::{HotspotVars, hotspot_host};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|query: &str| {
    let vars = HotspotVars::from_query(query);
    assert_eq!(vars.chap_id.is_some(), vars.chap_challenge.is_some());
    for half in [&vars.chap_id, &vars.chap_challenge].into_iter().flatten() {
        let bytes = hex_bytes(half);
        assert!((1..=64).contains(&bytes), "{half}");
    }
    if let Some(login) = &vars.login {
        let url = reqwest::Url::parse(login).expect("a login URL parses");
        assert!(matches!(url.scheme(), "http" | "https"));
        assert!(hotspot_host(url.host_str().expect("with a host")), "{login}");
    }
    if let Some(orig) = &vars.orig {
        let url = reqwest::Url::parse(orig).expect("an original URL parses");
        assert!(matches!(url.scheme(), "http" | "https"), "{orig}");
    }
    if let Some(error) = &vars.error {
        assert!(!error.is_empty() && error.chars().count() <= 200);
    }
});

fn hex_bytes(text: &str) -> usize {
    assert!(text.len().is_multiple_of(2) && text.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{text}");
    text.len() / 2
}
