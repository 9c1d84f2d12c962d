//! The router's hotspot login endpoint (`$(link-login-only)`) as the demo serves it: the
//! captive portal posts the customer's login here once the plan is paid, as it would to a
//! MikroTik. It checks the CHAP hash (or a PAP password) against the emulated router's
//! hotspot user, logs the demo's device in on the emulated router, and shows "You are
//! online" with the time the user has left.
//!
//! A browser on the demo's machine has no hotspot MAC or IP of its own, so the stand-in
//! serves one device: the one the printed portal URL names. Its CHAP id and challenge are
//! made once per run and put in that URL, as RouterOS puts them on its `login.html`.
//!
//! - `POST /login` (or `GET` with the same fields as a query): `username`, `password`
//!   (CHAP: MD5 hex of id, password and challenge), `dst`; `username=T-<MAC>` alone is
//!   the free trial, when the router's server profile offers it.
//! - `GET /status`: the device's session, or that it is not logged in.
//!
//! Given the hotspot pages a router has installed ([`router_with_pages`]), it also serves
//! them as RouterOS does, variables filled in by the emulator's servlet: `GET /login`
//! without a `username` is `login.html` (`dst` becomes `$(link-orig)`); a refused login is
//! `login.html` again with `$(error)`; a login `alogin.html`, sending the browser on to
//! `dst`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use md5::{Digest, Md5};
use rand::Rng;

use super::live::Printer;
use crate::routeros_emulator::servlet::render_page;
use crate::routeros_emulator::{RouterOsEmulator, format_interval, parse_interval};

/// The one device the demo plays: the customer's phone on the hotspot.
#[derive(Clone, Debug)]
pub struct Device {
    /// Its MAC, upper-case with colons.
    pub mac: String,
    /// Its address on the hotspot network.
    pub ip: String,
}

/// The CHAP id and challenge of this run, as raw bytes.
#[derive(Clone, Debug)]
pub struct Chap {
    /// One byte.
    pub id: Vec<u8>,
    /// Sixteen bytes.
    pub challenge: Vec<u8>,
}

impl Chap {
    /// A fresh id and challenge.
    pub fn random() -> Chap {
        let mut rng = rand::rng();
        Chap { id: vec![rng.random()], challenge: (0..16).map(|_| rng.random()).collect() }
    }

    /// How RouterOS writes bytes into `$(chap-id)` and `$(chap-challenge)`: octal escapes.
    pub fn octal(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("\\{b:03o}")).collect()
    }

    /// The hash a CHAP login sends for `password`: hex MD5 of id, password, challenge.
    pub fn hash(&self, password: &str) -> String {
        let mut md5 = Md5::new();
        md5.update(&self.id);
        md5.update(password.as_bytes());
        md5.update(&self.challenge);
        hex::encode(md5.finalize())
    }
}

/// What the endpoint works with.
struct Stand {
    router: Arc<RouterOsEmulator>,
    device: Device,
    chap: Chap,
    printer: Arc<Printer>,
    /// The router's installed hotspot pages by file name, when it serves them.
    pages: Option<HashMap<String, String>>,
}

/// The stand-in's routes, over the emulated router the agent drives.
pub fn router(router: Arc<RouterOsEmulator>, device: Device, chap: Chap, printer: Arc<Printer>) -> axum::Router {
    routes(Stand { router, device, chap, printer, pages: None })
}

/// [`router`], serving the hotspot pages `pages` (file name to text) as RouterOS does.
pub fn router_with_pages(
    router: Arc<RouterOsEmulator>,
    device: Device,
    chap: Chap,
    printer: Arc<Printer>,
    pages: HashMap<String, String>,
) -> axum::Router {
    routes(Stand { router, device, chap, printer, pages: Some(pages) })
}

