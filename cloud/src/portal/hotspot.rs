//! The router side of the portal: the hotspot pages an owner installs on the router, and
//! the RouterOS script that installs them with the walled-garden entries.
//!
//! The router's `login.html` ([`super::login_page`]) sends the device on to the cloud portal,
//! carrying the hotspot variables URL-escaped (`$(mac-esc)`, `$(link-login-only-esc)`, ...),
//! or, when the cloud does not answer, offers a voucher form that logs in through the router.
//! The portal needs two walled-garden entries for its host, because the HTTP-level walled
//! garden only sees plain HTTP:
//!
//! ```text
//! /ip hotspot walled-garden add dst-host=<portal host> comment="jasiyo portal"
//! /ip hotspot walled-garden ip add dst-host=<portal host> action=accept comment="jasiyo portal"
//! ```
//!
//! Nothing else needs to be reachable: the customer's phone gets the M-Pesa prompt over the
//! SIM, and providers talk to the cloud server to server. (Walled-gardening a phone's
//! captive-portal probe host would stop the login pop-up from showing: do not.)
//!
//! The install script fetches each page from `GET /hotspot/{router}/{file}` with the router's
//! download credential in an `Authorization: Bearer` header (RouterOS `/tool fetch
//! http-header-field=`), never in the URL, where proxies and logs would keep it. The
//! credential ([`crate::token::download_token`]) is not the agent token: it downloads these
//! files and opens no hub session. The one-line command removes the fetched script (which
//! holds the credential) once it has run.

use jasiyo_shared::RouterId;

/// The pages a router's hotspot directory gets: the login flow ([`page`]), and the pages
/// RouterOS serves on its own (`super::router_pages`).
pub const PAGES: [&str; 8] =
    ["login.html", "alogin.html", "status.html", "error.html", "rlogin.html", "redirect.html", "logout.html", "api.json"];

/// The comment marking the walled-garden entries the script adds (and replaces on a re-run).
const MARK: &str = "jasiyo portal";

/// Where the portal lives, as a router's walled garden must name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortalHost {
    /// `https://cloud.example` (no trailing slash).
    pub base: String,
    /// `cloud.example` or an address.
    pub host: String,
    /// Whether `host` is an IPv4 address (walled-garden `dst-address`) rather than a name.
    pub is_address: bool,
}

impl PortalHost {
    /// Reads the cloud's public URL (`http(s)://host[:port][/path]`).
    pub fn parse(public_url: &str) -> Result<PortalHost, String> {
        let base = public_url.trim().trim_end_matches('/').to_string();
        let rest = base
            .strip_prefix("https://")
            .or_else(|| base.strip_prefix("http://"))
            .ok_or_else(|| format!("the public URL {public_url:?} must start with http:// or https://"))?;
        let authority = rest.split('/').next().unwrap_or("");
        let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h).to_string();
        let clean = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '/' | '_' | '~');
        if host.is_empty() || !base.chars().all(clean) {
            return Err(format!("the public URL {public_url:?} has no host, or characters a router script cannot carry"));
        }
        let is_address = host.parse::<std::net::Ipv4Addr>().is_ok();
        Ok(PortalHost { base, host, is_address })
    }

    /// The portal page of `router`.
    pub fn portal_url(&self, router: RouterId) -> String {
        format!("{}/portal/{router}", self.base)
    }

    /// What the router's `login.html` loads to learn whether the cloud is there.
    pub fn probe_url(&self) -> String {
        format!("{}{}", self.base, super::login_page::PROBE_PATH)
    }

    /// The walled-garden commands the portal needs (also what the README documents).
    pub fn walled_garden(&self) -> [String; 2] {
        let ip_target = if self.is_address { format!("dst-address={}", self.host) } else { format!("dst-host={}", self.host) };
        [
            format!("/ip hotspot walled-garden add dst-host={} comment=\"{MARK}\"", self.host),
            format!("/ip hotspot walled-garden ip add {ip_target} action=accept comment=\"{MARK}\""),
        ]
    }
}

/// One hotspot page for `router`, or `None` for a name that is not one of [`PAGES`].
pub fn page(name: &str, portal: &PortalHost, router: RouterId) -> Option<String> {
    Some(match name {
        "login.html" => super::login_page::login_html(&portal.portal_url(router), &portal.probe_url()),
        "alogin.html" => ALOGIN.to_string(),
        "status.html" => STATUS.to_string(),
        "error.html" => ERROR.to_string(),
        "rlogin.html" | "redirect.html" => super::router_pages::REDIRECT.to_string(),
        "logout.html" => super::router_pages::LOGOUT.to_string(),
        "api.json" => super::router_pages::API_JSON.to_string(),
        _ => return None,
    })
}

