//! The captive portal in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`) over WebDriver, against a real cloud, the payment emulator (Daraja),
//! the RouterOS emulator with a real agent, and a stand-in for the router's login endpoint
//! that records the form the page posts and sends the browser on like `alogin.html` does.
//!
//! Without Chromium the tests print SKIPPED, unless `JASIYO_REQUIRE_BROWSER=1` (CI), which
//! makes a missing browser a failure. Screenshots of every state land in
//! `target/portal-screenshots/`. `JASIYO_BENCH_PORTAL_RUNS` sets the runs of the benchmark
//! test (`scripts/bench-portal` sets 50).

mod customer;
pub(crate) mod webdriver;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Form, Query, State};
use axum::response::Html;
use jasiyo_cloud::model::{NewPlan, Payment};
use jasiyo_cloud::payments::PaymentsConfig;
use jasiyo_cloud::providers::ProviderKind;
use jasiyo_cloud::store::now_ms;
use jasiyo_cloud::store::testing::Backend;
use jasiyo_cloud::token::AgentToken;
use jasiyo_tests::harness::*;
use jasiyo_tests::payment_emulator::{Delivery, EmulatorAccounts, InjectedFailure, PaymentEmulator, Prompt, Resolution};
use jasiyo_tests::routeros_emulator::{EmulatorConfig, RouterOsEmulator};
use md5::{Digest, Md5};
use serde_json::{Value, json};
use webdriver::{Browser, Shots, find_browser};

/// The phone's device on the hotspot.
const MAC: &str = "02:AA:BB:CC:DD:01";
const IP: &str = "10.5.50.21";
/// What the router put on its page for CHAP: an id and a 16-byte challenge, octal-escaped.
const CHAP_ID: &str = "\\371";
const CHAP_CHALLENGE: &str = "\\357\\015\\330\\013\\021\\234\\145\\245\\303\\253\\142\\246\\133\\175\\375\\316";

/// What the page posted to the router's login URL.
#[derive(Clone, Debug)]
struct LoginPost {
    method: &'static str,
    fields: HashMap<String, String>,
}

type Posts = Arc<Mutex<Vec<LoginPost>>>;

/// What the stand-in shares with its handlers: the logins posted, and whether to answer
/// `204 No Content`, which leaves the browser on the page that posted (to look at it after
/// its login went).
#[derive(Clone, Default)]
struct Logins {
    posts: Posts,
    stay: Arc<std::sync::atomic::AtomicBool>,
    posted: Arc<tokio::sync::Notify>,
}

/// The router's `link-login-only` endpoint as far as the page can tell: records the login
/// and answers like `alogin.html` (on to `dst`); `/orig` is the page the customer wanted.
struct StandIn {
    addr: SocketAddr,
    posts: Posts,
    stay: Arc<std::sync::atomic::AtomicBool>,
    posted: Arc<tokio::sync::Notify>,
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
struct Portal {
    world: World,
    tenant: jasiyo_cloud::model::TenantId,
    cloud: TestCloud,
    creds: RouterCreds,
    router: RouterOsEmulator,
    agent: Option<TestAgent>,
    pay: PaymentEmulator,
    plans: HashMap<String, String>,
    login: StandIn,
    browser: Browser,
    shots: Shots,
    http: reqwest::Client,
}

/// How a page is opened: which device, and what the router's `login.html` passed on.
struct Open<'a> {
    mac: &'a str,
    ip: &'a str,
    chap: bool,
    login: bool,
}

const DEVICE: Open<'static> = Open { mac: MAC, ip: IP, chap: false, login: true };

/// `None` (and SKIPPED) when there is no browser here and none is required.
async fn portal(test: &str, width: u32, tune: impl FnOnce(&mut PaymentsConfig)) -> Option<Portal> {
    portal_sized(test, width, 740, tune).await
}

