//! Vouchers end to end, on SQLite and PostgreSQL: a 2,000-code batch (and, alone, a
//! 5,000-code one) goes through the outbox and the agent onto the emulated router (the
//! time it took is printed, with where it went); a code
//! typed on the portal API comes back as the hotspot login, which logs the device in
//! through the router's login endpoint (the demo's stand-in for it, checking against the
//! emulated router); wrong codes are refused and guessing is rate limited;
//! a code used on the router itself is reported by the agent and counted as used; revoking
//! the batch removes every code from the router and ends the device's session.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jasiyo_cloud::model::{NewPlan, VoucherBatchInput};
use jasiyo_cloud::vouchers::{create_batch, revoke};
use jasiyo_tests::demo::hotspot::{Chap, Device};
use jasiyo_tests::demo::live::Printer;
use jasiyo_tests::harness::*;
use jasiyo_tests::routeros_emulator::{EmulatorConfig, RouterOsEmulator};
use serde_json::{Value, json};

const CODES: u32 = 2_000;
const MAC: &str = "02:00:00:00:16:01";
const IP: &str = "10.5.50.16";

/// A plan the vouchers of these tests are for: `name`, `secs` long at `price_kes`, with the
/// speed limit given, for the tenant of `router`.
pub async fn voucher_plan(
    store: &dyn jasiyo_cloud::store::Store,
    router: jasiyo_shared::RouterId,
    (name, price_kes, secs): (&str, u32, u64),
    rate_limit: Option<&str>,
) -> jasiyo_cloud::model::Plan {
    let tenant = store.router(router).await.unwrap().unwrap().tenant_id;
    let plan = NewPlan {
        name: name.into(),
        price_kes,
        duration_secs: secs,
        data_mb: None,
        rate_limit: rate_limit.map(str::to_string),
        profile: None,
        shared_users: None,
    };
    store.create_plan(tenant, &plan, jasiyo_cloud::store::now_ms()).await.unwrap()
}

fn is_voucher(comment: Option<&str>) -> bool {
    comment.is_some_and(|c| c.contains("voucher batch"))
}