/// `alogin.html`: shown by the router after a login; on to where the customer was going.
const ALOGIN: &str = concat!(
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n",
    "<title>Online</title>\n<meta http-equiv=\"refresh\" content=\"2;url=$(link-redirect)\">\n",
    "<style>body{font-family:sans-serif;margin:0;padding:1.5em;color:#15201b;background:#f3f5f4}h1{font-size:1.3em;color:#0b6e4f}a{color:#0b6e4f}</style>\n",
    "</head><body>\n<h1>You're online / Uko mtandaoni</h1>\n",
    "<p><a href=\"$(link-redirect)\">Continue / Endelea</a></p>\n",
    "<p><a href=\"$(link-status)\">Time left / Muda uliobaki</a></p>\n</body></html>\n"
);

/// `status.html`: for a logged-in device: the time left first, data left, log out. The log-out form
/// sends `erase-cookie=on`, or the router's login cookie would log the device straight back
/// in (RouterOS: "erase-cookie ... may be either on or true").
const STATUS: &str = concat!(
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n",
    "<title>$(identity)</title>\n",
    "<style>body{font-family:sans-serif;margin:0;padding:1.5em;color:#15201b;background:#f3f5f4}h1{font-size:1.3em;color:#0b6e4f}a{color:#0b6e4f}</style>\n",
    "</head><body>\n<h1>You're online / Uko mtandaoni</h1>\n",
    "$(if session-time-left)<p style=\"font-size:1.2em\">Time left / Muda uliobaki: <b>$(session-time-left)</b></p>\n$(endif)",
    "<p>Online for / Muda mtandaoni: $(uptime)</p>\n",
    "$(if remain-bytes-total)<p>Data left / Data iliyobaki: $(remain-bytes-total) bytes</p>\n$(endif)",
    "<p>Used / Umetumia: $(bytes-in-nice) / $(bytes-out-nice)</p>\n",
    "<form action=\"$(link-logout)\" method=\"get\"><input type=\"hidden\" name=\"erase-cookie\" value=\"on\">",
    "<button type=\"submit\">Log out / Toka</button></form>\n</body></html>\n"
);

/// `error.html`: the router's own errors, with a way back to the portal.
const ERROR: &str = concat!(
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n",
    "<title>WiFi</title>\n",
    "<style>body{font-family:sans-serif;margin:0;padding:1.5em;color:#15201b;background:#f3f5f4}h1{font-size:1.3em;color:#b3261e}a{color:#0b6e4f}</style>\n",
    "</head><body>\n<h1>WiFi error / Hitilafu ya WiFi</h1>\n<p>$(error)</p>\n",
    "<p><a href=\"$(link-login)\">Try again / Jaribu tena</a></p>\n</body></html>\n"
);

/// A RouterOS string literal: `"`, `\`, `$` and `?` escaped (the last would open the
/// terminal's help). Public for the fuzz targets (`fuzz/`), not part of the crate's API.
#[doc(hidden)]
pub fn ros_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' | '$' | '?' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The name the fetched install script gets on the router (removed once it has run).
const SCRIPT_FILE: &str = "jasiyo-install.rsc";

/// The one line an owner pastes into the router's terminal: fetches the install script
/// with the router's download credential `download` in an `Authorization` header, runs it,
/// and removes it (it holds the credential).
pub fn install_command(portal: &PortalHost, router: RouterId, download: &str) -> String {
    let url = format!("{}/hotspot/{router}/install.rsc", portal.base);
    format!(
        ":do {{ /tool fetch url={} http-header-field={}{} dst-path={SCRIPT_FILE} }} on-error={{ :error {} }}; \
         /import {SCRIPT_FILE}; /file remove [find where name={}]",
        ros_string(&url),
        ros_string(&format!("Authorization: Bearer {download}")),
        check_certificate(portal),
        ros_string(FETCH_REFUSED),
        ros_string(SCRIPT_FILE),
    )
}

/// ` check-certificate=yes` for an https cloud: the router checks the cloud's certificate
/// against its trust store (RouterOS 7.21+ has a built-in one; see the README for older).
fn check_certificate(portal: &PortalHost) -> &'static str {
    if portal.base.starts_with("https://") { " check-certificate=yes" } else { "" }
}

/// What the router prints when a download fails: the likely causes, and what to run.
const FETCH_REFUSED: &str = "Download failed. If it says device-mode: run /system/device-mode/update fetch=yes hotspot=yes container=yes and press the reset button (or cut the power) within 5 minutes, then run this again. If it says certificate: on RouterOS 7.21+ run /certificate/settings/set builtin-trust-store=fetch,container; older versions need the cloud's CA imported (see the install guide).";

/// What the router prints when the hotspot menu is refused (device-mode without hotspot).
const HOTSPOT_REFUSED: &str = "The hotspot settings were refused. If device-mode forbids hotspot: run /system/device-mode/update hotspot=yes fetch=yes container=yes and press the reset button (or cut the power) within 5 minutes, then run this again.";