/// [`portal`] on a screen `width`×`height`.
async fn portal_sized(test: &str, width: u32, height: u32, tune: impl FnOnce(&mut PaymentsConfig)) -> Option<Portal> {
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
fn esc(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// The CHAP password RouterOS expects: MD5 of id, password and challenge bytes.
fn chap_md5(password: &str) -> String {
    let octal = |s: &str| s.split('\\').filter(|o| !o.is_empty()).map(|o| u8::from_str_radix(o, 8).unwrap()).collect::<Vec<u8>>();
    let mut md5 = Md5::new();
    md5.update(octal(CHAP_ID));
    md5.update(password.as_bytes());
    md5.update(octal(CHAP_CHALLENGE));
    hex::encode(md5.finalize())
}

impl Portal {
    fn orig(&self) -> String {
        format!("http://{}/orig?from=hotspot", self.login.addr)
    }

    /// The portal URL the router's `login.html` would send this device to.
    fn url(&self, open: &Open<'_>) -> String {
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

    async fn open(&self, open: &Open<'_>) {
        self.browser.goto(&self.url(open)).await;
        self.until("document.body.getAttribute('data-state') === 'choose'", "the plans").await;
    }

    async fn until(&self, condition: &str, what: &str) {
        self.browser.wait(condition, what, WAIT, &self.shots).await;
    }

    async fn until_state(&self, state: &str) {
        self.until(&format!("document.body.getAttribute('data-state') === '{state}'"), state).await;
    }

    async fn until_reason(&self, reason: &str) {
        let condition =
            format!("document.body.getAttribute('data-state') === 'failed' && document.body.getAttribute('data-reason') === '{reason}'");
        self.until(&condition, reason).await;
    }

    async fn shot(&self, name: &str) -> PathBuf {
        self.shots.save(&self.browser, name).await
    }

    /// Picks a plan, types a phone number and presses Pay.
    async fn choose_and_pay(&self, plan: &str, phone: &str) {
        self.browser.click(&format!("#plans input[value=\"{}\"]", self.plans[plan])).await;
        self.browser.type_into("#phone", phone).await;
        self.browser.click("#pay").await;
    }

    /// The prompt on `phone`'s handset.
    async fn prompt(&self, phone: &str) -> Prompt {
        self.pay.wait_for_prompt(phone, WAIT).await.unwrap_or_else(|| panic!("no prompt reached {phone}"))
    }

    /// Waits until the browser is at the page the customer wanted (the router sent it on
    /// after the login), and returns what the page posted to the router.
    async fn until_at_orig(&self) -> LoginPost {
        let condition = format!("location.href === '{}' && !!document.getElementById('orig')", self.orig());
        self.until(&condition, "the original page").await;
        self.login.posts.lock().unwrap().last().cloned().expect("a login was posted")
    }

    /// Waits until the page has posted `n` logins to the router.
    async fn until_posted(&self, n: usize) {
        let posted = async {
            while self.login.posts.lock().unwrap().len() < n {
                self.login.posted.notified().await;
            }
        };
        tokio::time::timeout(WAIT, posted).await.unwrap_or_else(|_| panic!("no login posted"));
    }

    async fn newest_payment(&self) -> Payment {
        self.cloud.store().list_payments(self.creds.id, 1).await.unwrap().remove(0)
    }

    async fn login_of(&self, payment: &Payment) -> (String, String) {
        let e = self.cloud.store().entitlement_for_payment(payment.id).await.unwrap().expect("paid");
        (e.username, e.password)
    }

    async fn stop(self) {
        self.browser.close().await;
        if let Some(agent) = self.agent {
            agent.stop().await;
        }
        self.cloud.stop().await;
        drop(self.world);
    }
}

/// Plans in order, mistakes in the phone number explained before anything is sent, the
/// Airtel hint, Swahili (remembered), and a 320-pixel-wide screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_phone_checks_swahili_and_a_narrow_screen() {
    let Some(p) = portal("plans", 320, |_| {}).await else { return };
    p.open(&DEVICE).await;
    let names = p
        .browser
        .eval("return Array.prototype.map.call(document.querySelectorAll('.pname'), function (e) { return e.textContent; });", json!([]))
        .await;
    assert_eq!(names, json!(["30 minutes", "1 hour", "Daily"]));
    let details = p.browser.text("label[for=plan-1] .pdet").await;
    assert_eq!(details, "500 MB · up to 5 Mbps", "the name says the duration already");
    assert_eq!(p.browser.text("label[for=plan-2] .pdet").await, "1 day · 2 GB");
    let fits = p.browser.eval("return document.documentElement.scrollWidth <= window.innerWidth;", json!([])).await;
    assert_eq!(fits, json!(true), "nothing scrolls sideways at 320 px");
    let labelled = p.browser.eval("return Array.prototype.every.call(document.querySelectorAll('input'), function (i) { return i.labels && i.labels.length > 0; });", json!([])).await;
    assert_eq!(labelled, json!(true), "every field has a label");
    p.shot("plans-320px").await;
    // The page's own MD5 (for CHAP) agrees with a real one, bytes above 127 included.
    let bytes: Vec<u8> = (0..=255u8).cycle().take(300).collect();
    let binary: String = bytes.iter().map(|&b| char::from(b)).collect();
    let page_md5 = p.browser.eval("return window.jasiyoMd5(arguments[0]);", json!([binary])).await;
    assert_eq!(page_md5, hex::encode(Md5::digest(&bytes)));

    // Pay with no plan, then a short number, then a landline: each explained, nothing sent.
    p.browser.type_into("#phone", "0712345678").await;
    p.browser.click("#pay").await;
    p.until("!document.getElementById('payerr').hidden", "the choose-a-plan message").await;
    assert_eq!(p.browser.text("#payerr").await, "Choose a plan first.");
    p.browser.click(&format!("#plans input[value=\"{}\"]", p.plans["1 hour"])).await;
    assert_eq!(p.browser.text("#pay").await, "Pay KES 20");
    for (typed, words) in [("0712 34", "wrong length"), ("0212 345 678", "not a Kenyan mobile number"), ("07l2 345 678", "only digits")] {
        p.browser.type_into("#phone", typed).await;
        p.browser.click("#pay").await;
        p.until("!document.getElementById('phoneerr').hidden", "the phone mistake").await;
        let said = p.browser.text("#phoneerr").await;
        assert!(said.contains(words), "{typed}: {said}");
        assert_eq!(p.browser.eval("return document.getElementById('phone').getAttribute('aria-invalid');", json!([])).await, "true");
    }
    p.shot("phone-mistake").await;
    p.browser.type_into("#phone", "+254 733 123 456").await;
    p.until("document.getElementById('phoneerr').hidden && !document.getElementById('phonehint').hidden", "the Airtel hint").await;
    assert!(p.browser.text("#phonehint").await.contains("Airtel"));
    assert!(p.pay.prompts().is_empty(), "nothing was sent");

    // Swahili, and remembered across a reload.
    p.browser.click("#lang").await;
    p.until("document.querySelector('legend').textContent === 'Chagua kifurushi'", "Swahili").await;
    assert_eq!(p.browser.text("#pay").await, "Lipa KES 20");
    assert!(p.browser.text("#phonehint").await.contains("Safaricom pekee"));
    assert_eq!(p.browser.eval("return document.documentElement.lang;", json!([])).await, "sw");
    p.shot("swahili").await;
    p.browser.refresh().await;
    p.until(
        "document.body.getAttribute('data-state') === 'choose' && document.querySelector('legend').textContent === 'Chagua kifurushi'",
        "Swahili after a reload",
    )
    .await;
    assert_eq!(p.browser.text("#lang").await, "English");

    // A hostile original URL stays data: nothing it carries runs.
    let xss = "http://example.com/\"><script>window.pwned=1</script>";
    p.browser.goto(&format!("{}&link-orig={}", p.url(&Open { login: false, ..DEVICE }), esc(xss))).await;
    p.until_state("choose").await;
    assert_eq!(p.browser.eval("return typeof window.pwned;", json!([])).await, "undefined");
    assert_eq!(
        p.browser.eval("return JSON.parse(document.getElementById('boot').textContent).hs.orig;", json!([])).await,
        "http://example.com/%22%3E%3Cscript%3Ewindow.pwned=1%3C/script%3E",
        "kept as a web address, its quotes and brackets percent-encoded"
    );
    p.stop().await;
}

/// Approve: waiting with a countdown, payment received, activating on the router, online;
/// the page logs the device in with CHAP and the browser ends at the page it wanted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_shows_each_stage_and_logs_in_with_chap() {
    let Some(mut p) = portal("approve", 360, |_| {}).await else { return };
    p.open(&Open { chap: true, ..DEVICE }).await;
    p.shot("plans").await;
    p.choose_and_pay("1 hour", "0712 345 678").await;
    p.until("document.body.getAttribute('data-state') === 'wait' && !document.getElementById('countbox').hidden", "the countdown").await;
    let count = p.browser.text("#count").await;
    assert!(count.starts_with("1:2") || count == "1:30", "a 90-second countdown, at {count}");
    assert_eq!(p.browser.text("#waittitle").await, "Check your phone and enter your M-Pesa PIN");
    assert!(p.browser.text("#wait").await.contains("No money is taken if you do not approve"));
    p.shot("waiting").await;

    // Hold the router's agent away: the payment is received, not yet on the router.
    let prompt = p.prompt("0712345678").await;
    p.agent.take().unwrap().stop().await;
    p.pay.resolve(&prompt.provider_ref, Resolution::Approve, Delivery::Normal).await.unwrap();
    p.until("document.body.getAttribute('data-stage') === 'payment_received'", "payment received").await;
    assert_eq!(p.browser.eval("return document.getElementById('s-waiting_for_approval').className;", json!([])).await, "done");
    p.shot("payment-received").await;

    // A slow router: the agent has the command, RouterOS has not answered yet.
    p.router.set_reply_delay(Duration::from_millis(1500));
    let mut agent = TestAgent::start_routeros(&p.cloud.ws_url(), &p.creds, &p.world.agent_dir("r"), p.router.addr(), fast_edge());
    agent.connected().await;
    p.agent = Some(agent);
    p.until("document.body.getAttribute('data-stage') === 'activating'", "activating").await;
    p.shot("activating").await;
    p.router.set_reply_delay(Duration::ZERO);

    let posted = p.until_at_orig().await;
    p.shot("at-original-page").await;
    let (username, password) = p.login_of(&p.newest_payment().await).await;
    assert_eq!(posted.method, "POST");
    assert_eq!(posted.fields["username"], username);
    assert_eq!(posted.fields["password"], chap_md5(&password), "CHAP-MD5 of id, password, challenge");
    assert_eq!(posted.fields["dst"], p.orig());
    let user = p.router.user(&username).expect("the user is on the router");
    assert_eq!(user.mac_address.as_deref(), Some(MAC));
    p.stop().await;
}

/// Cancel: a plain message and Try again, which prompts again and ends online. On a
/// network that cuts the page's long polls, so that it falls back to polling every second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_then_retry_then_online() {
    let Some(p) = portal("cancel", 360, |_| {}).await else { return };
    p.open(&DEVICE).await;
    p.browser.block_urls(&["*/next?*"]).await;
    p.choose_and_pay("30 minutes", "0722 000 111").await;
    let first = p.prompt("0722000111").await;
    p.pay.resolve(&first.provider_ref, Resolution::Cancel, Delivery::Normal).await.unwrap();
    p.until_reason("cancelled").await;
    assert_eq!(p.browser.text("#msg").await, "You cancelled the M-Pesa prompt. No money was taken.");
    assert_eq!(p.browser.eval("return document.activeElement.id;", json!([])).await, "retry", "Try again has the focus");
    // Try again says what it will do, beside the way to change plan or number.
    assert_eq!(p.browser.text("#retry").await, "Send a new KES 10 prompt to 0722 000 111");
    assert_eq!(p.browser.text("#back").await, "Change plan or number");
    assert_eq!(p.browser.eval("return document.body.getAttribute('data-updates');", json!([])).await, "poll", "fell back to polling");
    p.shot("cancelled").await;
    p.browser.click("#retry").await;
    let second = p.prompt("0722000111").await;
    assert_ne!(second.provider_ref, first.provider_ref);
    p.until_state("wait").await;
    p.pay.resolve(&second.provider_ref, Resolution::Approve, Delivery::Normal).await.unwrap();
    let posted = p.until_at_orig().await;
    let (username, password) = p.login_of(&p.newest_payment().await).await;
    assert_eq!(
        (posted.fields["username"].as_str(), posted.fields["password"].as_str()),
        (username.as_str(), password.as_str()),
        "PAP: the password as is"
    );
    assert_eq!(p.pay.prompts().len(), 2);
    p.stop().await;
}

