//! The portal browser tests' world: one hotspot (a cloud with payments, the payment
//! emulator, the RouterOS emulator with an agent, three plans), a stand-in for the router's
//! login endpoint, and a customer's headless Chromium on it, with the waits the tests share.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::response::Html;
use jasiyo_cloud::model::{NewPlan, Payment};
use jasiyo_cloud::payments::PaymentsConfig;
use jasiyo_cloud::providers::ProviderKind;
use jasiyo_cloud::store::now_ms;
use jasiyo_cloud::store::testing::Backend;
use jasiyo_cloud::token::AgentToken;
use jasiyo_tests::harness::*;
use jasiyo_tests::payment_emulator::{EmulatorAccounts, PaymentEmulator, Prompt};
use jasiyo_tests::routeros_emulator::{EmulatorConfig, RouterOsEmulator};
use md5::{Digest, Md5};

use super::webdriver::{Browser, Shots, find_browser};

/// The phone's device on the hotspot.
pub(super) const MAC: &str = "02:AA:BB:CC:DD:01";
pub(super) const IP: &str = "10.5.50.21";
/// What the router put on its page for CHAP: an id and a 16-byte challenge, octal-escaped.
pub(super) const CHAP_ID: &str = "\\371";
pub(super) const CHAP_CHALLENGE: &str = "\\357\\015\\330\\013\\021\\234\\145\\245\\303\\253\\142\\246\\133\\175\\375\\316";

/// What the page posted to the router's login URL.
#[derive(Clone, Debug)]
pub(super) struct LoginPost {
    pub(super) method: &'static str,
    pub(super) fields: HashMap<String, String>,
}

type Posts = Arc<Mutex<Vec<LoginPost>>>;

/// What the stand-in shares with its handlers: the logins posted, and whether to answer
/// `204 No Content`, which leaves the browser on the page that posted (to look at it after
/// its login went).
#[derive(Clone, Default)]
pub(super) struct Logins {
    pub(super) posts: Posts,
    pub(super) stay: Arc<std::sync::atomic::AtomicBool>,
    pub(super) posted: Arc<tokio::sync::Notify>,
}

/// The router's `link-login-only` endpoint as far as the page can tell: records the login
/// and answers like `alogin.html` (on to `dst`); `/orig` is the page the customer wanted.
pub(super) struct StandIn {
    pub(super) addr: SocketAddr,
    pub(super) posts: Posts,
    pub(super) stay: Arc<std::sync::atomic::AtomicBool>,
    pub(super) posted: Arc<tokio::sync::Notify>,
}

async fn stand_in() -> StandIn {
    async fn login(State(logins): State<Logins>, method: &'static str, fields: HashMap<String, String>) -> axum::response::Response {
        use axum::response::IntoResponse;
        let dst = fields.get("dst").cloned().unwrap_or_default();
        logins.posts.lock().unwrap().push(LoginPost { method, fields });
        logins.posted.notify_one();
        if logins.stay.load(std::sync::atomic::Ordering::SeqCst) {
            return axum::http::StatusCode::NO_CONTENT.into_response();
        }
        let dst = if dst.starts_with("http://") { dst.replace('"', "%22") } else { "/status".into() };
        Html(format!(
            "<!DOCTYPE html><title>Logged in</title><meta http-equiv=\"refresh\" content=\"0;url={dst}\"><p>You are logged in</p>"
        ))
        .into_response()
    }
    let logins = Logins::default();
    let app = axum::Router::new()
        .route(
            "/login",
            axum::routing::post(|s: State<Logins>, Form(f): Form<HashMap<String, String>>| login(s, "POST", f))
                .get(|s: State<Logins>, Query(f): Query<HashMap<String, String>>| login(s, "GET", f)),
        )
        .route(
            "/orig",
            axum::routing::get(|| async { Html("<!DOCTYPE html><title>Original</title><h1 id=\"orig\">The page you wanted</h1>") }),
        )
        .with_state(logins.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    StandIn { addr, posts: logins.posts, stay: logins.stay, posted: logins.posted }
}

/// One hotspot with a customer's browser on it.
pub(super) struct Portal {
    pub(super) world: World,
    pub(super) tenant: jasiyo_cloud::model::TenantId,
    pub(super) cloud: TestCloud,
    pub(super) creds: RouterCreds,
    pub(super) router: RouterOsEmulator,
    pub(super) agent: Option<TestAgent>,
    pub(super) pay: PaymentEmulator,
    pub(super) plans: HashMap<String, String>,
    pub(super) login: StandIn,
    pub(super) browser: Browser,
    pub(super) shots: Shots,
    pub(super) http: reqwest::Client,
}

/// How a page is opened: which device, and what the router's `login.html` passed on.
pub(super) struct Open<'a> {
    pub(super) mac: &'a str,
    pub(super) ip: &'a str,
    pub(super) chap: bool,
    pub(super) login: bool,
}

