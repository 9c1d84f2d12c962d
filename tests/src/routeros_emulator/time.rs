//! RouterOS time intervals: what the router accepts as input (`5400`, `90m`, `1h30m`,
//! `01:30:00`, `1d2h`, `1s500ms`) and the compact form it prints (`1h30m`, `1d`, `1w2d`).

/// Milliseconds in each printed unit, largest first.
const UNITS: [(&str, u64); 6] = [("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)];

/// Parses a time interval into milliseconds. A bare number is seconds; `hh:mm:ss` (with an
/// optional leading `Nd`) and unit runs (`1w2d3h4m5s500ms`) are accepted. `None` when the
/// text is none of these.
pub fn parse_interval(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<u64>().ok()?.checked_mul(1_000);
    }
    if text.contains(':') {
        return parse_clock(text);
    }
    parse_units(text)
}

/// `[Nd]hh:mm:ss` or `mm:ss`.
fn parse_clock(text: &str) -> Option<u64> {
    let (days, clock) = match text.split_once('d') {
        Some((d, rest)) => (d.parse::<u64>().ok()?, rest),
        None => (0, text),
    };
    let parts: Vec<u64> = clock.split(':').map(|p| p.parse::<u64>().ok()).collect::<Option<_>>()?;
    let seconds = match parts[..] {
        [h, m, s] if m < 60 && s < 60 => h * 3600 + m * 60 + s,
        [m, s] if s < 60 => m * 60 + s,
        _ => return None,
    };
    Some((days * 86_400 + seconds) * 1_000)
}

/// `1w2d3h4m5s500ms`: each number followed by a unit.
fn parse_units(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let number: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let (_, scale) = UNITS.iter().find(|(name, _)| *name == unit)?;
        total = total.checked_add(number.checked_mul(*scale)?)?;
    }
    Some(total)
}

/// The compact form RouterOS prints: `1w2d3h4m5s`, `1s500ms`, and `0s` for zero.
pub fn format_interval(millis: u64) -> String {
    if millis == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let mut rest = millis;
    for (name, scale) in UNITS {
        if rest >= scale {
            out.push_str(&format!("{}{name}", rest / scale));
            rest %= scale;
        }
    }
    out
}

/// Normalises an input interval to the printed form, or `None` if it does not parse.
#[cfg(test)]
fn normalise(text: &str) -> Option<String> {
    parse_interval(text).map(format_interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_print_compactly() {
        for (input, printed) in [
            ("5400", "1h30m"),
            ("1h30m", "1h30m"),
            ("01:30:00", "1h30m"),
            ("90m", "1h30m"),
            ("1d", "1d"),
            ("24h", "1d"),
            ("7d", "1w"),
            ("1d2h", "1d2h"),
            ("30s", "30s"),
            ("0", "0s"),
            ("0s", "0s"),
            ("1s500ms", "1s500ms"),
            ("1d01:00:00", "1d1h"),
            ("1w2d3h4m5s", "1w2d3h4m5s"),
        ] {
            assert_eq!(normalise(input).as_deref(), Some(printed), "input {input}");
        }
    }

    #[test]
    fn nonsense_is_refused() {
        for input in ["", "abc", "1x", "h", "1:99:00", "1h30", "-5"] {
            assert_eq!(parse_interval(input), None, "input {input}");
        }
    }
}
