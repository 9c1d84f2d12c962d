//! A new router owner's first day on the dashboard, in a real browser (headless Chromium
//! over WebDriver, as the portal's browser tests), at a phone's 360 px and a desktop's
//! 1280 px: sign up, add a router and watch its agent connect, create plans and order
//! them, enter the Daraja credentials and test them, see a customer's payment arrive live
//! on the overview and in Transactions with its whole timeline, and end the customer's
//! session on the router; then its agent stops and the owner is mailed an offline alert
//! (over a real SMTP conversation) that the overview counts. Against a real cloud, the
//! payment emulator and an agent on the RouterOS emulator. Every page's first response is
//! checked to be under 50 KB gzipped and, at 360 px, not to scroll sideways. Screenshots
//! land in `target/dashboard-screenshots/`.
//!
//! On SQLite and on PostgreSQL (with `TEST_POSTGRES_URL`; without it the PostgreSQL runs
//! print SKIPPED, unless `JASIYO_REQUIRE_POSTGRES=1`); the README's screenshots are the
//! SQLite run's. Without Chromium the tests print SKIPPED, unless `JASIYO_REQUIRE_BROWSER=1`.

mod owner;
mod voucher_sheet;

use jasiyo_cloud::model::PaymentId;
use jasiyo_cloud::notify::SmtpMailer;
use jasiyo_cloud::providers::{DarajaAccount, ProviderConfig, Secret};
use jasiyo_cloud::store::now_ms;
use jasiyo_cloud::store::testing::Backend;
use jasiyo_shared::RouterId;
use jasiyo_tests::harness::*;
use jasiyo_tests::payment_emulator::{Delivery, EmulatorAccounts, PaymentEmulator, Resolution};
use jasiyo_tests::routeros_emulator::{EmulatorConfig, RouterOsEmulator};
use jasiyo_tests::smtp_server::SmtpServer;
use owner::Owner;
use serde_json::{Value, json};

const BUSINESS: &str = "Mama Mboga WiFi";
/// The customer's device on the hotspot, and their phone.
const MAC: &str = "02:AA:BB:CC:DD:31";
const IP: &str = "10.5.50.31";
const PHONE: &str = "0722000888";

async fn a_new_owner_on_a_phone(world: World) {
    journey(world, 360).await;
}

async fn a_new_owner_on_a_desktop(world: World) {
    journey(world, 1280).await;
}

jasiyo_cloud::on_each_backend!(World::new; a_new_owner_on_a_phone, a_new_owner_on_a_desktop);

