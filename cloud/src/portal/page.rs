//! The captive portal page, rendered (served by `http::portal_page` at
//! `GET /portal/{router}`). One HTML document with its CSS and
//! script inline (the walled garden lets nothing else through), the owner's plans and the
//! hotspot variables embedded as JSON, gzipped when the browser accepts it.
//!
//! Everything reflected from the request is escaped for where it lands: HTML text for the
//! owner's name, script-safe JSON for the rest; the login URL and the original URL must be
//! `http(s)` (a `javascript:` form target would run script), and the login URL, which gets
//! the hotspot password, must be on a host only a hotspot can have ([`hotspot_host`]). A
//! per-response nonce in the Content-Security-Policy keeps any other script from running.

use std::net::Ipv4Addr;
use std::sync::LazyLock;

use jasiyo_shared::{MacAddress, RouterId};
use serde::Serialize;
use serde_json::json;

use super::trial::Times;
use crate::model::{Plan, PortalLook};

const SKELETON: &str = include_str!("page.html");
/// The page's CSS (its plan rules also draw the dashboard's preview: [`super::plan_card`]).
pub(super) const CSS: &str = include_str!("page.css");
/// The page's one script, in five files for reading (words, MD5, helpers, flow, vouchers), run as
/// one function so nothing leaks into the page's globals; sent without comments or indentation ([`compact`]).
static JS: LazyLock<String> = LazyLock::new(|| {
    let files = [include_str!("page_words.js"), include_str!("md5.js"), include_str!("page_util.js"), include_str!("page.js")];
    compact(&["(function () {\n'use strict';\n", &files.concat(), include_str!("page_voucher.js"), "})();\n"].concat())
});

/// The script without its `/* */` comments, indentation and blank lines: a sixth less to
/// send over a hotspot's slow uplink. Line breaks stay (ES5 semicolon insertion never sees a
/// change), and the script's strings and regular expressions hold no `/*`.
pub(super) fn compact(script: &str) -> String {
    let mut bare = String::with_capacity(script.len());
    let mut rest = script;
    while let Some(start) = rest.find("/*") {
        bare.push_str(&rest[..start]);
        rest = rest[start..].find("*/").map_or("", |end| &rest[start + end + 2..]);
    }
    bare.push_str(rest);
    bare.lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| format!("{l}\n")).collect()
}

/// What the router's `login.html` passed on (see [`super::hotspot`]), checked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HotspotVars {
    /// The device's MAC.
    pub mac: Option<String>,
    /// The device's address on the hotspot.
    pub ip: Option<String>,
    /// The router's login URL (`$(link-login-only)`), the form's target.
    pub login: Option<String>,
    /// Where the customer was going (`$(link-orig)`).
    pub orig: Option<String>,
    /// CHAP id bytes, hex (`$(chap-id)`); present when the router wants CHAP logins.
    #[serde(rename = "chapId")]
    pub chap_id: Option<String>,
    /// CHAP challenge bytes, hex.
    #[serde(rename = "chapChallenge")]
    pub chap_challenge: Option<String>,
    /// The router's complaint about the last login attempt (`$(error)`).
    pub error: Option<String>,
    /// A voucher code from a card's QR code (`?voucher=`), if shaped like one: filled in.
    pub voucher: Option<String>,
}

impl HotspotVars {
    /// Reads the query string the router's `login.html` built from its `-esc` variables.
    pub fn from_query(query: &str) -> HotspotVars {
        let mut vars = HotspotVars::default();
        let mut chap = (None, None);
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let bytes = percent_decode(value, name == "error");
            let text = || String::from_utf8_lossy(&bytes).trim().to_string();
            match name {
                "mac" => vars.mac = text().parse::<MacAddress>().ok().map(|m| m.to_string()),
                "ip" => vars.ip = text().parse::<Ipv4Addr>().ok().map(|i| i.to_string()),
                "link-login-only" => vars.login = login_url(text()),
                "link-orig" => vars.orig = original_url(text()),
                "chap-id" => chap.0 = chap_bytes(&bytes),
                "chap-challenge" => chap.1 = chap_bytes(&bytes),
                "error" => vars.error = Some(text().chars().take(200).collect::<String>()).filter(|e| !e.is_empty()),
                "voucher" => vars.voucher = crate::model::VoucherCode::parse(&text()).map(|c| c.as_str().to_string()),
                _ => {}
            }
        }
        // CHAP needs both halves; one alone is a broken page, and the plain password is
        // what the router then expects.
        if let (Some(id), Some(challenge)) = chap {
            vars.chap_id = Some(hex::encode(id));
            vars.chap_challenge = Some(hex::encode(challenge));
        }
        vars
    }
}