/// A wrong PIN and too little money: each its own message, each with a retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_pin_and_low_balance_are_explained() {
    let Some(p) = portal("wrong-pin", 360, |_| {}).await else { return };
    p.open(&DEVICE).await;
    p.choose_and_pay("Daily", "0722000222").await;
    let prompt = p.prompt("0722000222").await;
    p.pay.resolve(&prompt.provider_ref, Resolution::WrongPin, Delivery::Normal).await.unwrap();
    p.until_reason("wrong_pin").await;
    assert!(p.browser.text("#msg").await.starts_with("The M-Pesa PIN was wrong. No money was taken."));
    p.shot("wrong-pin").await;
    p.browser.click("#retry").await;
    p.until_state("wait").await;
    let prompt = p.prompt("0722000222").await;
    p.pay.resolve(&prompt.provider_ref, Resolution::InsufficientFunds, Delivery::Normal).await.unwrap();
    p.until_reason("insufficient_funds").await;
    assert!(p.browser.text("#msg").await.contains("balance is too low"));
    p.shot("insufficient-funds").await;
    assert!(p.router.users().is_empty());
    p.stop().await;
}

/// The countdown (shortened to 4 s) runs out: timed out, no money taken; Try again while
/// the first prompt is still open resumes it instead of sending a second; once M-Pesa
/// times it out, Try again prompts anew.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn countdown_timeout_and_never_a_second_prompt() {
    let Some(p) = portal("timeout", 360, |c| c.portal_wait = Duration::from_secs(4)).await else { return };
    p.open(&DEVICE).await;
    p.choose_and_pay("1 hour", "0722000333").await;
    let first = p.prompt("0722000333").await;
    p.until(
        "!document.getElementById('countbox').hidden && /^0:0[0-4]$/.test(document.getElementById('count').textContent)",
        "a 4-second countdown",
    )
    .await;
    p.until_reason("timeout_late").await;
    let said = p.browser.text("#msg").await;
    assert!(said.contains("timed out") && said.contains("no money was taken"), "{said}");
    p.shot("timed-out").await;

    p.browser.click("#retry").await;
    p.until_reason("stillopen").await;
    assert_eq!(p.pay.prompts().len(), 1, "no second prompt while one is open");
    p.shot("prompt-still-open").await;

    p.pay.resolve(&first.provider_ref, Resolution::Timeout, Delivery::Normal).await.unwrap();
    p.until_reason("timeout").await;
    p.browser.click("#retry").await;
    let second = p.prompt("0722000333").await;
    assert_ne!(second.provider_ref, first.provider_ref);
    p.pay.resolve(&second.provider_ref, Resolution::Approve, Delivery::Normal).await.unwrap();
    p.until_at_orig().await;
    p.stop().await;
}

