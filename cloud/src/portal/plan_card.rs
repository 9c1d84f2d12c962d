//! One plan as the portal's page shows it, for the dashboard's preview: the words its
//! script writes under a plan's name (in English; `page_util.js`: `duration`, `data`, `speed`, `says`),
//! and the page's own CSS rules for its plan buttons, so the preview is drawn by the same
//! rules as the portal and cannot drift from them.

use std::sync::LazyLock;

use crate::model::Plan;

/// The rules of `page.css` that draw a plan button (selectors starting with these).
const PLAN_RULES: [&str; 4] = [".plan", ".pname", ".price", ".pdet"];

/// `page.css`'s plan rules, each selector scoped under `scope` (`#preview`), with the
/// page's body font and colours on `scope` itself.
pub fn css(scope: &str) -> String {
    static RULES: LazyLock<Vec<(&'static str, &'static str)>> = LazyLock::new(|| {
        super::page::CSS
            .lines()
            .filter_map(|line| line.split_once('{'))
            .filter(|(selector, _)| *selector == "body" || PLAN_RULES.iter().any(|r| selector.starts_with(r)))
            .collect()
    });
    let mut out = String::new();
    for (selector, body) in RULES.iter() {
        let scoped: Vec<String> =
            selector.split(',').map(|s| if s == "body" { scope.to_string() } else { format!("{scope} {}", s.trim()) }).collect();
        out.push_str(&scoped.join(","));
        out.push('{');
        out.push_str(body);
        out.push('\n');
    }
    // The dashboard pads its inputs; the portal's radio has no padding.
    out.push_str(&format!("{scope} .plan input{{padding:0}}\n"));
    out
}

/// What the portal writes under a plan's name: `1 hour · 500 MB · up to 5 Mbps`, without
/// the duration when the name already says it (`30 minutes`: `Unlimited data`).
pub fn details(plan: &Plan) -> String {
    let time = duration(plan.duration_secs);
    let mut parts = if says(&plan.name, &time) { vec![] } else { vec![time] };
    parts.push(data(plan.data_mb));
    if let Some(speed) = plan.rate_limit.as_deref().and_then(speed) {
        parts.push(speed);
    }
    parts.join(" \u{b7} ")
}

/// `page_util.js`'s `says`: whether `name` has `words` in it as whole words, ignoring case and
/// spacing (`1 hour bundle` says `1 hour`; `11 hours` does not).
fn says(name: &str, words: &str) -> bool {
    let spaced = |s: &str| format!(" {} ", s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase());
    spaced(name).contains(&spaced(words))
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {many}") }
}

/// `page_util.js`'s `duration`: whole weeks, else days, hours and minutes.
fn duration(secs: u64) -> String {
    let (weeks, days, hours, minutes) = (secs / 604_800, secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    if secs.is_multiple_of(604_800) && weeks > 0 {
        return plural(weeks, "week", "weeks");
    }
    let mut out = Vec::new();
    if days > 0 {
        out.push(plural(days, "day", "days"));
    }
    if hours > 0 {
        out.push(plural(hours, "hour", "hours"));
    }
    if minutes > 0 || out.is_empty() {
        out.push(plural(minutes.max(1), "minute", "minutes"));
    }
    out.join(" ")
}

/// `page_util.js`'s `data`: MB, GB to a tenth from 1024 MB, or unlimited.
fn data(mb: Option<u64>) -> String {
    match mb {
        None => "Unlimited data".into(),
        Some(mb) if mb >= 1024 => {
            let tenths = (mb as f64 / 102.4).round() as u64;
            if tenths.is_multiple_of(10) { format!("{} GB", tenths / 10) } else { format!("{}.{} GB", tenths / 10, tenths % 10) }
        }
        Some(mb) => format!("{mb} MB"),
    }
}

/// `page_util.js`'s `speed`: the download half of a RouterOS rate limit (`rx/tx`, the second
/// figure), or nothing when it does not read as a rate.
fn speed(rate: &str) -> Option<String> {
    let first = rate.split(' ').next().unwrap_or("");
    let mut halves = first.split('/');
    let upload = halves.next().unwrap_or("");
    let download = halves.next().filter(|d| !d.is_empty()).unwrap_or(upload);
    let value: String = download.chars().filter(|c| !c.is_whitespace()).collect();
    let (number, unit) = match value.char_indices().last() {
        Some((at, c)) if c.is_ascii_alphabetic() => (&value[..at], Some(c.to_ascii_lowercase())),
        _ => (value.as_str(), None),
    };
    let mut pieces = number.splitn(2, '.');
    let whole = pieces.next().unwrap_or("");
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || pieces.next().is_some_and(|fraction| !digits(fraction)) {
        return None;
    }
    let unit = match unit {
        None => "bps",
        Some('k') => "kbps",
        Some('m') => "Mbps",
        Some('g') => "Gbps",
        Some(_) => return None,
    };
    Some(format!("up to {number} {unit}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_match_the_portal_script() {
        assert_eq!(duration(3600), "1 hour");
        assert_eq!(duration(1800), "30 minutes");
        assert_eq!(duration(86_400 + 2 * 3600), "1 day 2 hours");
        assert_eq!(duration(14 * 86_400), "2 weeks");
        assert_eq!(duration(30), "1 minute");
        assert_eq!(data(None), "Unlimited data");
        assert_eq!(data(Some(500)), "500 MB");
        assert_eq!(data(Some(2048)), "2 GB");
        assert_eq!(data(Some(1536)), "1.5 GB");
        assert_eq!(speed("2M/5M").as_deref(), Some("up to 5 Mbps"));
        assert_eq!(speed("512k").as_deref(), Some("up to 512 kbps"));
        assert_eq!(speed("1.5M/2.5M 4M/8M").as_deref(), Some("up to 2.5 Mbps"));
        assert_eq!(speed("fast"), None);
        assert_eq!(speed("5X"), None);
        assert!(says("30 Minutes", "30 minutes") && says("1 hour  bundle", "1 hour"));
        assert!(!says("11 hours", "1 hour") && !says("Daily", "1 day"));
    }

    #[test]
    fn the_css_is_the_portals_own_scoped() {
        let css = css("#preview");
        assert!(css.contains("#preview .plan{display:block;position:relative;"), "{css}");
        assert!(css.contains("#preview .price{float:right"), "{css}");
        assert!(css.contains("#preview{margin:0;background:#f3f5f4"), "{css}");
        assert!(!css.contains("header") && !css.contains("#count"), "only the plan rules: {css}");
    }
}