/// Only absolute `http(s)` URLs of sane length, without user or password, as the URL
/// standard writes them (quotes and angle brackets percent-encoded, so the router may put
/// them into its own pages as they are): anything else (`javascript:`, `data:`) is dropped.
fn web_url(url: String) -> Option<reqwest::Url> {
    if url.len() > 2048 || url.chars().any(char::is_control) {
        return None;
    }
    let parsed = reqwest::Url::parse(&url).ok()?;
    let plain = matches!(parsed.scheme(), "http" | "https") && parsed.username().is_empty() && parsed.password().is_none();
    (plain && parsed.host_str().is_some()).then_some(parsed)
}

/// Where the customer was going (`$(link-orig)`): any web page, never a script.
fn original_url(url: String) -> Option<String> {
    web_url(url).map(String::from)
}

/// The router's login URL (`$(link-login-only)`), which receives the hotspot password: only
/// on a host a hotspot can have, so that a crafted portal link cannot send the login to
/// someone else's server. See [`hotspot_host`].
fn login_url(url: String) -> Option<String> {
    let url = web_url(url)?;
    hotspot_host(url.host_str()?).then(|| url.into())
}

/// Names under which a hotspot's DNS name (`/ip hotspot profile dns-name`) cannot be a
/// public host: nobody can register them on the internet.
const LOCAL_SUFFIXES: [&str; 5] = ["local", "lan", "home.arpa", "internal", "localdomain"];

/// A host a hotspot's login page can live on: a private (RFC 1918), shared (RFC 6598),
/// link-local or unique-local address, loopback (which never leaves the device), or a DNS
/// name that cannot be public: one label (`login`), or under [`LOCAL_SUFFIXES`]
/// (`wifi.local`). A public name is refused: the page then shows the login for typing in.
pub fn hotspot_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) => {
            let shared = a.octets()[0] == 100 && (a.octets()[1] & 0xc0) == 64;
            a.is_private() || a.is_link_local() || a.is_loopback() || shared
        }
        Ok(std::net::IpAddr::V6(a)) => {
            let first = a.segments()[0];
            a.is_loopback() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
        Err(_) => {
            let name = bare.trim_end_matches('.').to_ascii_lowercase();
            !name.is_empty()
                && (!name.contains('.')
                    || LOCAL_SUFFIXES.iter().any(|suffix| name.strip_suffix(suffix).is_some_and(|rest| rest.ends_with('.'))))
        }
    }
}