fn routes(stand: Stand) -> axum::Router {
    axum::Router::new()
        .route(
            "/login",
            get(|s: State<Arc<Stand>>, h: HeaderMap, Query(f): Query<HashMap<String, String>>| async move { login_page(&s, &h, &f) })
                .post(|s: State<Arc<Stand>>, h: HeaderMap, Form(f): Form<HashMap<String, String>>| async move { login_page(&s, &h, &f) }),
        )
        .route("/status", get(|s: State<Arc<Stand>>| async move { status(&s) }))
        .with_state(Arc::new(stand))
}

/// `/login`: the router's `login.html` when asked without a user (and the stand-in has the
/// pages), else a login attempt answered with the installed pages or the stand-in's own.
fn login_page(stand: &Stand, headers: &HeaderMap, fields: &HashMap<String, String>) -> Response {
    let Some(pages) = &stand.pages else { return login(stand, fields) };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let dst = fields.get("dst").filter(|d| !d.is_empty()).cloned().unwrap_or_else(|| format!("http://{host}/status"));
    let page = |name: &str, error: &str| {
        let vars = stand.page_vars(host, &dst, error);
        Html(render_page(pages.get(name).map(String::as_str).unwrap_or("404 Not Found"), &vars).body).into_response()
    };
    if !fields.contains_key("username") {
        return page("login.html", "");
    }
    match log_in(stand, fields) {
        Ok(_) => page("alogin.html", ""),
        // RouterOS answers a refused login with the login page again, its reason in `$(error)`.
        Err(why) => page("login.html", &why),
    }
}

