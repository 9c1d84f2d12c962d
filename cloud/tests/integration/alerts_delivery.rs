//! Alert deliveries are durable, on both databases: an alert opened while the mail server
//! and the webhook are down is told after a "restart" (a new `Alerts` on the same
//! database) and not twice; a delivery claimed by an instance that died is made once its
//! lease runs out; instances delivering at once tell each change once. Time is passed to
//! the delivery step, never waited for.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::http::{HeaderMap, StatusCode};
use jasiyo_cloud::alerts::{Alerts, AlertsConfig, sign};
use jasiyo_cloud::hub::HubConfig;
use jasiyo_cloud::notify::{Mail, Mailer, NotifyError};
use jasiyo_cloud::payments::sealer::Sealer;
use jasiyo_cloud::store::now_ms;
use tokio::sync::mpsc;

use super::dashboard_alerts::{MINUTE, Outbox, owner, router_seen};
use super::dashboard_auth::{Browser, Site, site};

/// A mail server that is down.
struct Down;

#[async_trait]
impl Mailer for Down {
    async fn send(&self, _mail: Mail) -> Result<(), NotifyError> {
        Err(NotifyError::Failed("connection refused".into()))
    }
}

fn config() -> AlertsConfig {
    AlertsConfig { attempts: 5, backoff: Duration::from_secs(30), allow_private_webhooks: true, ..AlertsConfig::default() }
}

fn instance(site: &Site, mailer: Arc<dyn Mailer>) -> Arc<Alerts> {
    Alerts::new(site.store.clone(), mailer, Sealer::new([7; 32]), config(), HubConfig::default().stale_after(), "http://127.0.0.1".into())
}

