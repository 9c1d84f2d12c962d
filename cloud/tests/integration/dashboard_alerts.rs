//! Alerts on both databases: an offline router opens exactly one alert across repeated and
//! concurrent passes and closes when it is back; failing payments name their reason; the
//! owner is mailed and the webhook gets a body whose HMAC signature the test checks;
//! tenants see only their alerts and staff cannot change where alerts go. Each pass is
//! driven directly (`evaluate_once`, `deliver`); nothing waits on a fixed delay.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use jasiyo_cloud::alerts::{AlertKind, Alerts, AlertsConfig, Change};
use jasiyo_cloud::hub::HubConfig;
use jasiyo_cloud::model::PaymentState;
use jasiyo_cloud::notify::{Mail, Mailer, NotifyError};
use jasiyo_cloud::payments::sealer::Sealer;
use jasiyo_cloud::store::payments::Provision;
use jasiyo_cloud::store::testing::open_payment;
use jasiyo_cloud::store::{Store, now_ms};
use jasiyo_shared::RouterId;
use sha2::Sha256;
use tokio::sync::mpsc;

use super::dashboard_auth::{Browser, Site, site};

pub const MINUTE: i64 = 60_000;

/// A mailer keeping what it was given.
#[derive(Default)]
pub struct Outbox(pub Mutex<Vec<Mail>>);

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, mail: Mail) -> Result<(), NotifyError> {
        self.0.lock().unwrap().push(mail);
        Ok(())
    }
}

fn alerts(site: &Site, mailer: Arc<dyn Mailer>) -> Arc<Alerts> {
    let config = AlertsConfig { backoff: Duration::from_millis(20), allow_private_webhooks: true, ..AlertsConfig::default() };
    Alerts::new(site.store.clone(), mailer, Sealer::new([7; 32]), config, HubConfig::default().stale_after(), "http://127.0.0.1".into())
}

/// An owner signed up with `business`, and their tenant.
pub async fn owner(site: &Site, business: &str) -> (Browser, jasiyo_cloud::model::Tenant) {
    let mut browser = Browser::new(site);
    browser.sign_up(business, &format!("owner@{}.example", business.to_lowercase())).await;
    (browser, site.store.find_tenant(business).await.unwrap().unwrap())
}

/// A router last heard from `minutes_ago` minutes ago (its session still registered).
pub async fn router_seen(store: &dyn Store, tenant: jasiyo_cloud::model::TenantId, name: &str, minutes_ago: i64) -> RouterId {
    let router = store.create_router(tenant, name, &format!("hash-{name}"), now_ms()).await.unwrap();
    store.router_connected(router.id, uuid::Uuid::new_v4(), "1.0", now_ms() - minutes_ago * MINUTE).await.unwrap();
    router.id
}

/// Runs the delivery step until nothing is due, an hour later each time (so every retry
/// falls due); how many tries were made.
pub async fn deliver_all(evaluator: &Alerts) -> usize {
    let (mut at, mut tried) = (now_ms(), 0);
    loop {
        match evaluator.deliver_pending(at).await.unwrap() {
            0 => return tried,
            n => tried += n,
        }
        at += 60 * MINUTE;
    }
}

fn opened(changes: &[Change]) -> usize {
    changes.iter().filter(|c| matches!(c, Change::Opened(_))).count()
}