/// Percent-decoding to bytes (`+` is a space only where asked: the CHAP bytes and URLs may
/// carry a literal `+`).
fn percent_decode(text: &str, plus_is_space: bool) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => match bytes.get(i + 1..i + 3).filter(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                Some(h) => {
                    let digit = |c: u8| (c as char).to_digit(16).expect("checked hex") as u8;
                    out.push(digit(h[0]) << 4 | digit(h[1]));
                    i += 3;
                    continue;
                }
                None => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// CHAP id and challenge as RouterOS puts them on its page: octal escapes (`\371\015`),
/// which its `-esc` form URL-escapes; raw bytes are taken as they are.
fn chap_bytes(raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let octal = raw.get(i + 1..i + 4).filter(|d| raw[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push(((d[0] - b'0') << 6) | ((d[1] - b'0') << 3) | (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(raw[i]);
                i += 1;
            }
        }
    }
    (!out.is_empty() && out.len() <= 64).then_some(out)
}

/// The page for `router`, with `nonce` allowing its one script (and the trial's form).
pub fn render(router: RouterId, owner: &str, plans: Vec<Plan>, times: Times, vars: &HotspotVars, nonce: &str, look: &PortalLook) -> String {
    let Times { wait_secs, trial_minutes } = times;
    // In the owner's order, as the store lists them.
    let plans: Vec<_> = plans
        .into_iter()
        .filter(|p| p.active)
        .map(|p| json!({"id": p.id, "name": p.name, "price_kes": p.price_kes, "duration_secs": p.duration_secs, "data_mb": p.data_mb, "rate_limit": p.rate_limit}))
        .collect();
    let boot = json!({ "router": router, "owner": owner, "plans": plans, "wait": wait_secs, "hs": vars, "lang": look.language });
    let lang = if look.language.as_deref() == Some("sw") { "sw" } else { "en" };
    // The look was checked when the owner set it; it is escaped here all the same.
    let color = look.color.as_deref().filter(|c| c.len() == 7 && c[1..].bytes().all(|b| b.is_ascii_hexdigit()));
    fill(SKELETON, |name| match name {
        "owner" => html_escape(owner),
        "css" => color.map(|c| CSS.replace("#0b6e4f", c)).unwrap_or_else(|| CSS.to_string()),
        "js" => JS.clone(),
        "lang" => lang.to_string(),
        "boot" => script_json(&boot.to_string()),
        "nonce" => nonce.to_string(),
        "trial" => super::trial::trial_form(trial_minutes, vars),
        "logo" => look.logo.as_deref().map(|uri| format!("<img class=\"logo\" src=\"{}\" alt=\"\">", html_escape(uri))).unwrap_or_default(),
        "welcome" => look.welcome.as_deref().map(|w| format!("<p class=\"welcome\">{}</p>", html_escape(w))).unwrap_or_default(),
        "support" => look
            .support_phone
            .as_deref()
            .map(|p| format!(" <span>Help / Msaada: <a href=\"tel:{0}\">{0}</a></span>", html_escape(p)))
            .unwrap_or_default(),
        other => unreachable!("unknown placeholder {other}"),
    })
}

/// Whether a browser's `Accept-Language` puts Swahili before English (`sw-KE,sw;q=0.9,en`;
/// `en-US,sw` does not): the page then opens in Swahili (see `page_util.js`'s `browserSw`,
/// which reads `navigator.languages` the same way).
pub fn prefers_swahili(accept_language: &str) -> bool {
    let mut ranked: Vec<(f32, usize, &str)> = accept_language
        .split(',')
        .enumerate()
        .filter_map(|(at, item)| {
            let mut parts = item.split(';').map(str::trim);
            let tag = parts.next().filter(|t| !t.is_empty())?;
            let q = parts.find_map(|p| p.strip_prefix("q=")).map_or(Some(1.0), |q| q.parse::<f32>().ok())?;
            Some((q, at, tag))
        })
        .filter(|(q, _, _)| *q > 0.0)
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let primary = |tag: &str| tag.split('-').next().unwrap_or("").to_ascii_lowercase();
    ranked.iter().map(|(_, _, tag)| primary(tag)).find(|p| p == "sw" || p == "en").is_some_and(|p| p == "sw")
}

/// Replaces each `{{name}}` of `template` in one pass (inserted text is never rescanned).
fn fill(template: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len() + CSS.len() + JS.len() + 2048);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let end = rest[start..].find("}}").map(|e| start + e).expect("placeholders are closed");
        out.push_str(&rest[..start]);
        out.push_str(&value(&rest[start + 2..end]));
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Text safe inside HTML elements and quoted attributes.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON safe inside a `<script>` element: nothing in it can close the element or open a
/// comment, and the two line separators JavaScript once choked on are escaped.
fn script_json(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

#[cfg(test)]
#[path = "page_tests.rs"]
mod tests;
