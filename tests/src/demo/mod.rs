//! The local demo's own parts (`jasiyo-demo`, started by `scripts/run-local`): the emulated
//! MikroTik with its hotspot login page, and the live view on the terminal.
//!
//! - [`hotspot`]: the router's login endpoint (`link-login-only`) the captive portal posts
//!   the paid login to: checks CHAP or PAP against the emulated router's user, logs the
//!   device in, shows "You are online".
//! - [`live`]: the terminal's event lines and the router side of them.
//! - [`cloud_watch`]: the cloud side of them, from the tenant API.
//! - [`portal_url`]: the captive portal URL a customer's browser is sent to, with the
//!   hotspot variables a router passes.

pub mod cloud_watch;
pub mod hotspot;
pub mod live;

use hotspot::{Chap, Device};

/// `%XX` for everything but unreserved characters, as RouterOS's `-esc` variables are.
fn esc(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// The portal URL the router's `login.html` sends `device` to: `{cloud}/portal/{router}`
/// with its MAC and IP, the login endpoint (`login`, the stand-in's `/login`), where the
/// customer was going (the stand-in's `/status`), and the CHAP id and challenge.
pub fn portal_url(cloud: &str, router: &str, device: &Device, login: &str, chap: &Chap) -> String {
    let status = login.trim_end_matches("/login").to_string() + "/status";
    let query = [
        ("mac", device.mac.clone()),
        ("ip", device.ip.clone()),
        ("link-login-only", login.to_string()),
        ("link-orig", status),
        ("chap-id", Chap::octal(&chap.id)),
        ("chap-challenge", Chap::octal(&chap.challenge)),
    ];
    let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={}", esc(v))).collect();
    format!("{}/portal/{router}?{}", cloud.trim_end_matches('/'), query.join("&"))
}