async fn offline_router_opens_one_alert_and_closes(site: Site) {
    let (mut browser, tenant) = owner(&site, "Offline").await;
    let evaluator = alerts(&site, Arc::new(Outbox::default()));
    let other = alerts(&site, Arc::new(Outbox::default()));
    let shop = router_seen(site.store.as_ref(), tenant.id, "shop", 20).await;
    router_seen(site.store.as_ref(), tenant.id, "kiosk", 0).await;

    // The overview's live poll, before: its version (answered at once for another).
    let before = browser.get("/dashboard/live?since=0").await.body;
    let version = serde_json::from_str::<serde_json::Value>(&before).unwrap()["version"].as_str().unwrap().to_string();
    let first = evaluator.evaluate_once(now_ms()).await.unwrap();
    assert_eq!(opened(&first), 1, "{first:?}");
    // A poll held on that version answers at once: an alert opened (it would otherwise hold).
    let after = browser.get(&format!("/dashboard/live?since={version}")).await.body;
    assert_ne!(serde_json::from_str::<serde_json::Value>(&after).unwrap()["version"].as_str().unwrap(), version, "{after}");
    let Change::Opened(alert) = &first[0] else { unreachable!() };
    assert_eq!((alert.kind.as_str(), alert.subject.clone()), (AlertKind::RouterOffline.as_str(), shop.to_string()));
    assert!(alert.detail.contains("shop"), "{}", alert.detail);
    for _ in 0..3 {
        assert!(evaluator.evaluate_once(now_ms()).await.unwrap().is_empty(), "already open: nothing new");
    }
    // A second router goes offline; two instances evaluate at once: one opens it.
    let back = router_seen(site.store.as_ref(), tenant.id, "back", 30).await;
    let (a, b) = tokio::join!(evaluator.evaluate_once(now_ms()), other.evaluate_once(now_ms()));
    assert_eq!(opened(&a.unwrap()) + opened(&b.unwrap()), 1);
    assert_eq!(site.store.open_alerts(Some(tenant.id)).await.unwrap().len(), 2);

    let overview = browser.get("/dashboard").await;
    let card = &overview.body[overview.body.find("id=\"alerts\"").unwrap()..];
    assert!(card.contains("<div class=\"n\">2</div>"), "{card}");
    let page = browser.get("/dashboard/alerts").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Router shop is offline") && page.body.contains("Open (2)"), "{}", page.body);

    // The router is heard from again: its alert closes, once.
    site.store.routers_seen(&[back], now_ms()).await.unwrap();
    let (a, b) = tokio::join!(evaluator.evaluate_once(now_ms()), other.evaluate_once(now_ms()));
    let closed: Vec<Change> = a.unwrap().into_iter().chain(b.unwrap()).collect();
    assert!(matches!(closed.as_slice(), [Change::Closed(alert)] if alert.subject == back.to_string()), "{closed:?}");
    let page = browser.get("/dashboard/alerts").await;
    assert!(page.body.contains("Open (1)") && page.body.contains("id=\"closed-alerts\""), "{}", page.body);
}

async fn failing_payments_name_their_reason(site: Site) {
    let (_browser, tenant) = owner(&site, "Failing").await;
    let evaluator = alerts(&site, Arc::new(Outbox::default()));
    let router = site.store.create_router(tenant.id, "shop", "hash", now_ms()).await.unwrap().id;
    let fail = |name: String, reason: &'static str| {
        let store = site.store.clone();
        async move {
            let id = open_payment(store.as_ref(), router, now_ms() - MINUTE, &name).await;
            store.mark_failed(id, PaymentState::Failed, reason, None, now_ms()).await.unwrap();
        }
    };
    // The customers' own doing is not an alert, however often.
    for i in 0..6 {
        fail(format!("pin{i}"), "wrong_pin").await;
    }
    assert!(evaluator.evaluate_once(now_ms()).await.unwrap().is_empty());
    for i in 0..4 {
        fail(format!("down{i}"), "provider: the system is down").await;
    }
    fail("auth".into(), "provider: provider credentials refused: invalid consumer key").await;
    let changes = evaluator.evaluate_once(now_ms()).await.unwrap();
    let kinds: Vec<(&str, &str)> = changes.iter().map(|c| (c.alert().kind.as_str(), c.alert().detail.as_str())).collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    let failing = kinds.iter().find(|(k, _)| *k == "payments_failing").expect("payments failing");
    assert!(failing.1.contains("5 payments failed") && failing.1.contains("provider: the system is down (4)"), "{}", failing.1);
    let auth = kinds.iter().find(|(k, _)| *k == "provider_auth").expect("credentials refused");
    assert!(auth.1.contains("invalid consumer key"), "{}", auth.1);
}