async fn journey(world: World, width: u32) {
    let began = std::time::Instant::now();
    let backend = world.backend;
    let mut smtp = SmtpServer::start().await;
    let mailer = SmtpMailer::new(&smtp.url(), "Jasiyo <noreply@jasiyo.test>").unwrap();
    let cloud = world.cloud_mailing(std::sync::Arc::new(mailer)).await;
    // The README's screenshots are the SQLite run's; the PostgreSQL run saves only those of
    // a failure, under its own name.
    let (name, readme_shots) = match backend {
        Backend::Sqlite => ("owner", true),
        Backend::Postgres => ("owner-postgres", false),
    };
    let Some(owner) = Owner::open(name, &cloud.http_url(), width, readme_shots).await else { return };
    let store = cloud.store().clone();

    // 1. Sign up through the form; the overview follows.
    owner.visit("/dashboard/signup", "Start selling WiFi").await;
    owner.shot("1-sign-up").await;
    let email = format!("owner{width}@example.com");
    let fields = [
        ("#business", BUSINESS),
        ("#name", "Amina Otieno"),
        ("#email", &email),
        ("#phone", "0712345678"),
        ("#password", "correct horse battery"),
    ];
    owner.submit("form[action='/dashboard/signup']", &fields).await;
    owner.until("location.pathname === '/dashboard' && document.querySelector('h1').textContent === 'Overview'", "the overview").await;
    owner.check_page("/dashboard").await;
    owner.shot("1-signed-up").await;
    let tenant = store.find_tenant(BUSINESS).await.unwrap().expect("the business exists");

    // 2. Add a router; its agent, started with the id and token read off the page,
    // connects and the page says so by itself.
    owner.visit("/dashboard/routers", "Routers").await;
    owner.submit("form[action='/dashboard/routers']", &[("#name", "Kibanda")]).await;
    owner.until("!!document.getElementById('token')", "the new router's token").await;
    owner.check_page("/dashboard/routers").await;
    let read = |css: &str| format!("return document.querySelector('{css}').textContent.trim();");
    let id: RouterId = owner.browser.eval(&read("#fresh p code"), json!([])).await.as_str().unwrap().parse().unwrap();
    let token = owner.browser.eval(&read("#token"), json!([])).await.as_str().unwrap().to_string();
    assert_eq!(owner.browser.text("#link").await, "waiting for its agent");
    owner.shot("2-router-added").await;
    let router = RouterOsEmulator::start(EmulatorConfig::default()).await;
    router.add_host(MAC, IP);
    let creds = RouterCreds { id, token };
    let agent = TestAgent::start_routeros(&cloud.ws_url(), &creds, &world.agent_dir("r"), router.addr(), fast_edge());
    owner.until("document.getElementById('link').className === 'st ok'", "the router online").await;
    assert_eq!(owner.browser.text("#link").await, "connected");
    owner.shot("2-router-online").await;
    owner.visit("/dashboard/routers", "Routers").await;
    owner.until_text("#routers .st.ok", "online since").await;

    // 3. A plan.
    owner.visit("/dashboard/plans", "Plans").await;
    owner
        .submit("form[action='/dashboard/plans']", &[("#name", "1 hour"), ("#price_kes", "20"), ("#duration", "1h"), ("#data_mb", "500")])
        .await;
    owner.until_text("#plans", "1 hour").await;
    // As the portal writes it: the name says "1 hour" already.
    owner.until_text("#preview label.plan .pdet", "500 MB").await;
    assert_eq!(owner.browser.text("#preview label.plan .pdet").await, "500 MB");
    let float = "return getComputedStyle(document.querySelector('#preview .plan .price')).cssFloat;";
    assert_eq!(owner.browser.eval(float, json!([])).await, json!("right"), "the preview is drawn with the portal's rules");
    owner.check_page("/dashboard/plans").await;
    owner.shot("3-plan-created").await;
    let plan = store.list_plans(tenant.id).await.unwrap().into_iter().find(|p| p.name == "1 hour").expect("the plan is stored");
    assert_eq!((plan.price_kes, plan.duration_secs), (20, 3600));
    // A longer plan comes after it, until the owner moves it up (a plain form: no script).
    owner.submit("form[action='/dashboard/plans']", &[("#name", "Daily"), ("#price_kes", "50"), ("#duration", "1day")]).await;
    owner.until("document.querySelectorAll('#preview .pname').length === 2", "two plans in the preview").await;
    let daily = store.list_plans(tenant.id).await.unwrap().into_iter().find(|p| p.name == "Daily").expect("the plan is stored");
    assert_eq!(daily.position, 2);
    owner.browser.click(&format!("form[action='/dashboard/plans/{}/move'] button", daily.id)).await;
    owner.until("document.querySelector('#preview .pname').textContent === 'Daily'", "Daily first in the preview").await;
    owner.browser.eval("document.getElementById('preview').scrollIntoView();", json!([])).await;
    owner.shot("3-plans-ordered").await;

    // 4. Daraja. The page has no base-URL field (owners always reach the real Daraja); the
    // platform's operator points this tenant at the emulator as at a sandbox, with the CLI's
    // `provider set daraja --base-url` operation and no real credentials, and the owner types
    // the credentials in, which keeps the operator's base URL.
    let pay = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let placeholder = ProviderConfig::Daraja {
        consumer_key: Secret("sandbox".into()),
        consumer_secret: Secret("sandbox".into()),
        short_code: "000000".into(),
        passkey: Secret("sandbox".into()),
        account: DarajaAccount::Paybill,
        base_url: Some(pay.base_url()),
    };
    cloud.payments.set_tenant_provider(tenant.id, &placeholder, false).await.unwrap();
    owner.visit("/dashboard/settings/provider", "Payment provider").await;
    let daraja = &pay.accounts().daraja;
    let fields = [
        ("#consumer_key", daraja.consumer_key.as_str()),
        ("#consumer_secret", &daraja.consumer_secret),
        ("#short_code", &daraja.short_code),
        ("#passkey", &daraja.passkey),
    ];
    owner.browser.eval("document.getElementById('kind').value = 'daraja_paybill';", json!([])).await;
    owner.submit("form[action='/dashboard/settings/provider']", &fields).await;
    owner.until_text(".ok-msg", "daraja is now your payment provider").await;
    owner.shot("4-provider-saved").await;
    owner.browser.click("form[action='/dashboard/settings/provider/check'] button").await;
    owner.until_text(".ok-msg", "daraja accepted the credentials").await;
    owner.check_page("/dashboard/settings/provider").await;
    owner.shot("4-connection-tested").await;

    // 5 and 6. On the overview, untouched by the test from here: a customer pays through the
    // portal, and the page's own long poll brings the payment in.
    owner.visit("/dashboard", "Overview").await;
    owner.until_text("#recent", "No payments yet.").await;
    owner.browser.eval("window.jasiyoUntouched = true;", json!([])).await;
    let body = json!({"plan_id": plan.id.to_string(), "phone": PHONE, "mac": MAC, "ip": IP, "idempotency_key": format!("k{width}")});
    let started: Value = reqwest::Client::new()
        .post(owner.url(&format!("/api/portal/{id}/payments")))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let payment: PaymentId = started["id"].as_str().unwrap_or_else(|| panic!("payment not started: {started}")).parse().unwrap();
    let prompt = pay.wait_for_prompt(PHONE, WAIT).await.expect("the prompt reached the phone");
    pay.resolve(&prompt.provider_ref, Resolution::Approve, Delivery::Normal).await.unwrap();
    owner.until_text("#recent .st.ok", "paid").await;
    owner.until_text("#today .n", "20").await;
    let reloaded = owner.browser.eval("return window.jasiyoUntouched === undefined;", json!([])).await;
    assert_eq!(reloaded, json!(true), "the page reloaded itself");
    owner.shot("6-overview-live").await;
    let labels = "return Array.prototype.map.call(document.querySelectorAll('svg text'), function (t) { return t.getBBox().width > 0; });";
    assert_eq!(owner.browser.eval(labels, json!([])).await, json!([true, true]), "the chart's first and last days are drawn");
    let polls = owner.browser.eval("return performance.getEntriesByType('resource').filter(function (e) { return e.name.indexOf('/dashboard/live') >= 0; }).length;", json!([])).await;
    assert!(polls.as_u64().unwrap() <= 2, "the live poll is held, not repeated at once: {polls} polls");

    let username = store.entitlement_for_payment(payment).await.unwrap().expect("the payment has its hotspot user").username;
    assert!(router.wait_until(WAIT, |r| r.user(&username).is_some()).await, "the user is on the router");
    cloud.until("the router's results", async |s| s.list_commands(id, 100).await.unwrap().iter().all(|c| c.outcome.is_some())).await;
    owner.visit("/dashboard/transactions", "Transactions").await;
    owner.until_text("#payments", "paid").await;
    owner.shot("6-transactions").await;
    owner.browser.click(&format!("#payments a[href='/dashboard/transactions/{payment}']")).await;
    owner.until_text("#timeline", "applied on the router").await;
    owner.check_page(&format!("/dashboard/transactions/{payment}")).await;
    owner.shot("6-transaction-timeline").await;

    // 7. The customer under Hotspot users; End now takes them off the router.
    owner.visit("/dashboard/users", "Hotspot users").await;
    owner.until_text("#users", &username).await;
    owner.shot("7-hotspot-users").await;
    owner.browser.click("#users form[action$='/end'] button").await;
    owner.until_text(".ok-msg", &format!("{username} is being removed from the router")).await;
    owner.check_page("/dashboard/users").await;
    assert!(router.wait_until(WAIT, |r| r.user(&username).is_none()).await, "the user is gone from the router: {:?}", router.users());
    owner.shot("7-ended").await;

    // 8. The router's agent stops: once the router has been offline past the owner's
    // threshold (an alert pass run as if 11 minutes later), the owner is mailed and the
    // overview counts the open alert.
    agent.stop().await;
    cloud.until("the router offline", async |s| s.router(id).await.unwrap().is_some_and(|r| r.online_session.is_none())).await;
    let changes = cloud.alerts.evaluate_once(now_ms() + 11 * 60_000).await.unwrap();
    assert_eq!(changes.len(), 1, "one alert opens: {changes:?}");
    assert_eq!(cloud.alerts.deliver_pending(now_ms() + 11 * 60_000).await.unwrap(), 2, "the mail and the (unset) webhook");
    let mail = smtp.next_mail(WAIT).await.expect("the owner is mailed");
    assert_eq!(mail.to, vec![email.clone()]);
    assert!(mail.text().contains("Router Kibanda is offline"), "{}", mail.text());
    owner.visit("/dashboard", "Overview").await;
    owner.until_text("#alerts .n", "1").await;
    owner.visit("/dashboard/routers", "Routers").await;
    owner.until_text("#routers .st.bad", "offline since").await;
    owner.visit("/dashboard/alerts", "Alerts").await;
    owner.until_text("#open-alerts", "Router offline").await;
    owner.check_page("/dashboard/alerts").await;
    owner.shot("8-offline-alert").await;

    owner.close().await;
    cloud.stop().await;
    eprintln!("dashboard journey at {width} px on {backend:?}: {:.1} s", began.elapsed().as_secs_f64());
}
