//! Phone numbers and amounts the way each provider accepts them. Every prompt stores the
//! paying number in Daraja's 12-digit `2547XXXXXXXX` / `2541XXXXXXXX` form.

use serde_json::Value;

/// A JSON number or string as text (Daraja takes both for its numeric fields).
pub fn number_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// True for `2547XXXXXXXX` / `2541XXXXXXXX`.
pub fn is_msisdn(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) && (text.starts_with("2547") || text.starts_with("2541"))
}

/// Daraja's `PartyA` / `PhoneNumber`: a number or string, exactly the 12-digit form.
pub fn daraja_msisdn(value: Option<&Value>) -> Option<String> {
    number_text(value).filter(|t| is_msisdn(t))
}

/// PayHero's `phone_number`: `07XXXXXXXX` / `01XXXXXXXX` or `2547…` / `2541…`.
pub fn payhero_msisdn(text: &str) -> Option<String> {
    let full = match text.strip_prefix('0') {
        Some(national) if national.len() == 9 => format!("254{national}"),
        Some(_) => return None,
        None => text.to_string(),
    };
    is_msisdn(&full).then_some(full)
}

/// Paystack's `mobile_money.phone`: `+2547…` / `+2541…`.
pub fn paystack_msisdn(text: &str) -> Option<String> {
    text.strip_prefix('+').filter(|t| is_msisdn(t)).map(str::to_string)
}

/// Any common way of writing a Kenyan mobile number (`0712…`, `+254712…`, `712…`, with
/// spaces or dashes) in the 12-digit form, for looking prompts up; `None` if it is none.
pub fn normalise_msisdn(text: &str) -> Option<String> {
    let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '+')).collect();
    let full = match digits.len() {
        9 => format!("254{digits}"),
        10 if digits.starts_with('0') => format!("254{}", &digits[1..]),
        _ => digits,
    };
    is_msisdn(&full).then_some(full)
}

/// A whole number of shillings ≥ 1, sent as a JSON integer or a string of digits (Daraja
/// takes both; decimals are refused).
pub fn whole_amount(value: Option<&Value>) -> Option<u64> {
    let amount = match value? {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok()?,
        _ => return None,
    };
    (amount >= 1).then_some(amount)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn phone_forms_per_provider() {
        assert_eq!(daraja_msisdn(Some(&json!(254708374149u64))).as_deref(), Some("254708374149"));
        assert_eq!(daraja_msisdn(Some(&json!("254110000001"))).as_deref(), Some("254110000001"));
        for bad in [json!("0708374149"), json!("+254708374149"), json!("254608374149"), json!("25470837414"), json!(true)] {
            assert_eq!(daraja_msisdn(Some(&bad)), None, "{bad}");
        }
        assert_eq!(payhero_msisdn("0708374149").as_deref(), Some("254708374149"));
        assert_eq!(payhero_msisdn("254708374149").as_deref(), Some("254708374149"));
        assert_eq!(payhero_msisdn("+254708374149"), None);
        assert_eq!(paystack_msisdn("+254710000000").as_deref(), Some("254710000000"));
        assert_eq!(paystack_msisdn("0710000000"), None);
        assert_eq!(normalise_msisdn("+254 712-345 678").as_deref(), Some("254712345678"));
        assert_eq!(normalise_msisdn("0712345678").as_deref(), Some("254712345678"));
        assert_eq!(normalise_msisdn("712345678").as_deref(), Some("254712345678"));
    }

    #[test]
    fn amounts_are_whole_shillings() {
        assert_eq!(whole_amount(Some(&json!(10))), Some(10));
        assert_eq!(whole_amount(Some(&json!("10"))), Some(10));
        for bad in [json!(0), json!("0"), json!(1.5), json!("1.5"), json!(-1), json!("-1"), json!(""), json!(null)] {
            assert_eq!(whole_amount(Some(&bad)), None, "{bad}");
        }
    }
}