/// The install script for `router`: fetches the pages into a `jasiyo` folder (on `flash/`
/// where the router has one) with the download credential `download`, points every hotspot
/// server profile at it, and replaces the walled-garden entries this script added before.
/// Safe to run again.
pub fn install_script(portal: &PortalHost, router: RouterId, router_name: &str, download: &str) -> String {
    let pages = PAGES.iter().map(|p| ros_string(p)).collect::<Vec<_>>().join(";");
    let [garden_http, garden_ip] = portal.walled_garden();
    let name: String = router_name.chars().filter(|c| !c.is_control()).collect();
    format!(
        "# Jasiyo hotspot pages for router {name} ({router}).\n\
         # Run it from the router's terminal (RouterOS v7):\n\
         #   {command}\n\
         # It downloads the hotspot pages (login, alogin, status, error, rlogin, redirect,\n\
         # logout, api.json) into the folder jasiyo (flash/jasiyo where the router has\n\
         # flash/), sets html-directory of every hotspot server profile to it (clearing an\n\
         # html-directory-override, which would win over it), and lets the\n\
         # portal through the walled garden, for HTTP and (walled-garden ip) HTTPS. Running\n\
         # it again replaces what it added.\n\
         {{\n\
         :local base {base}\n\
         :local auth {auth}\n\
         :local dir \"jasiyo\"\n\
         :if ([:len [/file find where name=\"flash\"]] > 0) do={{ :set dir \"flash/jasiyo\" }}\n\
         :foreach page in={{{pages}}} do={{\n\
         \x20 :do {{ /tool fetch url=($base . \"/\" . $page) http-header-field=$auth{check} dst-path=($dir . \"/\" . $page) }} \
         on-error={{ :error {fetch_refused} }}\n\
         }}\n\
         :if ([:len [/ip hotspot profile find where html-directory-override!=\"\"]] > 0) do={{\n\
         \x20 :put \"A hotspot profile had html-directory-override set, which wins over html-directory: cleared it.\"\n\
         \x20 /ip hotspot profile set [find] html-directory-override=\"\"\n\
         }}\n\
         :do {{ /ip hotspot profile set [find] html-directory=$dir }} on-error={{ :error {hotspot_refused} }}\n\
         /ip hotspot walled-garden remove [find where comment=\"{MARK}\"]\n\
         {garden_http}\n\
         /ip hotspot walled-garden ip remove [find where comment=\"{MARK}\"]\n\
         {garden_ip}\n\
         :put (\"Jasiyo hotspot pages installed in \" . $dir)\n\
         }}\n",
        command = install_command(portal, router, download),
        check = check_certificate(portal),
        fetch_refused = ros_string(FETCH_REFUSED),
        hotspot_refused = ros_string(HOTSPOT_REFUSED),
        base = ros_string(&format!("{}/hotspot/{router}", portal.base)),
        auth = ros_string(&format!("Authorization: Bearer {download}")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_become_walled_garden_entries() {
        let named = PortalHost::parse("https://pay.example.co.ke/").unwrap();
        assert_eq!(named.base, "https://pay.example.co.ke");
        assert_eq!(
            named.walled_garden()[1],
            "/ip hotspot walled-garden ip add dst-host=pay.example.co.ke action=accept comment=\"jasiyo portal\""
        );
        let address = PortalHost::parse("http://203.0.113.7:8080").unwrap();
        assert_eq!(address.host, "203.0.113.7");
        assert!(address.walled_garden()[1].contains("dst-address=203.0.113.7"));
        assert!(PortalHost::parse("ftp://x").is_err());
        assert!(PortalHost::parse("https://x\"y").is_err());
    }

    #[test]
    fn the_install_command_sends_the_credential_in_a_header_and_removes_the_script() {
        let portal = PortalHost::parse("https://pay.example.co.ke").unwrap();
        let router = RouterId::new();
        let command = install_command(&portal, router, "dl123");
        assert_eq!(
            command,
            format!(
                ":do {{ /tool fetch url=\"https://pay.example.co.ke/hotspot/{router}/install.rsc\" \
                 http-header-field=\"Authorization: Bearer dl123\" check-certificate=yes dst-path=jasiyo-install.rsc }} \
                 on-error={{ :error {} }}; /import jasiyo-install.rsc; /file remove [find where name=\"jasiyo-install.rsc\"]",
                ros_string(FETCH_REFUSED)
            )
        );
        assert!(!install_script(&portal, router, "r", "dl123").contains("token="), "no credential in a URL");
    }

    #[test]
    fn router_strings_are_escaped() {
        assert_eq!(ros_string("a\"b$c?d\\"), "\"a\\\"b\\$c\\?d\\\\\"");
    }
}