/// "Already paid?": a wrong code is refused plainly; the right one moves the plan from the
/// phone's old MAC to this one (old session ended) and logs this device in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn already_paid_moves_the_plan_to_this_device() {
    let Some(p) = portal("already-paid", 360, |_| {}).await else { return };
    // Paid earlier from the same phone under another (randomised) MAC.
    let old = ("02:11:22:33:44:01", "10.5.50.31");
    p.router.add_host(old.0, old.1);
    let body = json!({"plan_id": p.plans["1 hour"], "phone": "0733000444", "mac": old.0, "ip": old.1, "idempotency_key": "earlier"});
    let started: Value = p
        .http
        .post(format!("{}/api/portal/{}/payments", p.cloud.http_url(), p.creds.id))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let prompt = p.prompt("0733000444").await;
    p.pay.resolve(&prompt.provider_ref, Resolution::Approve, Delivery::Normal).await.unwrap();
    let payment_id = started["id"].as_str().unwrap().parse().unwrap();
    let old_username = {
        let store = p.cloud.store();
        p.cloud.until("the first payment online", async |s| s.entitlement_for_payment(payment_id).await.unwrap().is_some()).await;
        store.entitlement_for_payment(payment_id).await.unwrap().unwrap().username
    };
    p.router.wait_until(WAIT, |r| r.active().iter().any(|a| a.mac_address == old.0)).await;
    let receipt = p.cloud.store().payment(payment_id).await.unwrap().unwrap().receipt.unwrap();

    p.open(&DEVICE).await;
    p.browser.click("#paid").await;
    p.until_state("recover").await;
    p.browser.type_into("#receipt", "QWE1234567").await;
    p.browser.click("#recgo").await;
    p.until("document.body.getAttribute('data-reason') === 'phone_needed'", "the phone is asked for").await;
    assert!(p.browser.text("#recerr").await.contains("phone number that paid"));
    p.browser.type_into("#recphone", "0733 000 444").await;
    p.browser.click("#recgo").await;
    p.until("document.body.getAttribute('data-reason') === 'receipt_not_found'", "the unknown-code message").await;
    assert!(p.browser.text("#recerr").await.contains("found no payment with that M-Pesa code"));
    p.shot("already-paid-wrong-code").await;

    let typed = format!("{} {}", receipt[..5].to_lowercase(), &receipt[5..]);
    p.browser.type_into("#receipt", &typed).await;
    p.browser.click("#recgo").await;
    let posted = p.until_at_orig().await;
    assert_eq!(posted.fields["username"], old_username, "the same plan, on this device");
    let user = p.router.user(&old_username).unwrap();
    assert_eq!(user.mac_address.as_deref(), Some(MAC), "the user now belongs to this device");
    assert!(
        p.router
            .wait_until(WAIT, |r| r.active().iter().all(|a| a.mac_address != old.0) && r.active().iter().any(|a| a.mac_address == MAC))
            .await,
        "the old device's session ended, this one is logged in: {:?}",
        p.router.active()
    );
    p.stop().await;
}

