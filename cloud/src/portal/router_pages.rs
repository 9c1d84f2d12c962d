//! The hotspot pages RouterOS serves on its own, before and after the portal: what a
//! logged-out device gets for any web address (`rlogin.html`, falling back to
//! `redirect.html`), what a device sees after logging out (`logout.html`), and the RFC 8908
//! captive-portal API document (`api.json`), which phones ask to learn they are captive.
//!
//! RouterOS fills `$(...)` variables and `$(if ...)` blocks in every page when it serves it
//! (see `docs/routeros-notes.md` for the manual's words). In `rlogin.html` and
//! `redirect.html`, the two leading directives make the router answer with a real HTTP 302
//! whose `Location` is `$(link-redirect)` (the router's own login page, which is our
//! `login.html`, which goes on to the portal); the body's refresh and link are for a client
//! that ignores the status. Without these pages RouterOS answers such requests with 404,
//! and a phone's captive-portal probe never reaches the login page.

/// `rlogin.html` and `redirect.html`: a 302 to `$(link-redirect)`.
pub const REDIRECT: &str = concat!(
    "$(if http-status == 302)Hotspot login required$(endif)\n",
    "$(if http-header == \"Location\")$(link-redirect)$(endif)\n",
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n",
    "<title>WiFi</title>\n<meta http-equiv=\"refresh\" content=\"0;url=$(link-redirect)\">\n",
    "<meta http-equiv=\"pragma\" content=\"no-cache\"><meta http-equiv=\"expires\" content=\"-1\">\n",
    "</head><body style=\"font-family:sans-serif;margin:2em\">\n",
    "<p><a href=\"$(link-redirect)\">Continue to the WiFi login / Endelea kuingia kwenye WiFi</a></p>\n</body></html>\n"
);

/// `logout.html`: logged out, with what the session used and a way back in.
pub const LOGOUT: &str = concat!(
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n",
    "<title>$(identity)</title>\n",
    "<style>body{font-family:sans-serif;margin:0;padding:1.5em;color:#15201b;background:#f3f5f4}h1{font-size:1.3em;color:#0b6e4f}a{color:#0b6e4f}</style>\n",
    "</head><body>\n<h1>You're logged out / Umetoka</h1>\n",
    "$(if uptime)<p>Online for / Muda mtandaoni: $(uptime)</p>\n$(endif)",
    "<p>Used / Umetumia: $(bytes-in-nice) / $(bytes-out-nice)</p>\n",
    "<p><a href=\"$(link-login)\">Log in again or buy more time / Ingia tena au nunua muda zaidi</a></p>\n</body></html>\n"
);

/// `api.json`: the RFC 8908 captive-portal API document, with the router's variables:
/// captive until logged in, where to log in, and (once in) the time and data left.
pub const API_JSON: &str = concat!(
    "{\n",
    "\"captive\": $(if logged-in == 'yes')false$(else)true$(endif),\n",
    "\"user-portal-url\": \"$(link-login-only)\",\n",
    "$(if session-timeout-secs != 0)\"seconds-remaining\": $(session-timeout-secs),\n$(endif)",
    "$(if remain-bytes-total)\"bytes-remaining\": $(remain-bytes-total),\n$(endif)",
    "\"can-extend-session\": true\n",
    "}\n"
);