async fn a_batch_loads_logs_in_and_is_revoked(world: World) {
    let cloud = world.cloud().await;
    let store = cloud.store().clone();
    let creds = world.add_router(store.as_ref(), "counter").await;
    let tenant = store.router(creds.id).await.unwrap().unwrap().tenant_id;
    let plan = voucher_plan(store.as_ref(), creds.id, ("1 hour", 20, 3600), Some("2M/5M")).await;
    let router = Arc::new(RouterOsEmulator::start(EmulatorConfig::default()).await);
    let mut agent = TestAgent::start_routeros(&cloud.ws_url(), &creds, &world.agent_dir("counter"), router.addr(), fast_edge());
    agent.connected().await;

    // 2,000 codes, from the owner's "create" to every one a hotspot user on the router.
    let input = VoucherBatchInput {
        plan_id: plan.id,
        count: CODES,
        code_length: 8,
        prefix: None,
        price_kes: Some(50),
        valid_until: None,
        routers: vec![creds.id],
    };
    let (batch, codes) = load(&world, &cloud, &router, creds.id, input).await;
    let first = router.user(codes[0].as_str()).expect("the code is a hotspot user");
    assert_eq!(first.password, codes[0].as_str());
    assert_eq!(first.limit_uptime.as_deref(), Some("1h"), "time runs from the first login, for the plan's hour");
    assert!(first.profile.starts_with("jasiyo-"), "the plan's speed, in its profile: {}", first.profile);

    // The portal: the code, typed in lower case with a dash, comes back as the login.
    let http = reqwest::Client::new();
    let url = format!("{}/api/portal/{}/voucher", cloud.http_url(), creds.id);
    let typed = codes[0].grouped().to_lowercase();
    let answer = http.post(&url).json(&json!({ "code": typed, "mac": MAC, "ip": IP })).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let answer: Value = answer.json().await.unwrap();
    assert_eq!(answer["first_use"], true);
    let (username, password) = (answer["login"]["username"].as_str().unwrap(), answer["login"]["password"].as_str().unwrap());

    // ...which the page posts to the router's login endpoint: the device is online.
    let hotspot = hotspot_login(router.clone()).await;
    let login = http.post(format!("{hotspot}/login")).form(&[("username", username), ("password", password)]).send().await.unwrap();
    assert_eq!(login.status(), 200, "{}", login.text().await.unwrap());
    assert!(router.active().iter().any(|a| a.mac_address == MAC && a.user == codes[0].as_str()), "the device is logged in");
    let shown = store.voucher_codes(tenant, batch.id, jasiyo_cloud::store::now_ms() / 1000).await.unwrap();
    let used = shown.iter().find(|l| l.code == codes[0]).unwrap();
    assert_eq!(used.state, jasiyo_cloud::model::VoucherState::InUse);
    assert_eq!(used.device_mac.map(|m| m.to_string()).as_deref(), Some(MAC));

    // The same code from another device is refused; a wrong code gets a clear word.
    let other = http.post(&url).json(&json!({ "code": codes[0].as_str(), "mac": "02:00:00:00:16:02" })).send().await.unwrap();
    assert_eq!(other.status(), 409);
    let wrong = http.post(&url).json(&json!({ "code": "ZZZZ-ZZZZ", "mac": "02:00:00:00:16:03" })).send().await.unwrap();
    assert_eq!(wrong.status(), 404);
    let wrong: Value = wrong.json().await.unwrap();
    assert_eq!(wrong["error"], "voucher_unknown");
    assert!(wrong["message"].as_str().unwrap().contains("not valid"));

    // Guessing from one device: a handful of tries, then "too many tries" (right code or not).
    let guesser = "02:00:00:00:16:04";
    let mut statuses = Vec::new();
    for i in 0..7 {
        let guess = format!("GUESS{i:03}AB");
        let reply = http.post(&url).json(&json!({ "code": guess, "mac": guesser })).send().await.unwrap();
        statuses.push(reply.status().as_u16());
    }
    let right = http.post(&url).json(&json!({ "code": codes[1].as_str(), "mac": guesser })).send().await.unwrap();
    statuses.push(right.status().as_u16());
    assert_eq!(&statuses[..5], &[404; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "then rate limited, the right code too: {statuses:?}");

    // A code used through the router's own login page (the cloud not asked): the agent
    // reports its traffic, and the cloud counts it as used.
    assert!(router.set_user_bytes(codes[3].as_str(), 1_000, 50_000));
    let (code, batch_id) = (codes[3].clone(), batch.id);
    cloud
        .until("the router's use of a code reported", async |store: &dyn jasiyo_cloud::store::Store| {
            let lines = store.voucher_codes(tenant, batch_id, jasiyo_cloud::store::now_ms() / 1000).await.unwrap();
            lines.iter().any(|l| l.code == code && l.state == jasiyo_cloud::model::VoucherState::InUse && l.first_used_at.is_some())
        })
        .await;

    // Revoked: every code leaves the router, and the device's session ends.
    let started = Instant::now();
    assert_eq!(revoke(store.as_ref(), tenant, batch.id, None).await.unwrap(), CODES as usize);
    cloud.hub.wake(creds.id);
    let gone = router
        .wait_until(Duration::from_secs(180), |r| {
            r.users().iter().all(|u| !is_voucher(u.comment.as_deref())) && r.active().iter().all(|a| a.mac_address != MAC)
        })
        .await;
    assert!(gone, "the codes were removed from the router");
    println!("VOUCHERS {:?}: {CODES} codes removed from the router after {} ms", world.backend, started.elapsed().as_millis());
    let revoked = http.post(&url).json(&json!({ "code": codes[2].as_str(), "mac": "02:00:00:00:16:05" })).send().await.unwrap();
    assert_eq!(revoked.status(), 410);

    agent.stop().await;
    cloud.stop().await;
}

/// Creates the batch and waits until every code is on the router and every command has
/// its result in the cloud; prints the time and where it went.
async fn load(
    world: &World,
    cloud: &TestCloud,
    router: &RouterOsEmulator,
    id: jasiyo_shared::RouterId,
    input: VoucherBatchInput,
) -> (jasiyo_cloud::model::VoucherBatch, Vec<jasiyo_cloud::model::VoucherCode>) {
    let store = cloud.store().clone();
    let tenant = store.router(id).await.unwrap().unwrap().tenant_id;
    let count = input.count as usize;
    let sentences_before = router.command_log().len();
    let (started, started_ms) = (Instant::now(), jasiyo_cloud::store::now_ms());
    let (batch, codes) = create_batch(store.as_ref(), tenant, input).await.unwrap();
    let enqueued = started.elapsed();
    cloud.hub.wake(id);
    // The last code first (a cheap look; the codes go in about in order), then all of them.
    let last = codes.last().unwrap().as_str().to_string();
    let loaded = router
        .wait_until(Duration::from_secs(180), |r| {
            r.user(&last).is_some() && r.users().iter().filter(|u| is_voucher(u.comment.as_deref())).count() == count
        })
        .await;
    assert!(loaded, "all {count} codes on the router");
    let on_router = started.elapsed();
    let commands = store.list_commands(id, 100_000).await.unwrap();
    let commands: Vec<_> = commands.into_iter().filter(|c| c.created_at >= started_ms).collect();
    cloud.until_finished(id, commands.len()).await;
    let commands = store.list_commands(id, 100_000).await.unwrap();
    let commands: Vec<_> = commands.into_iter().filter(|c| c.created_at >= started_ms).collect();
    assert!(commands.iter().all(|c| matches!(c.outcome, Some(jasiyo_shared::Outcome::Applied { .. }))), "every command applied");
    let last =
        |at: fn(&jasiyo_cloud::model::StoredCommand) -> Option<i64>| commands.iter().filter_map(at).max().map_or(-1, |t| t - started_ms);
    println!(
        "VOUCHERS {:?}: {count} codes in {} commands: enqueued in {} ms; last delivered +{} ms; last journalled by the agent +{} ms; \
         all on the router +{} ms; last result +{} ms; {} RouterOS API sentences",
        world.backend,
        commands.len(),
        enqueued.as_millis(),
        last(|c| c.delivered_at),
        last(|c| c.received_at),
        on_router.as_millis(),
        last(|c| c.finished_at),
        router.command_log().len() - sentences_before,
    );
    (batch, codes)
}

/// 5,000 codes (the most a batch may have) load in seconds.
async fn five_thousand_codes_load(world: World) {
    let cloud = world.cloud().await;
    let store = cloud.store().clone();
    let creds = world.add_router(store.as_ref(), "counter").await;
    let plan = voucher_plan(store.as_ref(), creds.id, ("1 day", 50, 86_400), Some("2M/5M")).await;
    let router = Arc::new(RouterOsEmulator::start(EmulatorConfig::default()).await);
    // Loading is measured, not the repairs: reconciling 5,000 users every 200 ms (the tests'
    // pace; 5 minutes in the field) would take turns with the loading.
    let edge = jasiyo_agent::edge::EdgeConfig { reconcile_every: Duration::from_secs(60), ..fast_edge() };
    let mut agent = TestAgent::start_routeros(&cloud.ws_url(), &creds, &world.agent_dir("counter"), router.addr(), edge);
    agent.connected().await;
    let input = VoucherBatchInput {
        plan_id: plan.id,
        count: 5_000,
        code_length: 8,
        prefix: None,
        price_kes: None,
        valid_until: None,
        routers: vec![creds.id],
    };
    let started = Instant::now();
    let (_, codes) = load(&world, &cloud, &router, creds.id, input).await;
    assert!(started.elapsed() < Duration::from_secs(60), "5,000 codes load in seconds, not minutes: {:?}", started.elapsed());
    assert_eq!(router.user(codes[4_999].as_str()).map(|u| u.password), Some(codes[4_999].as_str().to_string()));
    agent.stop().await;
    cloud.stop().await;
}

/// The router's hotspot login endpoint for the one device of this test, on a free port.
async fn hotspot_login(router: Arc<RouterOsEmulator>) -> String {
    let device = Device { mac: MAC.into(), ip: IP.into() };
    let app = jasiyo_tests::demo::hotspot::router(router, device, Chap::random(), Arc::new(Printer::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

jasiyo_cloud::on_each_backend!(World::new; a_batch_loads_logs_in_and_is_revoked, five_thousand_codes_load);