/// The provider busy, then failing, then too many tries: each its own message, no prompt
/// reaches the phone, and no dead end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_trouble_and_rate_limits_are_explained() {
    let Some(p) = portal("provider", 360, |c| c.limits.per_phone = 2).await else { return };
    p.open(&DEVICE).await;
    p.pay.fail_next(InjectedFailure::DarajaLockSubscriber);
    p.choose_and_pay("1 hour", "0722000666").await;
    p.until_reason("provider_busy").await;
    assert_eq!(p.browser.text("#msg").await, "M-Pesa is busy right now. Please try again in a minute.");
    // Credentials refused (the push, then the fresh token Daraja's client asks for).
    p.pay.fail_next(InjectedFailure::Unauthorized);
    p.pay.fail_next(InjectedFailure::Unauthorized);
    p.browser.click("#retry").await;
    p.until_reason("provider_error").await;
    assert!(p.browser.text("#msg").await.contains("No money was taken"));
    p.shot("provider-error").await;
    p.browser.click("#retry").await;
    p.until_reason("rate_limited").await;
    assert!(p.browser.text("#msg").await.starts_with("Too many tries."));
    p.shot("rate-limited").await;
    assert!(p.pay.prompts().iter().all(|prompt| prompt.msisdn != "254722000666"), "no prompt reached the phone");
    p.browser.click("#back").await;
    p.until_state("choose").await;
    p.stop().await;
}