pub(super) const DEVICE: Open<'static> = Open { mac: MAC, ip: IP, chap: false, login: true };

/// `None` (and SKIPPED) when there is no browser here and none is required.
pub(super) async fn portal(test: &str, width: u32, tune: impl FnOnce(&mut PaymentsConfig)) -> Option<Portal> {
    portal_sized(test, width, 740, tune).await
}

/// [`portal`] on a screen `width`×`height`.
pub(super) async fn portal_sized(test: &str, width: u32, height: u32, tune: impl FnOnce(&mut PaymentsConfig)) -> Option<Portal> {
    let (chromium, driver) = match find_browser() {
        Ok(found) => found,
        Err(why) if std::env::var("JASIYO_REQUIRE_BROWSER").is_ok_and(|v| v == "1") => panic!("JASIYO_REQUIRE_BROWSER=1 but {why}"),
        Err(why) => {
            eprintln!("SKIPPED: browser test {test}: {why}");
            return None;
        }
    };
    let world = World::new(Backend::Sqlite).await?;
    let cloud = world.cloud_with_payments(tune).await;
    let store = cloud.store().clone();
    let tenant = store.create_tenant("Mama Mboga WiFi", now_ms()).await.unwrap();
    let token = AgentToken::generate();
    let id = store.create_router(tenant.id, "Kibanda", &token.hash(), now_ms()).await.unwrap().id;
    let creds = RouterCreds { id, token: token.expose().to_string() };
    let mut plans = HashMap::new();
    for (name, price, secs, mb, rate) in
        [("Daily", 50, 86_400, Some(2048), None), ("1 hour", 20, 3600, Some(500), Some("2M/5M")), ("30 minutes", 10, 1800, None, None)]
    {
        let plan = NewPlan {
            shared_users: None,
            name: name.into(),
            price_kes: price,
            duration_secs: secs,
            data_mb: mb,
            rate_limit: rate.map(Into::into),
            profile: None,
        };
        plans.insert(name.to_string(), store.create_plan(tenant.id, &plan, now_ms()).await.unwrap().id.to_string());
    }
    let pay = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let sealed = cloud.payments.seal(&provider_config(ProviderKind::Daraja, &pay)).unwrap();
    store.set_provider(tenant.id, ProviderKind::Daraja, &sealed, Some(&AgentToken::generate().hash()), now_ms()).await.unwrap();
    let router = RouterOsEmulator::start(EmulatorConfig::default()).await;
    router.add_host(MAC, IP);
    let mut agent = TestAgent::start_routeros(&cloud.ws_url(), &creds, &world.agent_dir("r"), router.addr(), fast_edge());
    agent.connected().await;
    let login = stand_in().await;
    let browser = Browser::start(&chromium, &driver, width, height).await;
    Some(Portal {
        world,
        tenant: tenant.id,
        cloud,
        creds,
        router,
        agent: Some(agent),
        pay,
        plans,
        login,
        browser,
        shots: Shots::new(test),
        http: reqwest::Client::new(),
    })
}

