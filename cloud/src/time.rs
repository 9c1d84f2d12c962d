//! Times as people read them: instants (stored as Unix milliseconds or seconds) shown as
//! dates and times in a tenant's time zone, and as RFC 3339 for machines. Human-facing
//! output never shows a raw number of milliseconds.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// The time zone a tenant gets unless it says otherwise (the product's home market).
pub const DEFAULT_TIME_ZONE: &str = "Africa/Nairobi";

/// An IANA time zone name, checked against the bundled time zone database.
pub fn zone(name: &str) -> anyhow::Result<TimeZone> {
    TimeZone::get(name.trim()).map_err(|_| anyhow::anyhow!("unknown time zone {name:?}: use an IANA name such as Africa/Nairobi"))
}

/// A tenant's stored zone, or the default when it is no longer known (never an error
/// while printing).
pub fn zone_or_default(name: &str) -> TimeZone {
    zone(name).or_else(|_| zone(DEFAULT_TIME_ZONE)).unwrap_or(TimeZone::UTC)
}

/// Unix milliseconds as `2026-12-07 14:32:05 EAT` in `tz`.
pub fn show_ms(ms: i64, tz: &TimeZone) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(at) => at.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M:%S %Z").to_string(),
        Err(_) => format!("(time {ms} out of range)"),
    }
}

/// Unix milliseconds as `7 Dec 14:32` in `tz`: for narrow lists (the zone is the tenant's).
pub fn short_ms(ms: i64, tz: &TimeZone) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(at) => at.to_zoned(tz.clone()).strftime("%-d %b %H:%M").to_string(),
        Err(_) => format!("(time {ms} out of range)"),
    }
}

/// Unix milliseconds as a moment close to `now_ms`, in `tz`: `09:12` today, `yesterday
/// 18:40`, `7 Dec 18:40` this year, `7 Dec 2025 18:40` before. For "online since ...".
pub fn since_ms(ms: i64, now_ms: i64, tz: &TimeZone) -> String {
    let (Ok(at), Ok(now)) = (Timestamp::from_millisecond(ms), Timestamp::from_millisecond(now_ms)) else {
        return format!("(time {ms} out of range)");
    };
    let (at, now) = (at.to_zoned(tz.clone()), now.to_zoned(tz.clone()));
    let (day, today) = (at.date(), now.date());
    if day == today {
        at.strftime("%H:%M").to_string()
    } else if today.yesterday().ok() == Some(day) {
        at.strftime("yesterday %H:%M").to_string()
    } else if day.year() == today.year() {
        at.strftime("%-d %b %H:%M").to_string()
    } else {
        at.strftime("%-d %b %Y %H:%M").to_string()
    }
}

/// "3 s", "4 min", "2 h", "5 d".
pub fn age(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86_400 => format!("{} h", secs / 3600),
        _ => format!("{} d", secs / 86_400),
    }
}

/// [`since_ms`] with the [`age`] beside it: `09:12 (3 h)`.
pub fn since_with_age(ms: i64, now_ms: i64, tz: &TimeZone) -> String {
    format!("{} ({})", since_ms(ms, now_ms, tz), age(now_ms - ms))
}

/// Unix seconds as [`show_ms`] does.
pub fn show_secs(secs: i64, tz: &TimeZone) -> String {
    show_ms(secs.saturating_mul(1000), tz)
}