/// M-Pesa does not answer the push (its gateway timed out after passing it on): the page
/// does not say "failed" (a second push could charge twice) but "if your phone shows it,
/// approve it", and keeps following the payment; the customer approves and is online.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconfirmed_prompt_is_followed_to_online() {
    let Some(p) = portal("unconfirmed", 360, |c| c.http.timeout = Duration::from_millis(500)).await else { return };
    p.open(&DEVICE).await;
    p.pay.fail_next(InjectedFailure::AnswerLost);
    p.choose_and_pay("1 hour", "0722000667").await;
    let prompt = p.prompt("0722000667").await;
    p.until("document.getElementById('waittitle').textContent.indexOf('did not confirm') >= 0", "the unconfirmed notice").await;
    assert_eq!(
        p.browser.text("#waittitle").await,
        "M-Pesa did not confirm the prompt. If your phone shows it, enter your PIN; do not pay again."
    );
    assert_eq!(p.browser.eval("return document.body.getAttribute('data-state');", json!([])).await, "wait");
    p.shot("unconfirmed").await;
    p.pay.resolve(&prompt.provider_ref, Resolution::Approve, Delivery::Normal).await.unwrap();
    p.until_at_orig().await;
    assert_eq!(p.pay.prompts().len(), 1, "never a second prompt");
    p.stop().await;
}

