//! Alerts through a running cloud and a real SMTP conversation: the app's own evaluator
//! (a short tick) finds an owner's router offline and mails them over SMTP, once, and mails
//! again when the router is back; and a mail that could not be sent before the cloud
//! stopped (its SMTP server down) is sent once by the next cloud on the same database. The
//! tests wait on the mail or on the store, never on a fixed delay.

use std::sync::Arc;
use std::time::Duration;

use jasiyo_cloud::alerts::{AlertsConfig, DeliveryOutcome};
use jasiyo_cloud::app::App;
use jasiyo_cloud::hub::HubConfig;
use jasiyo_cloud::notify::SmtpMailer;
use jasiyo_cloud::store::now_ms;
use jasiyo_cloud::store::testing::{Backend, fresh_store};
use jasiyo_tests::smtp_server::SmtpServer;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_router_is_mailed_to_its_owner_once_and_when_back() {
    let dir = tempfile::TempDir::new().unwrap();
    let mut smtp = SmtpServer::start().await;
    let store = fresh_store(Backend::Sqlite, dir.path()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mailer = SmtpMailer::new(&smtp.url(), "Jasiyo <noreply@jasiyo.test>").unwrap();
    let app = App::with_store(store.clone(), HubConfig::default(), listener)
        .with_mailer(Arc::new(mailer))
        .with_alerts(AlertsConfig { tick: Duration::from_millis(50), ..AlertsConfig::default() });
    let base = format!("http://{}", app.local_addr());
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(app.run(shutdown.clone()));

    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let signup = [
        ("business", "Alert Mail"),
        ("name", "Achieng"),
        ("email", "achieng@example.com"),
        ("phone", "0712345678"),
        ("password", "first-pass"),
    ];
    let response = client.post(format!("{base}/dashboard/signup")).form(&signup).send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::SEE_OTHER);
    let tenant = store.find_tenant("Alert Mail").await.unwrap().unwrap();
    let router = store.create_router(tenant.id, "shop", "hash", now_ms()).await.unwrap();
    store.router_connected(router.id, uuid::Uuid::new_v4(), "1.0", now_ms() - 25 * 60_000).await.unwrap();

    let mail = smtp.next_mail(Duration::from_secs(20)).await.expect("the owner is mailed");
    assert_eq!(mail.to, vec!["achieng@example.com".to_string()]);
    let text = mail.text();
    assert!(text.contains("Alert: Router offline") && text.contains("Router shop is offline"), "{text}");

    store.routers_seen(&[router.id], now_ms()).await.unwrap();
    let mail = smtp.next_mail(Duration::from_secs(20)).await.expect("the owner is told it cleared");
    assert!(mail.text().contains("Resolved: Router offline"), "{}", mail.text());
    // Many ticks passed meanwhile: still exactly one alert, now closed, and no other mail.
    assert!(smtp.try_next_mail().is_none());
    assert!(store.open_alerts(Some(tenant.id)).await.unwrap().is_empty());
    assert_eq!(store.closed_alerts(tenant.id, 10).await.unwrap().len(), 1);

    shutdown.cancel();
    running.await.unwrap().unwrap();
}

/// Waits (up to 20 s) for a mail delivery outcome that `done` accepts, as the delivery loop
/// records it; that text, and the tenant's open alert's delivery as stored then.
async fn until_delivery(
    outcomes: &mut tokio::sync::broadcast::Receiver<DeliveryOutcome>,
    store: &dyn jasiyo_cloud::store::Store,
    tenant: jasiyo_cloud::model::TenantId,
    done: impl Fn(&str) -> bool,
) -> (String, String) {
    let found = async {
        loop {
            match outcomes.recv().await {
                Ok(outcome) if outcome.channel == "mail" && done(&outcome.outcome) => return outcome.outcome,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(closed) => panic!("no more outcomes: {closed}"),
            }
        }
    };
    let outcome = tokio::time::timeout(Duration::from_secs(20), found).await.expect("the delivery outcome within 20 s");
    let open = store.open_alerts(Some(tenant)).await.unwrap();
    (outcome, open.first().expect("the open alert").open_delivery.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_pending_when_the_cloud_stops_is_sent_once_after_a_restart() {
    let dir = tempfile::TempDir::new().unwrap();
    let mut smtp = SmtpServer::start().await;
    let store = fresh_store(Backend::Sqlite, dir.path()).await.unwrap();
    let config = AlertsConfig {
        tick: Duration::from_millis(50),
        delivery_poll: Duration::from_millis(50),
        backoff: Duration::from_millis(100),
        attempts: 1000,
        lease: Duration::from_secs(1),
        ..AlertsConfig::default()
    };
    // The first cloud's mail server is down: nothing listens on its port.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let first = App::with_store(store.clone(), HubConfig::default(), listener)
        .with_mailer(Arc::new(SmtpMailer::new(&format!("smtp://{dead}"), "Jasiyo <noreply@jasiyo.test>").unwrap()))
        .with_alerts(config.clone());
    let mut first_outcomes = first.alerts().delivery_outcomes();
    let base = format!("http://{}", first.local_addr());
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(first.run(shutdown.clone()));
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let signup = [
        ("business", "Restart Mail"),
        ("name", "Atieno"),
        ("email", "atieno@example.com"),
        ("phone", "0712345678"),
        ("password", "first-pass"),
    ];
    assert_eq!(
        client.post(format!("{base}/dashboard/signup")).form(&signup).send().await.unwrap().status(),
        reqwest::StatusCode::SEE_OTHER
    );
    let tenant = store.find_tenant("Restart Mail").await.unwrap().unwrap();
    let router = store.create_router(tenant.id, "shop", "hash", now_ms()).await.unwrap();
    store.router_connected(router.id, uuid::Uuid::new_v4(), "1.0", now_ms() - 25 * 60_000).await.unwrap();
    let (failing, stored) = until_delivery(&mut first_outcomes, store.as_ref(), tenant.id, |d| d.contains("trying again")).await;
    assert!(stored.starts_with("mail: failed"), "{stored}");
    assert!(failing.contains("trying again"), "{failing}");
    shutdown.cancel();
    running.await.unwrap().unwrap();
    assert!(smtp.try_next_mail().is_none());

    // The next cloud on the same database, its mail server up.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let second = App::with_store(store.clone(), HubConfig::default(), listener)
        .with_mailer(Arc::new(SmtpMailer::new(&smtp.url(), "Jasiyo <noreply@jasiyo.test>").unwrap()))
        .with_alerts(config);
    let shutdown = CancellationToken::new();
    let mut second_outcomes = second.alerts().delivery_outcomes();
    let running = tokio::spawn(second.run(shutdown.clone()));
    let mail = smtp.next_mail(Duration::from_secs(20)).await.expect("the pending mail is sent");
    assert_eq!(mail.to, vec!["atieno@example.com".to_string()]);
    assert!(mail.text().contains("Alert: Router offline"), "{}", mail.text());
    let (_, done) = until_delivery(&mut second_outcomes, store.as_ref(), tenant.id, |d| d.starts_with("mail: sent")).await;
    // The webhook's part ("none set") may be recorded a moment after the mail's.
    assert!(done.starts_with("mail: sent to 1 owner(s); webhook: "), "{done}");
    assert!(smtp.try_next_mail().is_none(), "sent once");
    assert_eq!(store.open_alerts(Some(tenant.id)).await.unwrap().len(), 1, "still one alert");
    shutdown.cancel();
    running.await.unwrap().unwrap();
}
