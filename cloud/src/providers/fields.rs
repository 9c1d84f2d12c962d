//! Reading what providers send: codes, big integers and amounts in whichever JSON type the
//! provider chose, phone numbers in the promised form, an HTTP reply read whole, and the
//! error a failed request becomes. Shared by the three provider clients.

use serde_json::Value;

use super::{ProviderError, ProviderKind};

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// Why a request did not get an answer: always [`ProviderError::Unavailable`]. The URL is
/// left out (it says nothing the log line does not, and keeps the message short).
pub(crate) fn transport_error(provider: ProviderKind, error: &reqwest::Error) -> ProviderError {
    let what = if error.is_timeout() {
        "request timed out".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        let mut text = error.to_string();
        if let Some(url) = error.url() {
            text = text.replace(&format!(" ({url})"), "");
        }
        text
    };
    tracing::warn!(provider = provider.as_str(), error = %what, "provider request failed");
    ProviderError::Unavailable(format!("{}: {what}", provider.as_str()))
}

/// An HTTP answer read whole: its status and its body as JSON (`Null` when it is not JSON).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: reqwest::StatusCode,
    pub(crate) body: Value,
}

impl Reply {
    /// Reads the whole answer (a timeout while reading the body is a transport error too).
    pub(crate) async fn read(provider: ProviderKind, response: reqwest::Response) -> Result<Reply, ProviderError> {
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| transport_error(provider, &e))?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Reply { status, body })
    }

    /// A string field of the body, if present and a string.
    pub(crate) fn str(&self, key: &str) -> Option<&str> {
        self.body.get(key).and_then(Value::as_str)
    }
}

/// A code that providers send as a number or a string (`0`, `"0"`, `1032`, `"SFC_IC0003"`),
/// as text. A number with a zero fraction (`0.0`) reads as the integer.
pub(crate) fn code_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.trim().to_owned()),
        Value::Number(number) => Some(match (number.as_i64(), number.as_u64(), number.as_f64()) {
            (Some(n), _, _) => n.to_string(),
            (_, Some(n), _) => n.to_string(),
            (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
            _ => number.to_string(),
        }),
        _ => None,
    }
}

/// A big integer sent as a number or a string of digits (M-Pesa `TransactionDate`
/// `20191219102115`, `PhoneNumber` `254708374149`), as its digits. Read without going
/// through floating point.
pub(crate) fn digits_text(value: &Value) -> Option<String> {
    let text = match value {
        Value::Number(number) => number.as_u64()?.to_string(),
        Value::String(text) => text.trim().trim_start_matches('+').to_owned(),
        _ => return None,
    };
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())).then_some(text)
}

/// A whole-shilling amount sent as `1`, `1.0`, `1.00`, `"1"` or `"1.00"`. A fraction other
/// than zero, a negative or an unreadable value is an error (M-Pesa moves whole shillings).
pub(crate) fn whole_kes(value: &Value) -> Result<u32, String> {
    let bad = || format!("amount {value} is not a whole number of shillings");
    match value {
        Value::Number(number) => {
            if let Some(n) = number.as_u64() {
                return u32::try_from(n).map_err(|_| bad());
            }
            match number.as_f64() {
                Some(f) if f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) => Ok(f as u32),
                _ => Err(bad()),
            }
        }
        Value::String(text) => {
            let text = text.trim();
            let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
            let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
            if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.bytes().any(|b| b != b'0') {
                return Err(bad());
            }
            whole.parse().map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

/// Checks the `2547XXXXXXXX` / `2541XXXXXXXX` form [`PushRequest::msisdn`] promises, before
/// a provider is asked (it would refuse the push less clearly).
pub(crate) fn check_msisdn(msisdn: &str) -> Result<(), ProviderError> {
    let ok = msisdn.len() == 12 && msisdn.bytes().all(|b| b.is_ascii_digit()) && (msisdn.starts_with("2547") || msisdn.starts_with("2541"));
    if ok {
        Ok(())
    } else {
        Err(ProviderError::Rejected {
            code: "invalid_msisdn".to_owned(),
            message: format!("phone number {msisdn:?} is not in the 2547XXXXXXXX / 2541XXXXXXXX form"),
        })
    }
}

/// The base URL from the settings, or the provider's production default, without a
/// trailing `/`.
pub(crate) fn base_url(configured: Option<&str>, default: &str) -> String {
    configured.unwrap_or(default).trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn codes_read_from_numbers_and_strings() {
        let cases = [
            (json!(0), Some("0")),
            (json!("0"), Some("0")),
            (json!(1032), Some("1032")),
            (json!(" 1037 "), Some("1037")),
            (json!(0.0), Some("0")),
            (json!("SFC_IC0003"), Some("SFC_IC0003")),
            (json!(null), None),
            (json!([1]), None),
        ];
        for (value, expected) in cases {
            assert_eq!(code_text(&value).as_deref(), expected, "{value}");
        }
    }

    #[test]
    fn big_integers_read_without_floats() {
        let cases = [
            (json!(20191219102115_u64), Some("20191219102115")),
            (json!("20191219102115"), Some("20191219102115")),
            (json!(254708374149_u64), Some("254708374149")),
            (json!("+254708374149"), Some("254708374149")),
            (json!(2.5), None),
            (json!("07x"), None),
            (json!(""), None),
            (json!(null), None),
        ];
        for (value, expected) in cases {
            assert_eq!(digits_text(&value).as_deref(), expected, "{value}");
        }
    }

    #[test]
    fn whole_shillings_in_every_spelling() {
        let ok = [
            (json!(1), 1),
            (json!(1.0), 1),
            (serde_json::from_str::<Value>("1.00").unwrap(), 1),
            (json!("1"), 1),
            (json!("1.00"), 1),
            (json!(" 250000 "), 250_000),
            (json!(0), 0),
        ];
        for (value, expected) in ok {
            assert_eq!(whole_kes(&value), Ok(expected), "{value}");
        }
        for value in [json!(1.5), json!("1.50"), json!(-1), json!("abc"), json!(""), json!(".5"), json!(null), json!(1e12)] {
            assert!(whole_kes(&value).is_err(), "{value}");
        }
    }

    #[test]
    fn msisdns_in_the_promised_form_only() {
        for good in ["254708374149", "254110000000"] {
            assert!(check_msisdn(good).is_ok(), "{good}");
        }
        for bad in ["0708374149", "+254708374149", "25470837414", "254208374149", "2547083741490", "25470837414x"] {
            assert!(matches!(check_msisdn(bad), Err(ProviderError::Rejected { .. })), "{bad}");
        }
    }
}