/// A webhook receiver on 127.0.0.1:0 handing each request's headers and body to a channel.
pub async fn receiver() -> (String, mpsc::Receiver<(HeaderMap, Vec<u8>)>) {
    let (tx, rx) = mpsc::channel(8);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                tx.send((headers, body.to_vec())).await.unwrap();
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

async fn owners_are_mailed_and_the_webhook_is_signed(site: Site) {
    let (mut browser, tenant) = owner(&site, "Hooked").await;
    let (url, mut posts) = receiver().await;
    let page = browser.get("/dashboard/alerts").await;
    let refused = browser.post("/dashboard/alerts/webhook", &[("csrf", &page.csrf()), ("url", "http://example.com/hook")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "https needed off loopback");
    let set = browser.post("/dashboard/alerts/webhook", &[("csrf", &page.csrf()), ("url", &url)]).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    let at = set.body.find("id=\"webhook-secret\"").expect("the secret, shown once");
    let pre = &set.body[at..];
    let start = pre.find("<pre>").unwrap() + 5;
    let secret = pre[start..start + pre[start..].find('<').unwrap()].to_string();
    assert_eq!(secret.len(), 64);
    assert!(!browser.get("/dashboard/alerts").await.body.contains(&secret), "shown only once");
    let stored = site.store.alert_settings(tenant.id).await.unwrap().webhook.unwrap().sealed_secret;
    assert!(stored.starts_with("v2.") && !stored.contains(&secret), "sealed at rest: {stored}");

    let outbox = Arc::new(Outbox::default());
    let evaluator = alerts(&site, outbox.clone());
    router_seen(site.store.as_ref(), tenant.id, "shop", 15).await;
    let changes = evaluator.evaluate_once(now_ms()).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(deliver_all(&evaluator).await, 2, "one mail, one webhook");

    let (headers, body) = tokio::time::timeout(Duration::from_secs(10), posts.recv()).await.expect("the webhook is posted").unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(headers.get("x-jasiyo-signature").unwrap().to_str().unwrap(), expected);
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["event"], "alert.opened");
    assert_eq!(json["alert"]["kind"], "router_offline");
    assert!(json["alert"]["detail"].as_str().unwrap().contains("shop"));

    let mail = outbox.0.lock().unwrap().clone();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to.as_str(), "owner@hooked.example");
    assert!(mail[0].subject.contains("Router offline") && mail[0].body.contains("Router shop is offline"), "{mail:?}");
    let alert = site.store.open_alerts(Some(tenant.id)).await.unwrap().remove(0);
    assert_eq!(alert.open_delivery, "mail: sent to 1 owner(s); webhook: sent");
}

async fn tenants_and_staff_cannot_reach_others_alerts(site: Site) {
    let (mut a, tenant_a) = owner(&site, "Alpha").await;
    let (mut b, _) = owner(&site, "Bravo").await;
    router_seen(site.store.as_ref(), tenant_a.id, "alpha-shop", 30).await;
    alerts(&site, Arc::new(Outbox::default())).evaluate_once(now_ms()).await.unwrap();
    let page = a.get("/dashboard/alerts").await;
    a.post("/dashboard/alerts/webhook", &[("csrf", &page.csrf()), ("url", "https://alpha.example/hook")]).await;
    assert!(a.get("/dashboard/alerts").await.body.contains("alpha-shop"));

    let page = b.get("/dashboard/alerts").await;
    assert!(!page.body.contains("alpha-shop") && !page.body.contains("alpha.example"), "{}", page.body);
    b.post("/dashboard/alerts/webhook", &[("csrf", &page.csrf()), ("url", "https://bravo.example/hook")]).await;
    let kept = site.store.alert_settings(tenant_a.id).await.unwrap().webhook.unwrap();
    assert_eq!(kept.url, "https://alpha.example/hook", "B's change is B's own");

    // Staff see the alerts but cannot change where they go or when they open.
    let settings = a.get("/dashboard/settings").await;
    let invited =
        a.post("/dashboard/settings/staff", &[("csrf", &settings.csrf()), ("name", "Otieno"), ("email", "otieno@alpha.example")]).await;
    let at = invited.body.find("/dashboard/invite/").expect("the link");
    let path = &invited.body[at..at + invited.body[at..].find('<').unwrap()];
    let mut staff = Browser::new(&site);
    assert_eq!(staff.post(path, &[("password", "helper-pass")]).await.location(), "/dashboard");
    let page = staff.get("/dashboard/alerts").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("alpha-shop") && !page.body.contains("alpha.example/hook"), "{}", page.body);
    let csrf = page.csrf();
    let hook = staff.post("/dashboard/alerts/webhook", &[("csrf", &csrf), ("url", "https://evil.example/hook")]).await;
    assert_eq!(hook.status, StatusCode::FORBIDDEN);
    let limits = [("csrf", csrf.as_str()), ("offline_minutes", "999"), ("quiet_hours", "9"), ("failures", "9")];
    assert_eq!(staff.post("/dashboard/alerts/thresholds", &limits).await.status, StatusCode::FORBIDDEN);
    assert_eq!(site.store.alert_settings(tenant_a.id).await.unwrap().webhook.unwrap().url, "https://alpha.example/hook");
}

