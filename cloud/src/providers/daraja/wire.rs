//! Daraja's wire: the Nairobi timestamp and the password, the push body, and what Daraja's
//! error answers mean.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::providers::{DarajaAccount, ProviderError, PushRequest, Reply};

/// Kenya (EAT) is UTC+3 all year: no daylight saving.
const NAIROBI_OFFSET_SECS: i64 = 3 * 3600;

/// `YYYYMMDDHHmmss` in Nairobi time (EAT) for a Unix time in seconds: Daraja's `Timestamp`.
pub fn nairobi_timestamp(unix_secs: i64) -> String {
    let local = unix_secs + NAIROBI_OFFSET_SECS;
    let (year, month, day) = civil_from_days(local.div_euclid(86_400));
    let secs = local.rem_euclid(86_400);
    format!("{year:04}{month:02}{day:02}{:02}{:02}{:02}", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Daraja's `Password`: base64 of short code, passkey and timestamp run together.
pub fn password(short_code: &str, passkey: &str, timestamp: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{short_code}{passkey}{timestamp}"))
}

/// The first `max` characters (not bytes) of `text`.
fn cut(text: &str, max: usize) -> String {
    text.trim().chars().take(max).collect()
}

/// A number Daraja wants as a JSON number, from digits in our settings or request.
fn number(what: &str, digits: &str) -> Result<u64, ProviderError> {
    digits
        .trim()
        .parse()
        .map_err(|_| ProviderError::Rejected { code: "config".to_owned(), message: format!("Daraja {what} {digits:?} is not a number") })
}

/// The STK push body. Numbers go as JSON numbers, as in Daraja's documentation; the account
/// reference is cut to 12 characters and the description to 13 (Daraja's limits).
pub(crate) fn push_body(
    short_code: &str,
    account: &DarajaAccount,
    password: &str,
    timestamp: &str,
    request: &PushRequest,
) -> Result<Value, ProviderError> {
    let (transaction_type, party_b) = match account {
        DarajaAccount::Paybill => ("CustomerPayBillOnline", number("short code", short_code)?),
        DarajaAccount::Till { till_number } => ("CustomerBuyGoodsOnline", number("till number", till_number)?),
    };
    let msisdn = number("phone number", &request.msisdn)?;
    Ok(json!({
        "BusinessShortCode": number("short code", short_code)?,
        "Password": password,
        "Timestamp": timestamp,
        "TransactionType": transaction_type,
        "Amount": request.amount_kes,
        "PartyA": msisdn,
        "PartyB": party_b,
        "PhoneNumber": msisdn,
        "CallBackURL": request.callback_url,
        "AccountReference": cut(&request.account_reference, 12),
        "TransactionDesc": cut(&request.description, 13),
    }))
}

/// `errorCode` and `errorMessage` of an error answer (empty when absent). Apigee's own
/// `{"fault":{"faultstring":…,"detail":{"errorcode":…}}}` is read too.
fn error_parts(reply: &Reply) -> (String, String) {
    let fault = reply.body.get("fault");
    let code =
        reply.str("errorCode").or_else(|| fault.and_then(|f| f.pointer("/detail/errorcode")).and_then(Value::as_str)).unwrap_or_default();
    let message =
        reply.str("errorMessage").or_else(|| fault.and_then(|f| f.get("faultstring")).and_then(Value::as_str)).unwrap_or_default();
    (code.trim().to_owned(), message.trim().to_owned())
}

/// Daraja refused the bearer token: drop it, get a fresh one and try once more.
pub(crate) fn is_invalid_token(reply: &Reply) -> bool {
    reply.status == reqwest::StatusCode::UNAUTHORIZED || matches!(reply.str("errorCode"), Some("404.001.03" | "401.003.01"))
}

/// A query answer that means "not known to be final yet", with Daraja's words:
/// `500.001.1001` "The transaction is being processed" (the standard in-flight answer), and
/// `500.001.1001` "The transaction does not Exist". The latter is what Daraja says for a
/// CheckoutRequestID it has not (yet) recorded: it comes with the same status as a fault, so
/// it is read as "unknown, keep asking" rather than as a failure; the payments service gives
/// up after its own deadline.
pub(crate) fn query_pending(reply: &Reply) -> Option<(String, String)> {
    let (code, message) = error_parts(reply);
    let lower = message.to_ascii_lowercase();
    let pending = code == "500.001.1001" && (lower.contains("being processed") || lower.contains("does not exist"));
    pending.then_some((code, message))
}

/// What a failed OAuth answer means.
pub(crate) fn token_error(reply: &Reply) -> ProviderError {
    let code = reply.str("errorCode").or_else(|| reply.str("resultCode")).unwrap_or_default();
    let message = reply.str("errorMessage").or_else(|| reply.str("resultDesc")).unwrap_or_default();
    let status = reply.status;
    if status.is_server_error() {
        ProviderError::Unavailable(format!("Daraja OAuth answered {status}: {code} {message}"))
    } else if status == reqwest::StatusCode::NOT_FOUND {
        ProviderError::Rejected { code: status.as_u16().to_string(), message: "Daraja OAuth path not found: check the base URL".to_owned() }
    } else {
        ProviderError::Auth(format!(
            "Daraja refused the consumer key/secret ({status} {code} {message}): check them, and that they \
             belong to the environment of the base URL (sandbox or production)"
        ))
    }
}

/// What an error answer to a push or a query means.
pub(crate) fn api_error(reply: &Reply, short_code: &str) -> ProviderError {
    let (code, message) = error_parts(reply);
    let lower = message.to_ascii_lowercase();
    let status = reply.status;
    let rejected = |message: String| ProviderError::Rejected { code: code.clone(), message };
    match code.as_str() {
        "400.002.02" => rejected(format!("Daraja refused a field of the request: {message}")),
        "404.001.03" | "401.003.01" => ProviderError::Auth(format!(
            "Daraja refused a freshly issued access token ({code} {message}): check that the consumer \
             key/secret and the base URL are for the same environment"
        )),
        "500.001.1001" if lower.contains("unable to lock subscriber") => {
            ProviderError::Busy("the customer already has an M-Pesa prompt in progress; try again in about a minute".to_owned())
        }
        "500.001.1001" if lower.contains("wrong credentials") => ProviderError::Auth(format!(
            "Daraja says wrong credentials for short code {short_code}: the passkey does not belong to \
             this short code ({message})"
        )),
        "500.001.1001" if lower.contains("merchant does not exist") => rejected(format!(
            "short code {short_code} is not enabled for M-Pesa Express (\"{message}\"): check the short \
             code (for a till, the store number) and that it is live"
        )),
        "500.003.02" | "500.003.03" => ProviderError::Busy(format!("Daraja is rate limiting ({code} {message})")),
        _ if lower.contains("spike arrest") || lower.contains("quota") => {
            ProviderError::Busy(format!("Daraja is rate limiting ({code} {message})"))
        }
        _ if status == reqwest::StatusCode::TOO_MANY_REQUESTS => ProviderError::Busy(format!("Daraja answered {status}")),
        _ if status.is_server_error() || status.is_informational() => {
            ProviderError::Unavailable(format!("Daraja answered {status}: {code} {message}"))
        }
        "404.001.01" | "405.001" => rejected(format!("Daraja does not serve this request ({message}): check the base URL")),
        _ if status == reqwest::StatusCode::FORBIDDEN => ProviderError::Auth(format!("Daraja refused access ({status} {code} {message})")),
        "" => ProviderError::Rejected { code: status.as_u16().to_string(), message: format!("Daraja answered {status}") },
        _ => rejected(format!("Daraja refused the request: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    fn reply(status: u16, body: Value) -> Reply {
        Reply { status: StatusCode::from_u16(status).unwrap(), body }
    }

    #[test]
    fn timestamps_are_nairobi_local() {
        let cases = [
            (0, "19700101030000"),
            // 2019-12-19 07:21:15 UTC is 10:21:15 in Nairobi (the docs' TransactionDate).
            (1_576_740_075, "20191219102115"),
            // Late evening UTC is already the next day in Nairobi, also across a year and a leap day.
            (1_735_682_400, "20250101010000"),
            (1_709_240_400, "20240301000000"),
            (1_709_154_000, "20240229000000"),
        ];
        for (secs, expected) in cases {
            assert_eq!(nairobi_timestamp(secs), expected, "{secs}");
        }
    }

    #[test]
    fn password_is_base64_of_the_three_parts() {
        let passkey = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919";
        let expected = "MTc0Mzc5YmZiMjc5ZjlhYTliZGJjZjE1OGU5N2RkNzFhNDY3Y2QyZTBjODkzMDU5YjEwZjc4ZTZiNzJhZGExZWQyYzkxOTIwMTYwMjE2MTY1NjI3";
        assert_eq!(password("174379", passkey, "20160216165627"), expected);
    }

    fn request() -> PushRequest {
        PushRequest {
            payment_id: uuid::Uuid::nil(),
            amount_kes: 20,
            msisdn: "254708374149".into(),
            account_reference: "HOTSPOT-KAHAWA-WEST".into(),
            description: "1 hour internet access".into(),
            callback_url: "https://cloud.example/cb/abc".into(),
        }
    }

    #[test]
    fn paybill_and_till_bodies() {
        let paybill = push_body("174379", &DarajaAccount::Paybill, "pw", "20240101000000", &request()).unwrap();
        assert_eq!(paybill["TransactionType"], "CustomerPayBillOnline");
        assert_eq!(paybill["BusinessShortCode"], 174_379);
        assert_eq!(paybill["PartyB"], 174_379);
        assert_eq!(paybill["PartyA"], 254_708_374_149_u64);
        assert_eq!(paybill["PhoneNumber"], 254_708_374_149_u64);
        assert_eq!(paybill["Amount"], 20);
        assert_eq!(paybill["AccountReference"], "HOTSPOT-KAHA");
        assert_eq!(paybill["TransactionDesc"], "1 hour intern");

        let till = DarajaAccount::Till { till_number: "5123456".into() };
        let till = push_body("7654321", &till, "pw", "20240101000000", &request()).unwrap();
        assert_eq!(till["TransactionType"], "CustomerBuyGoodsOnline");
        assert_eq!(till["BusinessShortCode"], 7_654_321);
        assert_eq!(till["PartyB"], 5_123_456);
    }

    #[test]
    fn limits_count_characters_not_bytes() {
        let mut request = request();
        request.account_reference = "ÉÉÉÉÉÉÉÉÉÉÉÉÉÉ".into();
        let body = push_body("174379", &DarajaAccount::Paybill, "pw", "t", &request).unwrap();
        assert_eq!(body["AccountReference"].as_str().unwrap().chars().count(), 12);
    }

    #[test]
    fn non_numeric_settings_are_config_errors() {
        let till = DarajaAccount::Till { till_number: "TILL-1".into() };
        let error = push_body("174379", &till, "pw", "t", &request()).unwrap_err();
        assert!(matches!(error, ProviderError::Rejected { ref code, .. } if code == "config"), "{error:?}");
    }

    fn daraja_error(status: u16, code: &str, message: &str) -> Reply {
        reply(status, json!({"requestId": "1234-5678", "errorCode": code, "errorMessage": message}))
    }

    #[test]
    fn error_answers_map_to_clear_errors() {
        use ProviderError::*;
        type Check = fn(&ProviderError) -> bool;
        let cases: [(Reply, Check); 13] = [
            (
                daraja_error(400, "400.002.02", "Bad Request - Invalid Amount"),
                |e| matches!(e, Rejected { code, message } if code == "400.002.02" && message.contains("Invalid Amount")),
            ),
            (
                daraja_error(
                    500,
                    "500.001.1001",
                    "Unable to lock subscriber, a transaction is already in process for the current subscriber",
                ),
                |e| matches!(e, Busy(_)),
            ),
            (
                daraja_error(500, "500.001.1001", "[MerchantValidate] - Wrong credentials"),
                |e| matches!(e, Auth(m) if m.contains("passkey") && m.contains("174379")),
            ),
            (
                daraja_error(500, "500.001.1001", "Merchant does not exist"),
                |e| matches!(e, Rejected { message, .. } if message.contains("not enabled for M-Pesa Express")),
            ),
            (daraja_error(500, "500.003.02", "System is busy. Please try again in few minutes."), |e| matches!(e, Busy(_))),
            (daraja_error(500, "500.003.02", "Error Occurred: Spike Arrest Violation"), |e| matches!(e, Busy(_))),
            (daraja_error(500, "500.003.03", "Error Occurred: Quota Violation"), |e| matches!(e, Busy(_))),
            (daraja_error(500, "500.003.1001", "Internal Server Error"), |e| matches!(e, Unavailable(_))),
            (daraja_error(404, "404.001.03", "Invalid Access Token"), |e| matches!(e, Auth(_))),
            (daraja_error(404, "404.001.01", "Resource not found"), |e| matches!(e, Rejected { .. })),
            (reply(503, Value::Null), |e| matches!(e, Unavailable(_))),
            (
                reply(
                    429,
                    json!({"fault": {"faultstring": "Spike arrest violation. Allowed rate : 5ps",
                "detail": {"errorcode": "policies.ratelimit.SpikeArrestViolation"}}}),
                ),
                |e| matches!(e, Busy(_)),
            ),
            (reply(400, Value::Null), |e| matches!(e, Rejected { code, .. } if code == "400")),
        ];
        for (reply, check) in cases {
            let error = api_error(&reply, "174379");
            assert!(check(&error), "{reply:?} gave {error:?}");
        }
    }

    #[test]
    fn invalid_tokens_are_recognised() {
        assert!(is_invalid_token(&daraja_error(404, "404.001.03", "Invalid Access Token")));
        assert!(is_invalid_token(&daraja_error(401, "401.003.01", "Error Occurred - Invalid Access Token")));
        assert!(!is_invalid_token(&daraja_error(400, "400.002.02", "Bad Request - Invalid Timestamp")));
    }

    #[test]
    fn query_in_flight_and_unknown_are_pending() {
        let in_flight = daraja_error(500, "500.001.1001", "The transaction is being processed");
        assert!(query_pending(&in_flight).is_some());
        let unknown = daraja_error(500, "500.001.1001", "The transaction does not Exist");
        assert!(query_pending(&unknown).is_some());
        assert!(query_pending(&daraja_error(500, "500.003.02", "Spike Arrest Violation")).is_none());
        assert!(query_pending(&daraja_error(500, "500.001.1001", "Wrong credentials")).is_none());
    }

    #[test]
    fn oauth_errors() {
        let bad_key = reply(400, json!({"errorCode": "400.008.01", "errorMessage": "Invalid Authentication passed"}));
        assert!(matches!(token_error(&bad_key), ProviderError::Auth(_)));
        assert!(matches!(token_error(&reply(502, Value::Null)), ProviderError::Unavailable(_)));
        assert!(matches!(token_error(&reply(404, Value::Null)), ProviderError::Rejected { .. }));
    }
}
