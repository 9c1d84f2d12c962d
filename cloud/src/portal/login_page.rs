//! The router's `login.html`: where a logged-out device lands (RouterOS's `rlogin.html` sends
//! it here). While the cloud answers, the device goes on to the cloud portal; when the
//! cloud cannot be reached (the router's internet link is down, or the cloud is), the page
//! offers a voucher form that logs in through the router itself, so printed vouchers keep
//! working: their codes are hotspot users on the router already.
//!
//! How it decides: its script loads a tiny image from the cloud ([`PROBE_PATH`], which
//! answers only while the cloud's database does), with a cache-busting query. The portal
//! host is in the router's walled garden, so a logged-out device reaches it when the link is
//! up. An answer within [`PROBE_WAIT_MS`] sends the device on to the portal with the hotspot
//! variables, as the page always did (`location.replace`, so Back does not return here); an
//! error or silence shows the form. Without JavaScript, a refresh goes to the portal.
//!
//! The form posts to `$(link-login-only)` as RouterOS's own login page does: `username` (the
//! code, upper case, without spaces or dashes), `password` (with `$(chap-id)` on the page,
//! the CHAP response: hex MD5 of id, password and challenge; else the code in clear), `dst`
//! (`$(link-orig)`) and `popup=true`. A wrong code brings the router back to this page with
//! `$(error)`, which the form shows.
//!
//! RouterOS substitutes every `$(` in the page, script included: the script
//! (`login_page.js`, `md5.js`) has none; the variables are only in the page around it.

use super::page::compact;

/// Where the page asks whether the cloud is there (a 1×1 GIF; see `crate::http`).
pub const PROBE_PATH: &str = "/portal/ping.gif";
/// How long the page waits for the probe before showing the voucher form: long enough
/// for a slow uplink to answer, short enough that a customer is not left staring.
pub const PROBE_WAIT_MS: u32 = 3500;

/// The hotspot variables the portal gets, each as the router URL-escapes it (`-esc`).
const PORTAL_VARS: [(&str, &str); 7] = [
    ("mac", "mac-esc"),
    ("ip", "ip-esc"),
    ("link-login-only", "link-login-only-esc"),
    ("link-orig", "link-orig-esc"),
    ("chap-id", "chap-id-esc"),
    ("chap-challenge", "chap-challenge-esc"),
    ("error", "error-esc"),
];

/// The page's style: the router pages' look, the form hidden until the probe gives up.
const STYLE: &str = "body{font-family:sans-serif;margin:0;padding:1.5em;color:#15201b;background:#f3f5f4}\
h1{font-size:1.3em;color:#0b6e4f}a{color:#0b6e4f}#local{display:none}#err{color:#b3261e;font-weight:bold}\
label{display:block;margin:.8em 0 .3em}input{font-size:1.2em;padding:.4em;width:100%;max-width:16em;box-sizing:border-box;\
text-transform:uppercase;letter-spacing:.1em}button{font-size:1.1em;padding:.5em 1.4em;margin-top:.8em;\
background:#0b6e4f;color:#fff;border:0;border-radius:.3em}";

/// `login.html` for the portal page at `portal_url`, probing `probe_url`.
pub fn login_html(portal_url: &str, probe_url: &str) -> String {
    let query = PORTAL_VARS.iter().map(|(name, var)| format!("{name}=$({var})")).collect::<Vec<_>>().join("&amp;");
    let target = format!("{portal_url}?{query}");
    let script = compact(&[include_str!("md5.js"), include_str!("login_page.js")].concat());
    // `hs`: the CHAP bytes as RouterOS writes them (octal escapes, so safe in a string
    // literal, as in its own login page), where the device was going URL-escaped.
    let hs = format!(
        "var hs = {{probe: '{probe_url}', waitMs: {PROBE_WAIT_MS}, chapId: '$(chap-id)', \
         chapChallenge: '$(chap-challenge)', orig: '$(link-orig-esc)'}};\n"
    );
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n\
         <title>WiFi</title>\n<noscript><meta http-equiv=\"refresh\" content=\"0;url={target}\"></noscript>\n\
         <style>{STYLE}</style>\n</head>\n<body data-state=\"probe\">\n\
         <p id=\"wait\"><a id=\"portal\" href=\"{target}\">Continue to the WiFi payment page / Endelea kwenye ukurasa wa malipo ya WiFi</a></p>\n\
         <div id=\"local\">\n<h1>Have a voucher? / Una vocha?</h1>\n\
         <p>The payment page cannot be reached right now. A voucher code still works. / \
         Ukurasa wa malipo haupatikani kwa sasa. Msimbo wa vocha bado unafanya kazi.</p>\n\
         $(if error)<p id=\"err\" role=\"alert\">$(error)</p>\n$(endif)\
         <form id=\"vform\" action=\"$(link-login-only)\" method=\"post\" onsubmit=\"return submitCode()\">\n\
         <input type=\"hidden\" name=\"username\"><input type=\"hidden\" name=\"password\">\
         <input type=\"hidden\" name=\"dst\"><input type=\"hidden\" name=\"popup\" value=\"true\">\n\
         <label for=\"code\">Voucher code / Msimbo wa vocha</label>\n\
         <input id=\"code\" type=\"text\" autocomplete=\"off\" autocapitalize=\"characters\" spellcheck=\"false\" required>\n\
         <button id=\"go\" type=\"submit\">Connect / Unganisha</button>\n</form>\n\
         <p><a href=\"{target}\">Try the payment page again / Jaribu ukurasa wa malipo tena</a></p>\n</div>\n\
         <script>\n{hs}{script}</script>\n</body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_holds_no_routeros_variable_of_its_own() {
        let script = compact(&[include_str!("md5.js"), include_str!("login_page.js")].concat());
        assert!(!script.contains("$("), "RouterOS would substitute it");
        assert!(!script.contains("use strict"), "strict mode forbids the octal CHAP bytes");
        for es6 in ["=>", "let ", "const ", "`"] {
            assert!(!script.contains(es6), "ES5 only: {es6}");
        }
    }
}