/// Unix milliseconds as RFC 3339 with the zone's offset (`2026-12-07T14:32:05.123+03:00`).
pub fn rfc3339_ms(ms: i64, tz: &TimeZone) -> Option<String> {
    let at = Timestamp::from_millisecond(ms).ok()?.to_zoned(tz.clone());
    Some(at.strftime("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string())
}

/// The start of today in `tz`, as Unix ms.
pub fn start_of_today_ms(tz: &TimeZone) -> i64 {
    let now = jiff::Timestamp::now().to_zoned(tz.clone());
    now.start_of_day().map(|d| d.timestamp().as_millisecond()).unwrap_or_else(|_| now.timestamp().as_millisecond())
}

/// Adds, beside every field of `value` (recursively) that holds a time, the same time as
/// RFC 3339 in `tz`, named `<field>_rfc3339`. Time fields are those named `at` or ending in
/// `_at`; their numbers are Unix milliseconds, or seconds for the few stored so (an
/// expiry), told apart by size (seconds stay below 10^11 until the year 5138).
pub fn with_rfc3339(value: &mut serde_json::Value, tz: &TimeZone) {
    match value {
        serde_json::Value::Object(fields) => {
            let mut added = Vec::new();
            for (name, field) in fields.iter_mut() {
                if let (true, Some(n)) = (name == "at" || name.ends_with("_at"), field.as_i64()) {
                    let ms = if n.abs() < 100_000_000_000 { n.saturating_mul(1000) } else { n };
                    if let Some(text) = rfc3339_ms(ms, tz) {
                        added.push((format!("{name}_rfc3339"), serde_json::Value::String(text)));
                    }
                } else {
                    with_rfc3339(field, tz);
                }
            }
            fields.extend(added);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|item| with_rfc3339(item, tz)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nairobi_times_read_as_dates() {
        let tz = zone("Africa/Nairobi").unwrap();
        // 2026-12-07 11:32:05.123 UTC is 14:32:05 in Nairobi (UTC+3, no daylight saving).
        let ms = 1_796_643_125_123;
        assert_eq!(show_ms(ms, &tz), "2026-12-07 14:32:05 EAT");
        assert_eq!(show_secs(ms / 1000, &tz), "2026-12-07 14:32:05 EAT");
        assert_eq!(rfc3339_ms(ms, &tz).unwrap(), "2026-12-07T14:32:05.123+03:00");
        assert!(zone("Mars/Olympus").is_err());
        assert_eq!(show_ms(ms, &zone_or_default("Mars/Olympus")), "2026-12-07 14:32:05 EAT");
    }

    #[test]
    fn moments_read_relative_to_today() {
        let tz = zone("Africa/Nairobi").unwrap();
        // 2026-12-07 14:32:05 in Nairobi.
        let now = 1_796_643_125_123;
        let hour = 3_600_000;
        assert_eq!(since_ms(now - 5 * hour, now, &tz), "09:32");
        assert_eq!(since_ms(now - 20 * hour, now, &tz), "yesterday 18:32");
        assert_eq!(since_ms(now - 72 * hour, now, &tz), "4 Dec 14:32");
        assert_eq!(since_ms(now - 400 * 24 * hour, now, &tz), "2 Nov 2025 14:32");
        // 23:30 UTC on the 6th is already the 7th in Nairobi.
        let utc_late = now - 12 * hour - 2 * 60_000;
        assert_eq!(since_ms(utc_late, now, &tz), "02:30");
    }

    #[test]
    fn json_times_gain_rfc3339_beside_the_numbers() {
        let tz = zone("UTC").unwrap();
        let mut value = serde_json::json!({
            "payment": { "created_at": 1_796_643_125_123_i64, "paid_at": null, "amount_kes": 20 },
            "timeline": [{ "at": 1_796_643_125_123_i64, "kind": "paid" }],
            "entitlement": { "expires_at": 1_796_646_725_i64 },
        });
        with_rfc3339(&mut value, &tz);
        assert_eq!(value["payment"]["created_at"], 1_796_643_125_123_i64, "the number stays");
        assert_eq!(value["payment"]["created_at_rfc3339"], "2026-12-07T11:32:05.123+00:00");
        assert!(value["payment"].get("paid_at_rfc3339").is_none());
        assert!(value["payment"].get("amount_kes_rfc3339").is_none());
        assert_eq!(value["timeline"][0]["at_rfc3339"], "2026-12-07T11:32:05.123+00:00");
        assert_eq!(value["entitlement"]["expires_at_rfc3339"], "2026-12-07T12:32:05.000+00:00");
    }
}
