//! The phone-number parser and the receipt-code reader: any text is a number or an error,
//! never a panic; a number is `254` and nine digits and parses to itself; a receipt code is
//! ten upper-case letters and digits, with both, and reads as itself.
#![no_main]

use jasiyo_cloud::payments::phone::Msisdn;
use jasiyo_cloud::payments::recover::normalise_receipt;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|typed: &str| {
    if let Ok(number) = Msisdn::parse(typed) {
        let text = number.as_str();
        assert!(text.len() == 12 && text.starts_with("254") && text.bytes().all(|b| b.is_ascii_digit()), "{text}");
        assert_eq!(Msisdn::parse(text).as_ref(), Ok(&number));
        let _ = (number.operator(), number.hint());
    }
    if let Some(code) = normalise_receipt(typed) {
        assert!(code.len() == 10 && code.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()), "{code}");
        assert!(code.chars().any(|c| c.is_ascii_digit()) && code.chars().any(|c| c.is_ascii_uppercase()));
        assert_eq!(normalise_receipt(&code).as_deref(), Some(code.as_str()));
    }
});