/// A webhook receiver answering 503 while `down`, else 204 and the post on the channel.
async fn switchable_receiver(down: Arc<AtomicBool>) -> (String, mpsc::UnboundedReceiver<(HeaderMap, Vec<u8>)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let (tx, down) = (tx.clone(), down.clone());
            async move {
                if down.load(Ordering::SeqCst) {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                tx.send((headers, body.to_vec())).unwrap();
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

/// The webhook secret the owner is shown when setting `url`.
async fn set_webhook(browser: &mut Browser, url: &str) -> String {
    let page = browser.get("/dashboard/alerts").await;
    let set = browser.post("/dashboard/alerts/webhook", &[("csrf", &page.csrf()), ("url", url)]).await;
    let at = set.body.find("id=\"webhook-secret\"").expect("the secret, shown once");
    let start = at + set.body[at..].find("<pre>").unwrap() + 5;
    set.body[start..start + set.body[start..].find('<').unwrap()].to_string()
}

async fn a_delivery_pending_at_a_stop_is_made_after_a_restart(site: Site) {
    let (mut browser, tenant) = owner(&site, "Restarted").await;
    let down = Arc::new(AtomicBool::new(true));
    let (url, mut posts) = switchable_receiver(down.clone()).await;
    let secret = set_webhook(&mut browser, &url).await;
    let shop = router_seen(site.store.as_ref(), tenant.id, "shop", 15).await;

    let before = instance(&site, Arc::new(Down));
    let now = now_ms();
    assert_eq!(before.evaluate_once(now).await.unwrap().len(), 1);
    assert_eq!(before.deliver_pending(now).await.unwrap(), 2, "the mail and the webhook, tried once");
    let alert = site.store.open_alerts(Some(tenant.id)).await.unwrap().remove(0);
    assert!(
        alert.open_delivery.starts_with("mail: failed (") && alert.open_delivery.contains("webhook: failed (answered 503"),
        "{}",
        alert.open_delivery
    );
    assert!(alert.open_delivery.contains("attempt 1 of 5; trying again"), "{}", alert.open_delivery);
    assert_eq!(before.deliver_pending(now + 1000).await.unwrap(), 0, "not due before its backoff");
    drop(before); // The cloud stops.

    down.store(false, Ordering::SeqCst);
    let outbox = Arc::new(Outbox::default());
    let after = instance(&site, outbox.clone());
    assert_eq!(after.deliver_pending(now + MINUTE).await.unwrap(), 2, "what was pending is picked up");
    let (headers, body) = posts.try_recv().expect("the webhook is posted");
    assert_eq!(headers.get("x-jasiyo-signature").unwrap().to_str().unwrap(), sign(&secret, &body));
    assert_eq!(outbox.0.lock().unwrap().len(), 1);
    let alert = site.store.open_alerts(Some(tenant.id)).await.unwrap().remove(0);
    assert_eq!(alert.open_delivery, "mail: sent to 1 owner(s); webhook: sent");

    assert_eq!(after.deliver_pending(now + 600 * MINUTE).await.unwrap(), 0, "nothing is told twice");
    assert!(instance(&site, outbox.clone()).evaluate_once(now + MINUTE).await.unwrap().is_empty());
    assert_eq!(instance(&site, outbox.clone()).deliver_pending(now + 600 * MINUTE).await.unwrap(), 0);
    assert!(posts.try_recv().is_err());
    assert_eq!(outbox.0.lock().unwrap().len(), 1);

    // Closing is told the same way.
    site.store.routers_seen(&[shop], now + 2 * MINUTE).await.unwrap();
    assert_eq!(after.evaluate_once(now + 2 * MINUTE).await.unwrap().len(), 1);
    assert_eq!(after.deliver_pending(now + 2 * MINUTE).await.unwrap(), 2);
    let closed = site.store.closed_alerts(tenant.id, 1).await.unwrap().remove(0);
    assert_eq!(closed.close_delivery.as_deref(), Some("mail: sent to 1 owner(s); webhook: sent"));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&posts.try_recv().unwrap().1).unwrap()["event"], "alert.closed");
}

async fn a_claim_left_by_a_dead_instance_is_made_after_its_lease(site: Site) {
    let (_browser, tenant) = owner(&site, "Leased").await;
    router_seen(site.store.as_ref(), tenant.id, "shop", 15).await;
    let outbox = Arc::new(Outbox::default());
    let alerts = instance(&site, outbox.clone());
    let now = now_ms();
    alerts.evaluate_once(now).await.unwrap();
    let lease = config().lease.as_millis() as i64;
    // An instance claims both deliveries, then dies before trying them.
    assert_eq!(site.store.claim_deliveries(now, now + lease, 50).await.unwrap().len(), 2);
    assert_eq!(alerts.deliver_pending(now + lease - 1).await.unwrap(), 0, "leased to the dead instance");
    assert_eq!(alerts.deliver_pending(now + lease).await.unwrap(), 2);
    assert_eq!(outbox.0.lock().unwrap().len(), 1);
    assert_eq!(alerts.deliver_pending(now + 10 * lease).await.unwrap(), 0);
}

async fn instances_delivering_at_once_tell_each_change_once(site: Site) {
    let (mut browser, tenant) = owner(&site, "Crowded").await;
    let posted = Arc::new(AtomicUsize::new(0));
    let (url, mut posts) = switchable_receiver(Arc::new(AtomicBool::new(false))).await;
    set_webhook(&mut browser, &url).await;
    for i in 0..6 {
        router_seen(site.store.as_ref(), tenant.id, &format!("shop{i}"), 15).await;
    }
    let outbox = Arc::new(Outbox::default());
    let (a, b) = (instance(&site, outbox.clone()), instance(&site, outbox.clone()));
    let now = now_ms();
    assert_eq!(a.evaluate_once(now).await.unwrap().len(), 6);
    let (x, y) = tokio::join!(a.deliver_pending(now), b.deliver_pending(now));
    assert_eq!(x.unwrap() + y.unwrap(), 12, "each of the 12 deliveries tried by one instance");
    while posts.try_recv().is_ok() {
        posted.fetch_add(1, Ordering::SeqCst);
    }
    assert_eq!(posted.load(Ordering::SeqCst), 6);
    assert_eq!(outbox.0.lock().unwrap().len(), 6);
    assert_eq!(a.deliver_pending(now + 600 * MINUTE).await.unwrap() + b.deliver_pending(now + 600 * MINUTE).await.unwrap(), 0);
}

jasiyo_cloud::on_each_backend!(site;
    a_delivery_pending_at_a_stop_is_made_after_a_restart,
    a_claim_left_by_a_dead_instance_is_made_after_its_lease,
    instances_delivering_at_once_tell_each_change_once,
);
