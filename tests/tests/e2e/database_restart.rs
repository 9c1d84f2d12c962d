//! PostgreSQL crashes and comes back under a running cloud (a server of the test's own,
//! stopped with `pg_ctl -m immediate`, as a crash or a failover would, then started again;
//! the machine's shared server is not touched). Meanwhile customers are mid-payment: their
//! prompts are out, and they approve them while the database is away. The cloud process is
//! never restarted. It reports not ready while the database is away (so a balancer sends
//! traffic elsewhere), refuses new payments clearly rather than half-writing them, takes the
//! database back by itself, and loses nothing: every approved customer is paid once and on
//! the router once, the refused one pays again with the same key and is served once.

use std::time::Duration;

use jasiyo_cloud::model::PaymentState;
use jasiyo_cloud::store::testing::Backend;
use jasiyo_tests::harness::{RouterCreds, WAIT, World, init_logs};
use jasiyo_tests::payment_emulator::{Delivery, EmulatorAccounts, PaymentEmulator, Resolution};
use jasiyo_tests::private_postgres::PrivatePostgres;
use jasiyo_tests::processes::{AgentProcess, CloudProcess};
use jasiyo_tests::routeros_emulator::{EmulatorConfig, RouterOsEmulator};
use jasiyo_tests::shop::{daraja_shop, sealing_key_env};

/// Starts customer `i`'s payment on `base`; the HTTP status and the idempotency key.
async fn start_payment(base: &str, creds: &RouterCreds, plan: &str, i: u32) -> (u16, String) {
    let key = format!("restart-{i}");
    let body = serde_json::json!({"plan_id": plan, "phone": phone(i), "mac": format!("02:00:00:00:0D:{i:02}"),
        "ip": format!("10.5.50.{}", 130 + i), "idempotency_key": key});
    let sent = reqwest::Client::new().post(format!("http://{base}/api/portal/{}/payments", creds.id)).json(&body).send().await;
    (sent.map(|r| r.status().as_u16()).unwrap_or(0), key)
}

fn phone(i: u32) -> String {
    format!("07220013{i:02}")
}

/// Waits until `GET /readyz` answers `status`.
async fn until_ready_is(base: &str, status: u16) {
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let now = client.get(format!("http://{base}/readyz")).send().await.map(|r| r.status().as_u16()).unwrap_or(0);
        if now == status {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "/readyz stayed {now}, not {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_crash_and_restart_mid_stream_loses_nothing() {
    let Some(pg) = PrivatePostgres::start() else { return };
    init_logs();
    let world = World { dir: tempfile::TempDir::new().unwrap(), database_url: pg.create_database("jasiyo"), backend: Backend::Postgres };
    let store = world.store().await;
    let creds = world.add_router(store.as_ref(), "restart-shop").await;
    let provider = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let plan = daraja_shop(store.as_ref(), &provider).await.unwrap().id.to_string();
    let (key_name, key) = sealing_key_env();
    let cloud = CloudProcess::spawn_with(&world.database_url, world.dir.path(), "127.0.0.1:0", &[(key_name, &key)]).await;
    let base = cloud.addr.to_string();
    let router = RouterOsEmulator::start(EmulatorConfig::default()).await;
    let agent = AgentProcess::spawn_routeros(&cloud.ws_url(), &creds, &world.agent_dir("restart-shop"), router.addr());
    let mut agent = agent.detach_output();
    let users = |n: usize| move |r: &RouterOsEmulator| r.users().len() >= n;

    // Two customers served before anything goes wrong; three more with prompts out.
    let mut keys = Vec::new();
    for i in 0..5 {
        let (status, key) = start_payment(&base, &creds, &plan, i).await;
        assert_eq!(status, 201, "customer {i}'s push");
        keys.push(key);
    }
    let mut prompts = Vec::new();
    for i in 0..5 {
        prompts.push(provider.wait_for_prompt(&phone(i), WAIT).await.expect("the prompt reached the phone").provider_ref);
    }
    for reference in &prompts[..2] {
        provider.resolve(reference, Resolution::Approve, Delivery::Normal).await.unwrap();
    }
    assert!(router.wait_until(WAIT, users(2)).await, "the first two customers online: {:?}", router.users());

    // The database crashes. The three approve while it is away; a sixth customer tries to pay.
    pg.crash();
    until_ready_is(&base, 503).await;
    for reference in &prompts[2..] {
        provider.resolve(reference, Resolution::Approve, Delivery::Normal).await.unwrap();
    }
    let asked = std::time::Instant::now();
    let (refused, sixth) = start_payment(&base, &creds, &plan, 5).await;
    eprintln!("refused after {:?}", asked.elapsed());
    assert!(refused >= 500, "a payment started without a database is refused, not half-made: {refused}");
    assert!(
        provider.prompts().iter().all(|p| !p.msisdn.ends_with(&phone(5)[1..])),
        "no prompt sent for a payment that could not be written"
    );

    // It comes back; the cloud takes it back by itself and everyone approved is served.
    pg.start_again();
    let back = std::time::Instant::now();
    until_ready_is(&base, 200).await;
    let ready = back.elapsed();
    assert!(router.wait_until(WAIT, users(5)).await, "the three who approved during the outage are online: {:?}", router.users());
    eprintln!("database back: ready after {ready:?}, the outage's customers online after {:?}; refused with {refused}", back.elapsed());
    let (status, again) = start_payment(&base, &creds, &plan, 5).await;
    assert_eq!((status, &again), (201, &sixth), "the sixth customer pays again with the same key");
    let prompt = provider.wait_for_prompt(&phone(5), WAIT).await.expect("the sixth prompt").provider_ref;
    provider.resolve(&prompt, Resolution::Approve, Delivery::Normal).await.unwrap();
    keys.push(sixth);
    assert!(router.wait_until(WAIT, users(6)).await, "six customers online: {:?}", router.users());

    for key in &keys {
        let payment = store.payment_by_idempotency(creds.id, key).await.unwrap().expect("written");
        assert_eq!(payment.state, PaymentState::Paid, "{payment:?}");
        assert!(store.entitlement_for_payment(payment.id).await.unwrap().is_some(), "{key} entitled");
    }
    let commands = store.list_commands(creds.id, 100).await.unwrap();
    let users_added = commands.iter().filter(|c| c.command.kind().starts_with("upsert_hotspot_user")).count();
    assert_eq!(users_added, 6, "one user per paid customer, once");
    assert_eq!(router.users().len(), 6, "six users on the router: {:?}", router.users());
    assert!(cloud.log().iter().any(|l| l.contains("not ready")), "the outage was logged");
    let _ = agent.kill().await;
    cloud.kill().await;
    provider.stop().await;
    drop(pg);
}
