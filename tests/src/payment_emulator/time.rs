//! Wall-clock stamps the providers print: Daraja's Nairobi-local `YYYYMMDDHHmmss` (EAT,
//! UTC+3, no daylight saving) and Paystack's UTC ISO 8601. Civil-date arithmetic is done
//! here rather than pulling in a date crate for two formats.

use std::time::{SystemTime, UNIX_EPOCH};

/// East Africa Time is UTC+3 all year.
const EAT_OFFSET_SECS: i64 = 3 * 3600;

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// `YYYYMMDDHHmmss` in Nairobi time for a Unix time.
pub fn nairobi_stamp(unix: i64) -> String {
    let (date, (h, m, s)) = split(unix + EAT_OFFSET_SECS);
    format!("{:04}{:02}{:02}{h:02}{m:02}{s:02}", date.0, date.1, date.2)
}

/// `DDMMYYYYHHmmss` in Nairobi time, the order Daraja's `CheckoutRequestID`s embed.
pub fn nairobi_checkout_stamp(unix: i64) -> String {
    let (date, (h, m, s)) = split(unix + EAT_OFFSET_SECS);
    format!("{:02}{:02}{:04}{h:02}{m:02}{s:02}", date.2, date.1, date.0)
}

/// Reads a 14-digit Nairobi-local `YYYYMMDDHHmmss` back into Unix time; `None` unless it is
/// exactly 14 digits naming a real date and time.
pub fn parse_nairobi_stamp(text: &str) -> Option<i64> {
    if text.len() != 14 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |range: std::ops::Range<usize>| text[range].parse::<i64>().ok();
    let (year, month, day) = (field(0..4)?, field(4..6)?, field(6..8)?);
    let (hour, minute, second) = (field(8..10)?, field(10..12)?, field(12..14)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let local = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some(local - EAT_OFFSET_SECS)
}

/// `2024-11-26T08:41:14.000Z` for a Unix time.
pub fn iso_utc(unix: i64) -> String {
    let ((y, mo, d), (h, mi, s)) = split(unix);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.000Z")
}

/// Splits seconds into a civil date and a time of day.
fn split(secs: i64) -> ((i64, i64, i64), (i64, i64, i64)) {
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    (civil_from_days(days), (rest / 3600, rest % 3600 / 60, rest % 60))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (if month <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip_in_nairobi_time() {
        // 2019-12-19 07:21:15 UTC is 10:21:15 in Nairobi.
        let unix = 1_576_740_075;
        assert_eq!(nairobi_stamp(unix), "20191219102115");
        assert_eq!(nairobi_checkout_stamp(unix), "19122019102115");
        assert_eq!(parse_nairobi_stamp("20191219102115"), Some(unix));
        assert_eq!(iso_utc(unix), "2019-12-19T07:21:15.000Z");
    }

    #[test]
    fn rejects_malformed_stamps() {
        for bad in ["2019121910211", "201912191021155", "2019121910211x", "20191319102115", "20190229102115", "20191219246000"] {
            assert_eq!(parse_nairobi_stamp(bad), None, "{bad}");
        }
        assert!(parse_nairobi_stamp("20240229000000").is_some());
    }
}
