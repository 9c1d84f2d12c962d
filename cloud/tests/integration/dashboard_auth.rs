//! The dashboard's accounts over HTTP, on both databases: sign-up, sessions in HttpOnly
//! cookies, CSRF refusals, sign-in limits, password change and reset links, staff
//! invitations, and one tenant never seeing another's payments.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use jasiyo_cloud::accounts::Accounts;
use jasiyo_cloud::http::{AppState, router};
use jasiyo_cloud::hub::{Hub, HubConfig};
use jasiyo_cloud::model::{Email, LinkPurpose};
use jasiyo_cloud::payments::sealer::Sealer;
use jasiyo_cloud::payments::{Payments, PaymentsConfig};
use jasiyo_cloud::store::dashboard::PaymentFilter;
use jasiyo_cloud::store::testing::{Backend, fresh_store, paid_payment};
use jasiyo_cloud::store::{Store, now_ms};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// The cloud's routes over a fresh store.
pub struct Site {
    pub app: axum::Router,
    pub store: Arc<dyn Store>,
    pub accounts: Arc<Accounts>,
    pub hub: Arc<Hub>,
    _dir: tempfile::TempDir,
}

impl Site {
    /// Serves the site on an ephemeral port too (for agents, which need a real socket);
    /// it serves until the test's runtime ends.
    pub async fn serve(&self) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let service = self.app.clone().into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, service).await });
        addr
    }
}

/// A fresh site on `backend` (`None`: PostgreSQL not configured here).
pub async fn site(backend: Backend) -> Option<Site> {
    let dir = tempfile::TempDir::new().unwrap();
    let store = fresh_store(backend, dir.path()).await?;
    let hub = Hub::start(store.clone(), HubConfig::default(), CancellationToken::new());
    let payments = Payments::new(store.clone(), hub.clone(), Sealer::new([7; 32]), PaymentsConfig::new("http://127.0.0.1")).unwrap();
    let state = AppState::new(hub.clone(), payments);
    let accounts = state.accounts.clone();
    Some(Site { app: router(state), store, accounts, hub, _dir: dir })
}

/// A browser: one cookie, kept across requests.
#[derive(Clone)]
pub struct Browser {
    app: axum::Router,
    pub cookie: Option<String>,
}

/// A response: status, headers, body.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// Where a redirect points.
    pub fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The CSRF token in the page's forms.
    /// The page's CSRF token, or an empty one when it has no form (to show that a refusal
    /// is not for the lack of a token).
    pub fn csrf_or_none(&self) -> String {
        if self.body.contains("name=\"csrf\" value=\"") { self.csrf() } else { String::new() }
    }

    pub fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
        self.body[at..at + 32].to_string()
    }
}

impl Browser {
    pub fn new(site: &Site) -> Browser {
        Browser { app: site.app.clone(), cookie: None }
    }

    pub async fn request(&mut self, method: &str, uri: &str, form: &[(&str, &str)], extra: &[(&str, &str)]) -> Page {
        let mut request = Request::builder().method(method).uri(uri).header("host", "127.0.0.1");
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, format!("jasiyo_session={cookie}"));
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        let body = if method == "POST" {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            serde_urlencoded::to_string(form).unwrap()
        } else {
            String::new()
        };
        let response = self.app.clone().oneshot(request.body(Body::from(body)).unwrap()).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        if let Some(set) = headers.get(header::SET_COOKIE).and_then(|v| v.to_str().ok()) {
            let value = set.split(';').next().unwrap().trim_start_matches("jasiyo_session=");
            self.cookie = (!value.is_empty()).then(|| value.to_string());
        }
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Page { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    pub async fn get(&mut self, uri: &str) -> Page {
        self.request("GET", uri, &[], &[]).await
    }

    pub async fn post(&mut self, uri: &str, form: &[(&str, &str)]) -> Page {
        self.request("POST", uri, form, &[]).await
    }

    /// Signs up a business; panics unless it lands on the overview.
    pub async fn sign_up(&mut self, business: &str, email: &str) -> Page {
        let form = [("business", business), ("name", "Wanjiku"), ("email", email), ("phone", "0712345678"), ("password", "s3cret-pass")];
        let page = self.post("/dashboard/signup", &form).await;
        assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, "/dashboard"), "{}", page.body);
        page
    }
}