async fn thresholds_are_the_owners(site: Site) {
    let (mut browser, tenant) = owner(&site, "Patient").await;
    let page = browser.get("/dashboard/alerts").await;
    let bad = [("csrf", page.csrf()), ("offline_minutes", "0".into()), ("quiet_hours", "6".into()), ("failures", "5".into())];
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(browser.post("/dashboard/alerts/thresholds", &bad).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let csrf = page.csrf();
    let good = [("csrf", csrf.as_str()), ("offline_minutes", "60"), ("quiet_hours", "6"), ("failures", "5")];
    assert_eq!(browser.post("/dashboard/alerts/thresholds", &good).await.status, StatusCode::OK);
    router_seen(site.store.as_ref(), tenant.id, "shop", 30).await;
    let evaluator = alerts(&site, Arc::new(Outbox::default()));
    assert!(evaluator.evaluate_once(now_ms()).await.unwrap().is_empty(), "30 minutes is under the owner's 60");
}

async fn stuck_commands_alert_only_while_online(site: Site) {
    let (_browser, tenant) = owner(&site, "Stuck").await;
    let evaluator = alerts(&site, Arc::new(Outbox::default()));
    let online = router_seen(site.store.as_ref(), tenant.id, "online", 0).await;
    let offline = router_seen(site.store.as_ref(), tenant.id, "gone", 5).await;
    let command = jasiyo_shared::Command::RemoveHotspotUser { name: "KX7Q2M".into() };
    for router in [online, offline] {
        site.store.enqueue_command(router, &command, now_ms() - 20 * MINUTE).await.unwrap();
    }
    let changes = evaluator.evaluate_once(now_ms()).await.unwrap();
    assert!(
        matches!(changes.as_slice(), [Change::Opened(a)] if a.kind == "commands_stuck" && a.subject == online.to_string()),
        "{changes:?}"
    );
}

/// A payment on `router` paid at `paid_ms`.
async fn paid_at(store: &dyn Store, router: RouterId, name: &str, paid_ms: i64) {
    let id = open_payment(store, router, paid_ms - 10_000, name).await;
    let user = jasiyo_shared::HotspotUser {
        name: name.to_uppercase(),
        password: jasiyo_shared::command::Password("482913".into()),
        profile: None,
        mac: None,
        expires_at: None,
        limit_uptime_secs: None,
        limit_bytes_total: None,
        comment: None,
    };
    let provision = Provision {
        username: name.to_uppercase(),
        password: "482913".into(),
        expires_at: paid_ms / 1000 + 3600,
        upsert: jasiyo_shared::Command::UpsertHotspotUser(user),
        login: None,
    };
    store.mark_paid(id, Some(&format!("R{}", name.to_uppercase())), &provision, None, paid_ms).await.unwrap();
}

async fn a_router_that_usually_sells_alerts_when_quiet(site: Site) {
    let (_browser, tenant) = owner(&site, "Quiet").await;
    let evaluator = alerts(&site, Arc::new(Outbox::default()));
    let busy = site.store.create_router(tenant.id, "busy", "hash-busy", now_ms()).await.unwrap().id;
    let rare = site.store.create_router(tenant.id, "rare", "hash-rare", now_ms()).await.unwrap().id;
    const DAY: i64 = 24 * 60 * MINUTE;
    for (i, days) in [1, 2, 3].into_iter().enumerate() {
        paid_at(site.store.as_ref(), busy, &format!("busy{i}"), now_ms() - days * DAY - 8 * 60 * MINUTE).await;
    }
    // Two days of sales is not "usually".
    for (i, days) in [1, 2].into_iter().enumerate() {
        paid_at(site.store.as_ref(), rare, &format!("rare{i}"), now_ms() - days * DAY - 8 * 60 * MINUTE).await;
    }
    let changes = evaluator.evaluate_once(now_ms()).await.unwrap();
    assert!(
        matches!(changes.as_slice(), [Change::Opened(a)] if a.kind == "no_sales" && a.subject == busy.to_string() && a.detail.contains("on 3 of the last 7 days")),
        "{changes:?}"
    );
    paid_at(site.store.as_ref(), busy, "busy-now", now_ms() - MINUTE).await;
    let changes = evaluator.evaluate_once(now_ms()).await.unwrap();
    assert!(matches!(changes.as_slice(), [Change::Closed(a)] if a.kind == "no_sales"), "{changes:?}");
}

async fn a_failing_webhook_is_retried_then_recorded(site: Site) {
    let (_browser, tenant) = owner(&site, "Refused").await;
    let attempts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = attempts.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { StatusCode::INTERNAL_SERVER_ERROR }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let webhook = jasiyo_cloud::store::alerts::Webhook { url, sealed_secret: "s".into() };
    site.store.set_webhook(tenant.id, Some(&webhook)).await.unwrap();

    let outbox = Arc::new(Outbox::default());
    let config = AlertsConfig { attempts: 3, backoff: Duration::from_millis(10), allow_private_webhooks: true, ..AlertsConfig::default() };
    let evaluator = Alerts::new(
        site.store.clone(),
        outbox.clone(),
        Sealer::new([7; 32]),
        config,
        HubConfig::default().stale_after(),
        "http://127.0.0.1".into(),
    );
    router_seen(site.store.as_ref(), tenant.id, "shop", 15).await;
    evaluator.evaluate_once(now_ms()).await.unwrap();
    deliver_all(&evaluator).await;
    assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 3);
    let alert = site.store.open_alerts(Some(tenant.id)).await.unwrap().remove(0);
    assert!(alert.open_delivery.starts_with("mail: sent to 1 owner(s); webhook: failed (answered 500"), "{}", alert.open_delivery);
    assert!(alert.open_delivery.contains("after 3 attempts"), "{}", alert.open_delivery);
    assert_eq!(outbox.0.lock().unwrap().len(), 1, "the mail went all the same");
}