impl Stand {
    /// The variables RouterOS fills in on the device's pages, for a router page on `host`.
    fn page_vars(&self, host: &str, dst: &str, error: &str) -> HashMap<String, String> {
        let login = format!("http://{host}/login");
        [
            ("mac", self.device.mac.clone()),
            ("ip", self.device.ip.clone()),
            ("identity", "demo".to_string()),
            ("link-login", format!("{login}?dst={}", super::esc(dst))),
            ("link-login-only", login),
            ("link-orig", dst.to_string()),
            ("link-redirect", dst.to_string()),
            ("link-status", format!("http://{host}/status")),
            ("chap-id", Chap::octal(&self.chap.id)),
            ("chap-challenge", Chap::octal(&self.chap.challenge)),
            ("error", error.to_string()),
            ("popup", "true".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

/// Why a login is refused, in the words of RouterOS's login page.
const BAD_LOGIN: &str = "invalid username or password";

fn login(stand: &Stand, fields: &HashMap<String, String>) -> Response {
    match log_in(stand, fields) {
        Ok((user, limit_uptime)) => online(&user, limit_uptime.as_deref()),
        Err(why) => refused(&why),
    }
}

/// Checks a login against the emulated router and logs the device in: the user the device
/// is now logged in as, with its `limit-uptime`; or why not, in RouterOS's words.
fn log_in(stand: &Stand, fields: &HashMap<String, String>) -> Result<(String, Option<String>), String> {
    let name = fields.get("username").map(String::as_str).unwrap_or("");
    let given = fields.get("password").map(String::as_str).unwrap_or("");
    if name.starts_with(jasiyo_shared::TRIAL_USER_PREFIX) && stand.router.user(name).is_none() {
        return trial(stand, name);
    }
    let Some(user) = stand.router.user(name).filter(|u| !u.disabled) else {
        stand.printer.router(&format!("hotspot login refused for {name:?}: no such user"));
        return Err(BAD_LOGIN.into());
    };
    let chap = given.len() == 32 && given.bytes().all(|b| b.is_ascii_hexdigit());
    let matches = if chap { stand.chap.hash(&user.password).eq_ignore_ascii_case(given) } else { user.password == given };
    if !matches {
        stand.printer.router(&format!("hotspot login refused for {name}: wrong password"));
        return Err(BAD_LOGIN.into());
    }
    let Device { mac, ip } = &stand.device;
    if user.mac_address.as_ref().is_some_and(|bound| bound != mac) {
        return Err("your MAC address is not allowed".into());
    }
    let how = if chap { "CHAP" } else { "PAP" };
    match stand.router.active().into_iter().find(|a| &a.mac_address == mac) {
        Some(session) if session.user == user.name => {
            stand.printer.router(&format!("browser login of {mac} as {name} ({how}): already logged in by the agent"));
        }
        // As on a router, a device keeps the session it has; the page shows that one.
        Some(session) => {
            stand.printer.router(&format!("browser login of {mac} as {name}: the device is still logged in as {}", session.user));
            let limit = stand.router.user(&session.user).and_then(|u| u.limit_uptime);
            return Ok((session.user, limit));
        }
        None => {
            stand.router.add_active(&user.name, mac, ip);
            stand.printer.router(&format!("device {mac} logged in as {name} through the login page ({how})"));
        }
    }
    Ok((user.name, user.limit_uptime))
}

/// A trial login (`username=T-<MAC>`, no password): the router checks its server
/// profile's trial and this device's use of it today.
fn trial(stand: &Stand, name: &str) -> Result<(String, Option<String>), String> {
    let Device { mac, ip } = &stand.device;
    // RouterOS names the trial user after the device it sees, whatever the form says.
    if name[jasiyo_shared::TRIAL_USER_PREFIX.len()..].parse::<jasiyo_shared::MacAddress>().ok().map(|m| m.to_string()).as_ref() != Some(mac)
    {
        return Err(BAD_LOGIN.into());
    }
    match stand.router.trial_login(mac, ip) {
        Ok(limit) => {
            stand.printer.router(&format!("device {mac} on the free trial as {name} for {limit}"));
            Ok((name.to_string(), Some(limit)))
        }
        Err(why) => {
            stand.printer.router(&format!("free trial refused for {mac}: {why}"));
            Err(why.to_string())
        }
    }
}

fn status(stand: &Stand) -> Response {
    match stand.router.active().into_iter().find(|a| a.mac_address == stand.device.mac) {
        Some(session) => {
            let limit = stand.router.user(&session.user).and_then(|u| u.limit_uptime);
            online(&session.user, limit.as_deref())
        }
        None => page("Not logged in", "offline", "<h1>Not logged in</h1><p>Open the portal link to buy a plan.</p>").into_response(),
    }
}

/// "You are online", with the user and the time left (the router's `limit-uptime`: online
/// time only counts while logged in, and the session has just begun).
fn online(user: &str, limit_uptime: Option<&str>) -> Response {
    let left = match limit_uptime.and_then(parse_interval) {
        Some(ms) => format!("{} left", format_interval(ms)),
        None => "no time limit".to_string(),
    };
    let body = format!(
        "<h1 id=online>You are online</h1><p>Logged in as <b id=user>{}</b></p><p id=left>{}</p>\
         <p class=note>This is the demo's stand-in for the router's login page.</p>",
        escape(user),
        escape(&left)
    );
    page("You are online", "online", &body).into_response()
}

fn refused(why: &str) -> Response {
    let body = format!("<h1>Login failed</h1><p id=error>{}</p>", escape(why));
    (StatusCode::FORBIDDEN, page("Login failed", "failed", &body)).into_response()
}

fn page(title: &str, state: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8>\
         <meta name=viewport content=\"width=device-width,initial-scale=1\"><title>{title}</title>\
         <style>body{{font-family:sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}}\
         #online{{color:#1a7f37}}.note{{color:#666;font-size:.8rem}}</style></head>\
         <body data-state={state}>{body}</body></html>"
    ))
}

/// Escapes text for HTML content.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chap_is_md5_of_id_password_challenge() {
        let chap = Chap { id: vec![0o371], challenge: vec![0o357, 0o015] };
        let mut md5 = Md5::new();
        md5.update([0o371u8, b'1', b'2', 0o357, 0o015]);
        assert_eq!(chap.hash("12"), hex::encode(md5.finalize()));
        assert_eq!(Chap::octal(&chap.challenge), "\\357\\015");
        assert_ne!(chap.hash("13"), chap.hash("12"));
    }
}
