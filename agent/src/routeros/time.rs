//! RouterOS time intervals: written as `1h30m`, `1d`, `1w2d3h4m5s`, `1s500ms` or `01:30:00`.

/// Formats seconds the way RouterOS prints intervals (`0s`, `45m`, `1d2h`).
pub fn format_interval(mut secs: u64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

/// Reads an interval in any form RouterOS prints or accepts; milliseconds are dropped.
/// A bare number is seconds.
pub fn parse_interval(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Some(secs);
    }
    if text.contains(':') {
        let parts: Vec<&str> = text.split(':').collect();
        if parts.len() != 3 {
            return None;
        }
        let h: u64 = parts[0].parse().ok()?;
        let m: u64 = parts[1].parse().ok()?;
        let s: f64 = parts[2].parse().ok()?;
        return Some(h * 3600 + m * 60 + s as u64);
    }
    let mut total = 0u64;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let value: u64 = number.parse().ok()?;
        number.clear();
        let size = match c {
            'w' => 604_800,
            'd' => 86_400,
            'h' => 3_600,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                0 // milliseconds
            }
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        total += value * size;
    }
    if !number.is_empty() {
        return None;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_compactly() {
        assert_eq!(format_interval(0), "0s");
        assert_eq!(format_interval(5400), "1h30m");
        assert_eq!(format_interval(86_400), "1d");
        assert_eq!(format_interval(694_861), "1w1d1h1m1s");
    }

    #[test]
    fn parses_every_form() {
        for (text, secs) in [
            ("0s", 0),
            ("0", 0),
            ("90", 90),
            ("1h30m", 5400),
            ("2h43m45s", 9825),
            ("1w2d3h4m5s", 788_645),
            ("1s500ms", 1),
            ("01:30:00", 5400),
            ("00:00:01.5", 1),
        ] {
            assert_eq!(parse_interval(text), Some(secs), "{text}");
        }
        for bad in ["", "h", "1x", "1h3", "1:2"] {
            assert_eq!(parse_interval(bad), None, "{bad}");
        }
        for secs in [1, 59, 60, 3599, 3600, 86_399, 1_000_000] {
            assert_eq!(parse_interval(&format_interval(secs)), Some(secs));
        }
    }
}
