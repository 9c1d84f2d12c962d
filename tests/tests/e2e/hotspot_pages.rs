//! The hotspot pages we install, served the way RouterOS serves them (the emulator's
//! servlet fills their variables and applies their redirect directives): a logged-out
//! device's first request to any address ends at the cloud portal with its hotspot
//! variables; `api.json` is valid RFC 8908 JSON logged out and logged in; logout offers a
//! way back. Without `rlogin.html`/`redirect.html` (the pages installed before), that first
//! request is a 404: the defect these pages fix. `login.html`'s voucher form gets the CHAP
//! bytes and the router's error as RouterOS fills them in (its behaviour in a browser:
//! `voucher_fallback.rs`).

use std::collections::HashMap;

use jasiyo_cloud::portal::hotspot::{PAGES, PortalHost, page};
use jasiyo_shared::RouterId;
use jasiyo_tests::routeros_emulator::servlet::{render_page, serve};
use serde_json::Value;

fn installed(router: RouterId, portal: &PortalHost) -> HashMap<String, String> {
    PAGES.iter().map(|name| (name.to_string(), page(name, portal, router).expect("every installed page renders"))).collect()
}

fn device() -> HashMap<String, String> {
    [
        ("mac", "AA:BB:CC:DD:EE:01"),
        ("ip", "10.5.50.23"),
        ("link-login-only", "http://10.5.50.1/login"),
        ("link-login", "http://10.5.50.1/login?dst=http%3A%2F%2Fexample.com%2Fnews"),
        ("link-redirect", "http://10.5.50.1/login?dst=http%3A%2F%2Fexample.com%2Fnews"),
        ("link-orig", "http://example.com/news"),
        ("chap-id", "\\371"),
        ("chap-challenge", "\\357\\015"),
        ("identity", "shop"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The URL of a page's `<meta http-equiv="refresh" content="0;url=...">`.
fn refresh_target(body: &str) -> String {
    let at = body.find("content=\"0;url=").expect("a refresh") + "content=\"0;url=".len();
    body[at..].split('"').next().unwrap().replace("&amp;", "&")
}

#[test]
fn a_logged_out_device_reaches_the_portal_from_any_address() {
    let router = RouterId::new();
    let portal = PortalHost::parse("https://cloud.example").unwrap();
    let files = installed(router, &portal);
    let vars = device();

    // Any address (a news site, a phone's captive-portal probe): a real 302 to the login page.
    for path in ["/news", "/generate_204", "/hotspot-detect.html", "/"] {
        let first = serve(&files, path, false, &vars);
        assert_eq!(first.status, 302, "{path}: {first:?}");
        assert_eq!(first.location.as_deref(), Some("http://10.5.50.1/login?dst=http%3A%2F%2Fexample.com%2Fnews"));
        assert!(!first.body.contains("http-status"), "the directives are not in the body");
    }
    // The login page goes on to the portal, with the device's variables.
    let login = serve(&files, "/login", false, &vars);
    assert_eq!(login.status, 200);
    let target = refresh_target(&login.body);
    assert!(target.starts_with(&format!("https://cloud.example/portal/{router}?")), "{target}");
    assert!(target.contains("mac=AA%3ABB%3ACC%3ADD%3AEE%3A01") && target.contains("ip=10.5.50.23"), "{target}");
    assert!(target.contains("link-login-only=http%3A%2F%2F10.5.50.1%2Flogin"), "{target}");

    // With only the pages installed before, that first request was a 404.
    let old: HashMap<String, String> = files
        .iter()
        .filter(|(name, _)| ["login.html", "alogin.html", "status.html", "error.html"].contains(&name.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(serve(&old, "/news", false, &vars).status, 404);
    // redirect.html alone serves when rlogin.html is missing.
    let mut fallback = files.clone();
    fallback.remove("rlogin.html");
    assert_eq!(serve(&fallback, "/news", false, &vars).status, 302);
}

#[test]
fn api_json_is_rfc_8908_logged_out_and_in() {
    let router = RouterId::new();
    let files = installed(router, &PortalHost::parse("https://cloud.example").unwrap());
    let out = serve(&files, "/api.json", false, &device());
    let json: Value = serde_json::from_str(&out.body).unwrap_or_else(|e| panic!("{e}: {}", out.body));
    assert_eq!(json["captive"], true);
    assert_eq!(json["user-portal-url"], "http://10.5.50.1/login");
    assert!(json.get("seconds-remaining").is_none());

    let mut vars = device();
    vars.insert("session-timeout-secs".into(), "3540".into());
    vars.insert("remain-bytes-total".into(), "524288000".into());
    let inside = serve(&files, "/api.json", true, &vars);
    let json: Value = serde_json::from_str(&inside.body).unwrap_or_else(|e| panic!("{e}: {}", inside.body));
    assert_eq!((json["captive"].clone(), json["seconds-remaining"].clone()), (Value::Bool(false), Value::from(3540)));
    assert_eq!((json["bytes-remaining"].clone(), json["can-extend-session"].clone()), (Value::from(524_288_000), Value::Bool(true)));
    // A session without a timeout or data limit: still valid JSON.
    vars.insert("session-timeout-secs".into(), "0".into());
    vars.remove("remain-bytes-total");
    let unlimited = render_page(&files["api.json"], &{
        let mut v = vars.clone();
        v.insert("logged-in".into(), "yes".into());
        v
    });
    let json: Value = serde_json::from_str(&unlimited.body).unwrap_or_else(|e| panic!("{e}: {}", unlimited.body));
    assert!(json.get("seconds-remaining").is_none() && json.get("bytes-remaining").is_none());
}

#[test]
fn logging_out_offers_a_way_back() {
    let files = installed(RouterId::new(), &PortalHost::parse("https://cloud.example").unwrap());
    let mut vars = device();
    vars.insert("uptime".into(), "42m".into());
    let out = serve(&files, "/logout", true, &vars);
    assert_eq!(out.status, 200);
    assert!(out.body.contains("href=\"http://10.5.50.1/login?dst=") && out.body.contains("42m"), "{}", out.body);
}

#[test]
fn the_status_page_logs_out_for_good() {
    let files = installed(RouterId::new(), &PortalHost::parse("https://cloud.example").unwrap());
    let mut vars = device();
    vars.insert("link-logout".into(), "http://10.5.50.1/logout".into());
    vars.insert("uptime".into(), "5m".into());
    vars.insert("session-time-left".into(), "55m".into());
    let out = serve(&files, "/status", true, &vars);
    assert_eq!(out.status, 200);
    assert!(out.body.contains("Time left / Muda uliobaki: <b>55m</b>"), "the time left, first: {}", out.body);
    // The log-out form erases the router's login cookie, or the device is logged straight back in.
    let form = out.body.split("<form").nth(1).expect("a log-out form");
    assert!(form.contains("action=\"http://10.5.50.1/logout\""), "{form}");
    assert!(form.contains("name=\"erase-cookie\" value=\"on\""), "{form}");
}

#[test]
fn the_login_page_fills_in_the_voucher_form_as_routeros_would() {
    let portal = PortalHost::parse("https://cloud.example").unwrap();
    let files = installed(RouterId::new(), &portal);
    let page = serve(&files, "/login", false, &device());
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("$("), "every variable filled in: {}", page.body);
    // The script gets the CHAP bytes as octal escapes, and where the device was going.
    assert!(page.body.contains("chapId: '\\371', chapChallenge: '\\357\\015', orig: 'http%3A%2F%2Fexample.com%2Fnews'"), "{}", page.body);
    assert!(page.body.contains("probe: 'https://cloud.example/portal/ping.gif'"), "{}", page.body);
    assert!(page.body.contains("<form id=\"vform\" action=\"http://10.5.50.1/login\" method=\"post\""), "{}", page.body);
    assert!(!page.body.contains("id=\"err\""), "no error before a login was refused");
    // A refused login: the router serves the page again with its reason.
    let mut refused = device();
    refused.insert("error".into(), "invalid username or password".into());
    let again = serve(&files, "/login", false, &refused);
    assert!(again.body.contains("<p id=\"err\" role=\"alert\">invalid username or password</p>"), "{}", again.body);
}