async fn a_secret_stored_in_clear_signs_and_is_sealed_at_start(site: Site) {
    let (_browser, tenant) = owner(&site, "Legacy").await;
    let (url, mut posts) = receiver().await;
    let clear = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let webhook = jasiyo_cloud::store::alerts::Webhook { url, sealed_secret: clear.into() };
    site.store.set_webhook(tenant.id, Some(&webhook)).await.unwrap();
    let sealer = Sealer::new([7; 32]);
    assert_eq!(jasiyo_cloud::alerts::secret::seal_clear_secrets(site.store.as_ref(), &sealer).await.unwrap(), 1);
    let stored = site.store.alert_settings(tenant.id).await.unwrap().webhook.unwrap().sealed_secret;
    assert!(stored.starts_with("v2.") && !stored.contains(clear), "sealed: {stored}");
    assert_eq!(jasiyo_cloud::alerts::secret::seal_clear_secrets(site.store.as_ref(), &sealer).await.unwrap(), 0, "once");

    let evaluator = alerts(&site, Arc::new(Outbox::default()));
    router_seen(site.store.as_ref(), tenant.id, "shop", 15).await;
    evaluator.evaluate_once(now_ms()).await.unwrap();
    deliver_all(&evaluator).await;
    let (headers, body) = tokio::time::timeout(Duration::from_secs(10), posts.recv()).await.expect("the webhook is posted").unwrap();
    assert_eq!(headers.get("x-jasiyo-signature").unwrap().to_str().unwrap(), jasiyo_cloud::alerts::sign(clear, &body));

    // Under another sealing key the secret does not open: nothing is posted unsigned.
    let kiosk = router_seen(site.store.as_ref(), tenant.id, "kiosk", 15).await;
    let stranger = Alerts::new(
        site.store.clone(),
        Arc::new(Outbox::default()),
        Sealer::new([8; 32]),
        AlertsConfig { allow_private_webhooks: true, ..AlertsConfig::default() },
        HubConfig::default().stale_after(),
        "http://127.0.0.1".into(),
    );
    stranger.evaluate_once(now_ms()).await.unwrap();
    deliver_all(&stranger).await;
    let alerts = site.store.open_alerts(Some(tenant.id)).await.unwrap();
    let alert = alerts.into_iter().find(|a| a.subject == kiosk.to_string()).unwrap();
    assert!(alert.open_delivery.contains("webhook: failed (its secret does not open"), "{}", alert.open_delivery);
    assert!(posts.try_recv().is_err(), "not posted");
}

jasiyo_cloud::on_each_backend!(site;
    a_secret_stored_in_clear_signs_and_is_sealed_at_start,
    a_failing_webhook_is_retried_then_recorded,
    a_router_that_usually_sells_alerts_when_quiet,
    stuck_commands_alert_only_while_online,
    offline_router_opens_one_alert_and_closes,
    failing_payments_name_their_reason,
    owners_are_mailed_and_the_webhook_is_signed,
    tenants_and_staff_cannot_reach_others_alerts,
    thresholds_are_the_owners,
);
