//! The router's hotspot files and install script: fetched with the router's download
//! credential in an `Authorization` header (never a token in the URL), a credential that
//! downloads these files and opens no hub session; the `router install-script` command
//! that prints the script and registers the credential; and the router's `login.html`,
//! which probes the cloud (`/portal/ping.gif`) and offers a voucher form without it.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use clap::Parser;
use http_body_util::BodyExt;
use jasiyo_cloud::cli::{Cli, run_admin};
use jasiyo_cloud::http::AppState;
use jasiyo_cloud::hub::{AuthError, Hub, HubConfig};
use jasiyo_cloud::payments::sealer::Sealer;
use jasiyo_cloud::payments::{Payments, PaymentsConfig};
use jasiyo_cloud::store::testing::{Backend, fresh_database_url};
use jasiyo_cloud::store::{Store, now_ms};
use jasiyo_cloud::token::{AgentToken, download_token};
use jasiyo_shared::RouterId;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

const PUBLIC_URL: &str = "https://pay.example.co.ke";

/// A router (with its agent token) and the app over its store.
struct Shop {
    _dir: tempfile::TempDir,
    url: String,
    store: Arc<dyn Store>,
    hub: Arc<Hub>,
    app: axum::Router,
    router: RouterId,
    token: String,
}

impl Shop {
    async fn new(backend: Backend) -> Option<Shop> {
        let dir = tempfile::TempDir::new().unwrap();
        let url = fresh_database_url(backend, dir.path()).await?;
        let store = jasiyo_cloud::store::connect(Some(&url), dir.path()).await.unwrap();
        let tenant = store.create_tenant("Mama Mboga WiFi", now_ms()).await.unwrap();
        let token = AgentToken::generate();
        let router = store.create_router(tenant.id, "Kibanda", &token.hash(), now_ms()).await.unwrap().id;
        let hub = Hub::start(store.clone(), HubConfig::default(), CancellationToken::new());
        let payments = Payments::new(store.clone(), hub.clone(), Sealer::new([7; 32]), PaymentsConfig::new(PUBLIC_URL)).unwrap();
        let app = jasiyo_cloud::http::router(AppState::new(hub.clone(), payments));
        Some(Shop { _dir: dir, url, store, hub, app, router, token: token.expose().to_string() })
    }

    /// `router install-script` as the owner runs it, with `token`.
    async fn install_script(&self, token: &str) -> anyhow::Result<String> {
        let router = self.router.to_string();
        let args = ["jasiyo-cloud", "--database-url", &self.url, "router", "install-script", &router, "--token", token];
        let mut out = Vec::new();
        run_admin(Cli::parse_from(args.into_iter().chain(["--public-url", PUBLIC_URL])), &mut out).await?;
        Ok(String::from_utf8(out).unwrap())
    }

    /// GET `uri` with `Authorization: Bearer <bearer>` if given: status, headers, body.
    async fn get(&self, uri: &str, bearer: Option<&str>) -> (StatusCode, axum::http::HeaderMap, String) {
        let mut request = Request::builder().uri(uri);
        if let Some(bearer) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {bearer}"));
        }
        let response = self.app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8_lossy(&bytes).into_owned())
    }
}