async fn sign_up_and_sessions(site: Site) {
    let mut owner = Browser::new(&site);
    assert_eq!(owner.get("/dashboard").await.location(), "/dashboard/login", "not signed in: to the sign-in page");
    let page = owner.sign_up("Mama Mboga WiFi", "Wanjiku@Example.com").await;
    let cookie = page.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/dashboard"), "{cookie}");
    let overview = owner.get("/dashboard").await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(overview.body.contains("Mama Mboga WiFi") && overview.body.contains("No payments yet."), "{}", overview.body);
    assert!(overview.headers.get("content-security-policy").is_some());

    // The same address (any case) or business name again: refused, nothing made.
    let mut other = Browser::new(&site);
    let form =
        [("business", "Another"), ("name", "X"), ("email", "wanjiku@example.com"), ("phone", "0712345678"), ("password", "s3cret-pass")];
    let again = other.post("/dashboard/signup", &form).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(again.body.contains("already registered") && again.body.contains("Another"), "the form comes back filled: {}", again.body);
    assert!(site.store.find_tenant("Another").await.unwrap().is_none(), "no tenant without its owner");
    let weak = [("business", "B2"), ("name", "X"), ("email", "b2@example.com"), ("phone", "0712345678"), ("password", "short")];
    assert_eq!(other.post("/dashboard/signup", &weak).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(other.cookie, None);

    // Sign-out needs the CSRF token; without it the session lives on.
    let csrf = overview.csrf();
    assert_eq!(owner.post("/dashboard/logout", &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(owner.post("/dashboard/logout", &[("csrf", "0".repeat(32).as_str())]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(owner.get("/dashboard").await.status, StatusCode::OK);
    let kept = owner.cookie.clone();
    let out = owner.post("/dashboard/logout", &[("csrf", csrf.as_str())]).await;
    assert_eq!(out.location(), "/dashboard/login");
    owner.cookie = kept.clone();
    assert_eq!(owner.get("/dashboard").await.location(), "/dashboard/login", "the old cookie opens nothing once signed out");

    // Signing in: wrong password refused; the right one makes a new session token.
    let mut browser = Browser::new(&site);
    let wrong = browser.post("/dashboard/login", &[("email", "wanjiku@example.com"), ("password", "nope-nope")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let unknown = browser.post("/dashboard/login", &[("email", "nobody@example.com"), ("password", "nope-nope")]).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("wrong e-mail address or password") && unknown.body.contains("wrong e-mail address or password"));
    let right = browser.post("/dashboard/login", &[("email", "WANJIKU@example.com"), ("password", "s3cret-pass")]).await;
    assert_eq!(right.location(), "/dashboard");
    assert_ne!(browser.cookie, kept);
    assert_eq!(browser.get("/dashboard").await.status, StatusCode::OK);

    // A sign-in form posted from another site is refused.
    let forged = browser
        .request(
            "POST",
            "/dashboard/login",
            &[("email", "wanjiku@example.com"), ("password", "s3cret-pass")],
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

async fn sign_in_attempts_are_limited(site: Site) {
    let mut owner = Browser::new(&site);
    owner.sign_up("Limits", "limits@example.com").await;
    let mut attacker = Browser::new(&site);
    let mut statuses = Vec::new();
    for _ in 0..11 {
        statuses.push(attacker.post("/dashboard/login", &[("email", "limits@example.com"), ("password", "guess-guess")]).await.status);
    }
    assert!(statuses[..10].iter().all(|s| *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
    assert_eq!(statuses[10], StatusCode::TOO_MANY_REQUESTS);
    let right = attacker.post("/dashboard/login", &[("email", "limits@example.com"), ("password", "s3cret-pass")]).await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS, "not even the right password, for this window");
}

async fn passwords_change_and_reset(site: Site) {
    let mut laptop = Browser::new(&site);
    laptop.sign_up("Resets", "resets@example.com").await;
    let mut phone = Browser::new(&site);
    phone.post("/dashboard/login", &[("email", "resets@example.com"), ("password", "s3cret-pass")]).await;
    assert_eq!(phone.get("/dashboard").await.status, StatusCode::OK);

    let csrf = laptop.get("/dashboard/settings/password").await.csrf();
    let bad = laptop
        .post("/dashboard/settings/password", &[("csrf", csrf.as_str()), ("current", "not-it-at-all"), ("new", "n3w-password")])
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    let done =
        laptop.post("/dashboard/settings/password", &[("csrf", csrf.as_str()), ("current", "s3cret-pass"), ("new", "n3w-password")]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Password changed"));
    assert_eq!(laptop.get("/dashboard").await.status, StatusCode::OK, "this browser got a new session");
    assert_eq!(phone.get("/dashboard").await.location(), "/dashboard/login", "every other session ended");

    // A reset link works once, and signs in.
    let email = Email::parse("resets@example.com").unwrap();
    let link = site.accounts.reset_link(&email).await.unwrap().unwrap();
    let path = &link[link.find("/dashboard/").unwrap()..];
    let mut browser = Browser::new(&site);
    assert_eq!(browser.get(path).await.status, StatusCode::OK);
    assert_eq!(browser.post(path, &[("password", "short")]).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(browser.post(path, &[("password", "after-reset")]).await.location(), "/dashboard");
    assert_eq!(browser.get("/dashboard").await.status, StatusCode::OK);
    assert_eq!(Browser::new(&site).post(path, &[("password", "again-again")]).await.status, StatusCode::BAD_REQUEST, "used once");
    assert_eq!(laptop.get("/dashboard").await.location(), "/dashboard/login", "a reset ends the other sessions");
    let old = Browser::new(&site).post("/dashboard/login", &[("email", "resets@example.com"), ("password", "n3w-password")]).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    // "Forgot password" says the same for a known and an unknown address.
    let known = Browser::new(&site).post("/dashboard/forgot", &[("email", "resets@example.com")]).await;
    let unknown = Browser::new(&site).post("/dashboard/forgot", &[("email", "nobody@example.com")]).await;
    assert_eq!((known.status, unknown.status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(known.body, unknown.body);
}

async fn staff_join_by_invitation(site: Site) {
    let mut owner = Browser::new(&site);
    owner.sign_up("Staffed", "owner@staffed.example").await;
    let account = site.store.credentials(&Email::parse("owner@staffed.example").unwrap()).await.unwrap().unwrap().account;
    let tenant = site.store.find_tenant("Staffed").await.unwrap().unwrap();
    let link = site.accounts.invite_staff(&tenant, &account, "helper@staffed.example", "Otieno").await.unwrap();
    let path = &link[link.find("/dashboard/").unwrap()..];
    let mut staff = Browser::new(&site);
    let before = staff.post("/dashboard/login", &[("email", "helper@staffed.example"), ("password", "anything-at-all")]).await;
    assert_eq!(before.status, StatusCode::UNAUTHORIZED, "no password until the invitation is accepted");
    assert_eq!(staff.post(path, &[("password", "helper-pass")]).await.location(), "/dashboard");
    let overview = staff.get("/dashboard").await;
    assert!(overview.body.contains("Staffed") && overview.body.contains("Otieno"));
    assert!(!overview.body.contains("/dashboard/plans"), "staff see no plans link");
    let token = site.store.find_tenant("Staffed").await.unwrap().unwrap();
    assert_eq!(token.id, tenant.id);
    // An invitation link is not a reset link.
    let reused =
        site.store.use_link(&jasiyo_cloud::token::hash_token(&path[path.rfind('/').unwrap() + 1..]), LinkPurpose::Reset, now_ms()).await;
    assert_eq!(reused.unwrap(), None);
}

async fn suspended_tenants_cannot_sign_in(site: Site) {
    let mut owner = Browser::new(&site);
    owner.sign_up("Suspended", "s@suspended.example").await;
    let tenant = site.store.find_tenant("Suspended").await.unwrap().unwrap();
    assert!(site.store.set_suspended(tenant.id, true, now_ms()).await.unwrap());
    assert_eq!(owner.get("/dashboard").await.location(), "/dashboard/login", "its live session ends");
    let again = Browser::new(&site).post("/dashboard/login", &[("email", "s@suspended.example"), ("password", "s3cret-pass")]).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
}

async fn tenants_see_only_their_payments(site: Site) {
    let mut a = Browser::new(&site);
    a.sign_up("Tenant A", "a@a.example").await;
    let mut b = Browser::new(&site);
    b.sign_up("Tenant B", "b@b.example").await;
    let tenant_a = site.store.find_tenant("Tenant A").await.unwrap().unwrap();
    let tenant_b = site.store.find_tenant("Tenant B").await.unwrap().unwrap();
    let router = site.store.create_router(tenant_a.id, "shop", "hash", now_ms()).await.unwrap();
    let paid = paid_payment(site.store.as_ref(), router.id, now_ms(), now_ms() / 1000 + 3600).await;

    let page_a = a.get("/dashboard").await;
    assert!(page_a.body.contains(&paid.to_string()) && page_a.body.contains("KES 20"), "{}", page_a.body);
    let page_b = b.get("/dashboard").await;
    assert!(!page_b.body.contains(&paid.to_string()) && page_b.body.contains("No payments yet."));
    assert!(site.store.tenant_payment(tenant_b.id, paid).await.unwrap().is_none());
    assert!(site.store.tenant_payment(tenant_a.id, paid).await.unwrap().is_some());
    assert!(site.store.payment_lines(tenant_b.id, &PaymentFilter::default(), None, 50).await.unwrap().is_empty());
    let totals = site.store.payment_totals(tenant_a.id, &PaymentFilter::default()).await.unwrap();
    assert_eq!((totals.count, totals.paid, totals.paid_kes), (1, 1, 20));
}

jasiyo_cloud::on_each_backend!(site;
    sign_up_and_sessions,
    sign_in_attempts_are_limited,
    passwords_change_and_reset,
    staff_join_by_invitation,
    suspended_tenants_cannot_sign_in,
    tenants_see_only_their_payments,
);