/// A reload in the middle of waiting (and the captive browser reopening the page without
/// the URL's fragment) resumes the same payment: no second prompt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_while_waiting_resumes() {
    let Some(p) = portal("reload", 360, |_| {}).await else { return };
    p.open(&DEVICE).await;
    p.choose_and_pay("1 hour", "0722000555").await;
    let prompt = p.prompt("0722000555").await;
    p.until_state("wait").await;
    p.browser.refresh().await;
    p.until(
        "document.body.getAttribute('data-state') === 'wait' && /#p=/.test(location.hash) && !document.getElementById('countbox').hidden",
        "waiting after the reload",
    )
    .await;
    p.shot("resumed-after-reload").await;
    p.browser.goto(&p.url(&DEVICE)).await;
    p.until("document.body.getAttribute('data-state') === 'wait'", "waiting when reopened").await;
    assert_eq!(p.pay.prompts().len(), 1, "resumed, not prompted again");
    p.pay.resolve(&prompt.provider_ref, Resolution::Approve, Delivery::Normal).await.unwrap();
    p.until_at_orig().await;
    p.stop().await;
}

/// The benchmark: the first screen's compressed size, and from the provider's callback to
/// the page showing "online" (`JASIYO_BENCH_PORTAL_RUNS` runs; a couple by default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_callback_to_online() {
    let runs: usize = std::env::var("JASIYO_BENCH_PORTAL_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
    let Some(p) = portal("bench", 360, |_| {}).await else { return };
    let mut millis = Vec::with_capacity(runs);
    let mut sizes = Value::Null;
    for i in 0..runs {
        let (mac, ip, phone) = (
            format!("02:BE:00:00:{:02X}:{:02X}", i / 256, i % 256),
            format!("10.5.{}.{}", 60 + i / 200, 1 + i % 200),
            format!("0711{i:06}"),
        );
        p.router.add_host(&mac, &ip);
        p.open(&Open { mac: &mac, ip: &ip, chap: false, login: false }).await;
        if i == 0 {
            sizes = p.browser.eval("var n = performance.getEntriesByType('navigation')[0]; return {transfer: n.transferSize, body: n.encodedBodySize, decoded: n.decodedBodySize};", json!([])).await;
        }
        p.choose_and_pay("1 hour", &phone).await;
        let prompt = p.prompt(&phone).await;
        p.until_state("wait").await;
        let callback_at = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
        p.pay.resolve(&prompt.provider_ref, Resolution::Approve, Delivery::Normal).await.unwrap();
        p.until_state("online").await;
        let online_at = p.browser.eval("return window.jasiyoOnlineAt;", json!([])).await.as_i64().unwrap();
        millis.push(online_at - callback_at);
        if i == 0 {
            p.shot("online-without-login-url").await;
        }
    }
    millis.sort_unstable();
    let pick = |q: f64| millis[((millis.len() as f64 * q).ceil() as usize).clamp(1, millis.len()) - 1];
    let body = sizes["body"].as_i64().unwrap();
    assert!(body > 0 && body <= 30 * 1024, "first screen {sizes}");
    println!(
        "bench-portal: first screen {} bytes compressed ({} transferred with headers, {} uncompressed); \
         callback -> \"online\" on the page over {} runs: p50 {} ms, p99 {} ms, min {} ms, max {} ms",
        body,
        sizes["transfer"],
        sizes["decoded"],
        millis.len(),
        pick(0.50),
        pick(0.99),
        millis[0],
        millis[millis.len() - 1]
    );
    p.stop().await;
}