/// `%XX` for everything but unreserved characters, as RouterOS's `-esc` variables are.
pub(super) fn esc(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// The CHAP password RouterOS expects: MD5 of id, password and challenge bytes.
pub(super) fn chap_md5(password: &str) -> String {
    let octal = |s: &str| s.split('\\').filter(|o| !o.is_empty()).map(|o| u8::from_str_radix(o, 8).unwrap()).collect::<Vec<u8>>();
    let mut md5 = Md5::new();
    md5.update(octal(CHAP_ID));
    md5.update(password.as_bytes());
    md5.update(octal(CHAP_CHALLENGE));
    hex::encode(md5.finalize())
}

impl Portal {
    pub(super) fn orig(&self) -> String {
        format!("http://{}/orig?from=hotspot", self.login.addr)
    }

    /// The portal URL the router's `login.html` would send this device to.
    pub(super) fn url(&self, open: &Open<'_>) -> String {
        let mut query = vec![format!("mac={}", esc(open.mac)), format!("ip={}", esc(open.ip))];
        if open.login {
            query.push(format!("link-login-only={}", esc(&format!("http://{}/login", self.login.addr))));
            query.push(format!("link-orig={}", esc(&self.orig())));
        }
        if open.chap {
            query.push(format!("chap-id={}", esc(CHAP_ID)));
            query.push(format!("chap-challenge={}", esc(CHAP_CHALLENGE)));
        }
        format!("{}/portal/{}?{}", self.cloud.http_url(), self.creds.id, query.join("&"))
    }

    pub(super) async fn open(&self, open: &Open<'_>) {
        self.browser.goto(&self.url(open)).await;
        self.until("document.body.getAttribute('data-state') === 'choose'", "the plans").await;
    }

    pub(super) async fn until(&self, condition: &str, what: &str) {
        self.browser.wait(condition, what, WAIT, &self.shots).await;
    }

    pub(super) async fn until_state(&self, state: &str) {
        self.until(&format!("document.body.getAttribute('data-state') === '{state}'"), state).await;
    }

    pub(super) async fn until_reason(&self, reason: &str) {
        let condition =
            format!("document.body.getAttribute('data-state') === 'failed' && document.body.getAttribute('data-reason') === '{reason}'");
        self.until(&condition, reason).await;
    }

    pub(super) async fn shot(&self, name: &str) -> PathBuf {
        self.shots.save(&self.browser, name).await
    }

    /// Picks a plan, types a phone number and presses Pay.
    pub(super) async fn choose_and_pay(&self, plan: &str, phone: &str) {
        self.browser.click(&format!("#plans input[value=\"{}\"]", self.plans[plan])).await;
        self.browser.type_into("#phone", phone).await;
        self.browser.click("#pay").await;
    }

    /// The prompt on `phone`'s handset.
    pub(super) async fn prompt(&self, phone: &str) -> Prompt {
        self.pay.wait_for_prompt(phone, WAIT).await.unwrap_or_else(|| panic!("no prompt reached {phone}"))
    }

    /// Waits until the browser is at the page the customer wanted (the router sent it on
    /// after the login), and returns what the page posted to the router.
    pub(super) async fn until_at_orig(&self) -> LoginPost {
        let condition = format!("location.href === '{}' && !!document.getElementById('orig')", self.orig());
        self.until(&condition, "the original page").await;
        self.login.posts.lock().unwrap().last().cloned().expect("a login was posted")
    }

    /// Waits until the page has posted `n` logins to the router.
    pub(super) async fn until_posted(&self, n: usize) {
        let posted = async {
            while self.login.posts.lock().unwrap().len() < n {
                self.login.posted.notified().await;
            }
        };
        tokio::time::timeout(WAIT, posted).await.unwrap_or_else(|_| panic!("no login posted"));
    }

    pub(super) async fn newest_payment(&self) -> Payment {
        self.cloud.store().list_payments(self.creds.id, 1).await.unwrap().remove(0)
    }

    pub(super) async fn login_of(&self, payment: &Payment) -> (String, String) {
        let e = self.cloud.store().entitlement_for_payment(payment.id).await.unwrap().expect("paid");
        (e.username, e.password)
    }

    pub(super) async fn stop(self) {
        self.browser.close().await;
        if let Some(agent) = self.agent {
            agent.stop().await;
        }
        self.cloud.stop().await;
        drop(self.world);
    }
}