async fn the_files_come_with_the_download_credential_in_a_header(s: Shop) {
    let base = format!("/hotspot/{}", s.router);
    let download = download_token(&s.token);
    assert_eq!(s.get(&format!("{base}/login.html"), Some(&download)).await.0, StatusCode::UNAUTHORIZED, "not registered yet");

    let printed = s.install_script(&s.token).await.unwrap();
    assert!(!printed.contains(&s.token), "the agent token is not in the script");
    let (status, headers, login) = s.get(&format!("{base}/login.html"), Some(&download)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(login.contains(&format!("content=\"0;url={PUBLIC_URL}/portal/{}?mac=$(mac-esc)", s.router)));
    for (file, needle) in [("alogin.html", "$(link-redirect)"), ("status.html", "$(link-logout)"), ("error.html", "$(error)")] {
        let (status, _, text) = s.get(&format!("{base}/{file}"), Some(&download)).await;
        assert_eq!(status, StatusCode::OK, "{file}");
        assert!(text.contains(needle), "{file}: {text}");
    }

    let (status, _, script) = s.get(&format!("{base}/install.rsc"), Some(&download)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(script, printed, "the command line prints what the router fetches");
    for needle in [
        format!(":local base \"{PUBLIC_URL}/hotspot/{}\"", s.router),
        format!(":local auth \"Authorization: Bearer {download}\""),
        "/tool fetch url=($base . \"/\" . $page) http-header-field=$auth check-certificate=yes dst-path=($dir . \"/\" . $page)".to_string(),
        "/ip hotspot profile set [find] html-directory-override=\"\"".to_string(),
        "/ip hotspot profile set [find] html-directory=$dir".to_string(),
        "/ip hotspot walled-garden add dst-host=pay.example.co.ke comment=\"jasiyo portal\"".to_string(),
        format!(
            ":do {{ /tool fetch url=\"{PUBLIC_URL}/hotspot/{}/install.rsc\" http-header-field=\"Authorization: Bearer {download}\" \
             check-certificate=yes dst-path=jasiyo-install.rsc }}",
            s.router
        ),
        "/import jasiyo-install.rsc; /file remove [find where name=\"jasiyo-install.rsc\"]".to_string(),
    ] {
        assert!(script.contains(&needle), "install.rsc lacks {needle}:\n{script}");
    }
    assert!(!script.contains("token="), "no token in any URL:\n{script}");

    // The old way, a token in the query string, is refused, even beside a good header.
    for uri in [format!("{base}/login.html?token={}", s.token), format!("{base}/install.rsc?token={download}")] {
        assert_eq!(s.get(&uri, None).await.0, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(s.get(&uri, Some(&download)).await.0, StatusCode::UNAUTHORIZED, "{uri}");
    }
    // The agent token, a stranger's credential, none, another router, an unknown file.
    let other = download_token(AgentToken::generate().expose());
    for bearer in [Some(s.token.as_str()), Some(other.as_str()), None] {
        assert_eq!(s.get(&format!("{base}/login.html"), bearer).await.0, StatusCode::UNAUTHORIZED, "{bearer:?}");
    }
    assert_eq!(s.get(&format!("/hotspot/{}/login.html", RouterId::new()), Some(&download)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get(&format!("{base}/flogin.html"), Some(&download)).await.0, StatusCode::NOT_FOUND);

    // It is not an agent token: the hub does not open a session for it.
    assert!(matches!(s.hub.authenticate(s.router, &download).await, Err(AuthError::WrongToken)));
    assert!(s.hub.authenticate(s.router, &s.token).await.is_ok());

    // A wrong token prints nothing; a revoked router's credential stops working.
    let refused = s.install_script(AgentToken::generate().expose()).await.unwrap_err();
    assert!(refused.to_string().contains("not router"), "{refused}");
    assert!(s.store.revoke_router(s.router, now_ms()).await.unwrap());
    assert_eq!(s.get(&format!("{base}/login.html"), Some(&download)).await.0, StatusCode::UNAUTHORIZED);
}

async fn a_new_agent_token_retires_the_old_download_credential(s: Shop) {
    let old = download_token(&s.token);
    s.install_script(&s.token).await.unwrap();
    let base = format!("/hotspot/{}", s.router);
    assert_eq!(s.get(&format!("{base}/login.html"), Some(&old)).await.0, StatusCode::OK);
    // `router rotate-token`: same router id, a new agent token.
    let rotated = AgentToken::generate();
    assert!(s.store.rotate_router_token(s.router, &rotated.hash(), now_ms()).await.unwrap());
    assert_eq!(s.get(&format!("{base}/login.html"), Some(&old)).await.0, StatusCode::UNAUTHORIZED, "retired with its token");
    // The script printed with the new token downloads again.
    s.install_script(rotated.expose()).await.unwrap();
    let new = download_token(rotated.expose());
    assert_eq!(s.get(&format!("{base}/login.html"), Some(&new)).await.0, StatusCode::OK);
}

/// Every RouterOS variable on the router's `login.html`, each as the page means it.
const LOGIN_VARS: [&str; 13] = [
    "mac-esc",
    "ip-esc",
    "link-login-only-esc",
    "link-orig-esc",
    "chap-id-esc",
    "chap-challenge-esc",
    "error-esc",
    "chap-id",
    "chap-challenge",
    "link-login-only",
    "error",
    "if error",
    "endif",
];

/// The `$(...)` names in `text`, in order.
fn routeros_vars(text: &str) -> Vec<&str> {
    text.match_indices("$(").map(|(at, _)| text[at + 2..].split(')').next().unwrap()).collect()
}

async fn the_login_page_probes_the_cloud_and_has_a_voucher_form(s: Shop) {
    s.install_script(&s.token).await.unwrap();
    let (status, _, login) = s.get(&format!("/hotspot/{}/login.html", s.router), Some(&download_token(&s.token))).await;
    assert_eq!(status, StatusCode::OK);
    println!("LOGIN PAGE: {} bytes", login.len());
    assert!(login.len() < 6 * 1024, "small enough for the router's flash and a slow phone: {} bytes", login.len());

    // Only the variables meant: RouterOS would fill in any other `$(` too.
    for var in routeros_vars(&login) {
        assert!(LOGIN_VARS.contains(&var), "unexpected RouterOS variable $({var}) in:\n{login}");
    }
    let script = login.split("<script>").nth(1).and_then(|s| s.split("</script>").next()).expect("a script");
    assert_eq!(routeros_vars(script), ["chap-id", "chap-challenge", "link-orig-esc"], "the script's own code has none");
    assert!(script.contains(&format!("probe: '{PUBLIC_URL}/portal/ping.gif'")), "{script}");
    assert!(script.contains("chapId: '$(chap-id)'"), "CHAP bytes as RouterOS writes them, octal in a string literal");
    assert!(!script.contains("use strict"), "strict mode forbids octal escapes");
    for es6 in ["=>", "let ", "const ", "`", "class "] {
        assert!(!script.contains(es6), "ES5 only, found {es6:?}");
    }

    // Without JavaScript, and from the page: on to the portal with the hotspot variables.
    let portal = format!("{PUBLIC_URL}/portal/{}?mac=$(mac-esc)&amp;ip=$(ip-esc)&amp;link-login-only=$(link-login-only-esc)", s.router);
    assert!(login.contains(&format!("<noscript><meta http-equiv=\"refresh\" content=\"0;url={portal}")), "{login}");
    assert!(login.contains(&format!("<a id=\"portal\" href=\"{portal}")), "{login}");
    assert!(login.contains("Try the payment page again / Jaribu ukurasa wa malipo tena"));
    // The voucher form: posted to the router, the router's error shown, in both languages.
    assert!(login.contains("Have a voucher? / Una vocha?"));
    assert!(login.contains("<form id=\"vform\" action=\"$(link-login-only)\" method=\"post\""), "{login}");
    for field in ["name=\"username\"", "name=\"password\"", "name=\"dst\"", "name=\"popup\" value=\"true\""] {
        assert!(login.contains(field), "{field}");
    }
    assert!(login.contains("$(if error)<p id=\"err\" role=\"alert\">$(error)</p>"), "{login}");

    // The probe: a GIF, never cached, while the database answers.
    let (status, headers, _) = s.get("/portal/ping.gif", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/gif");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let response = s.app.clone().oneshot(Request::builder().uri("/portal/ping.gif?t=1").body(Body::empty()).unwrap()).await.unwrap();
    let gif = response.into_body().collect().await.unwrap().to_bytes();
    assert!(gif.starts_with(b"GIF89a") && gif.ends_with(b";"), "a whole GIF: {gif:?}");
}

jasiyo_cloud::on_each_backend!(Shop::new;
    the_files_come_with_the_download_credential_in_a_header,
    a_new_agent_token_retires_the_old_download_credential,
    the_login_page_probes_the_cloud_and_has_a_voucher_form,
);
