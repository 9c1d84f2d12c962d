//! Vouchers while the cloud is away, in headless Chromium, on SQLite and PostgreSQL: the
//! router serves our `login.html` (the stand-in for its web side fills in the variables as
//! RouterOS does and checks logins against the emulated router). With the cloud up, the
//! page goes on to the portal. With the cloud stopped (its address refusing, then hanging:
//! the uplink relay leads nowhere), the page gives up on its probe and shows the voucher
//! form, at once or after its 3.5 s; a
//! wrong code comes back with the router's error, and the right code, typed as printed in
//! lower case, logs the device in on the router with a CHAP response computed in the page.
//! The cloud knows nothing of it until it returns, when the agent's usage report marks the
//! code used, with the data it used.
//!
//! Without Chromium the test prints SKIPPED, unless `JASIYO_REQUIRE_BROWSER=1`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jasiyo_cloud::model::{VoucherBatchInput, VoucherLine, VoucherState};
use jasiyo_cloud::portal::hotspot::{PAGES, PortalHost, page};
use jasiyo_cloud::store::now_ms;
use jasiyo_cloud::vouchers::create_batch;
use jasiyo_tests::demo::hotspot::{Chap, Device, router_with_pages};
use jasiyo_tests::demo::live::Printer;
use jasiyo_tests::harness::*;
use jasiyo_tests::relay::Relay;
use jasiyo_tests::routeros_emulator::{EmulatorConfig, RouterOsEmulator};
use serde_json::json;

use crate::portal_browser::webdriver::{Browser, Shots, find_browser};

const MAC: &str = "02:00:00:00:16:A1";
const IP: &str = "10.5.50.61";

async fn a_voucher_logs_in_through_the_router_while_the_cloud_is_away(world: World) {
    let (chromium, driver) = match find_browser() {
        Ok(found) => found,
        Err(why) if std::env::var("JASIYO_REQUIRE_BROWSER").is_ok_and(|v| v == "1") => panic!("JASIYO_REQUIRE_BROWSER=1 but {why}"),
        Err(why) => return eprintln!("SKIPPED: voucher fallback: {why}"),
    };
    let cloud = world.cloud().await;
    let store = cloud.store().clone();
    let creds = world.add_router(store.as_ref(), "kibanda").await;
    let tenant = store.router(creds.id).await.unwrap().unwrap().tenant_id;
    let plan = crate::vouchers::voucher_plan(store.as_ref(), creds.id, ("1 hour", 20, 3600), None).await;
    // The router's uplink: the agent and the device's probe reach the cloud through it.
    let uplink = Relay::start(cloud.addr).await;
    let router = Arc::new(RouterOsEmulator::start(EmulatorConfig::default()).await);
    let mut agent = TestAgent::start_routeros(&uplink.ws_url(), &creds, &world.agent_dir("r"), router.addr(), fast_edge());
    agent.connected().await;
    let input = VoucherBatchInput {
        plan_id: plan.id,
        count: 3,
        code_length: 8,
        prefix: None,
        price_kes: Some(50),
        valid_until: None,
        routers: vec![creds.id],
    };
    let (batch, codes) = create_batch(store.as_ref(), tenant, input).await.unwrap();
    cloud.hub.wake(creds.id);
    assert!(router.wait_until(WAIT, |r| codes.iter().all(|c| r.user(c.as_str()).is_some())).await, "the codes reach the router");

    // The router's web side, with the pages the install script puts there (portal: the uplink).
    let portal = PortalHost::parse(&format!("http://{}", uplink.addr())).unwrap();
    let pages: HashMap<String, String> = PAGES.iter().map(|n| (n.to_string(), page(n, &portal, creds.id).unwrap())).collect();
    let chap = Chap::random();
    let device = Device { mac: MAC.into(), ip: IP.into() };
    let web = router_with_pages(router.clone(), device, chap.clone(), Arc::new(Printer::default()), pages);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let login_url = format!("http://{}/login?dst=http%3A%2F%2Fexample.com%2Fnews", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, web).await });
    let browser = Browser::start(&chromium, &driver, 360, 740).await;
    let shots = Shots::new(&format!("voucher-fallback-{:?}", world.backend).to_lowercase());

    // The cloud answers: on to the portal, with the device's variables.
    browser.goto(&login_url).await;
    let at_portal = format!(
        "location.href.indexOf('{}/portal/{}?mac=02%3A00%3A00%3A00%3A16%3AA1&ip=10.5.50.61') === 0 \
         && document.body.getAttribute('data-state') === 'choose'",
        portal.base, creds.id
    );
    browser.wait(&at_portal, "the portal, through the probe", WAIT, &shots).await;

    // The cloud stops: its address refuses, and the form shows as soon as the probe fails.
    let form = "document.body.getAttribute('data-state') === 'local'";
    cloud.stop().await;
    let started = Instant::now();
    browser.goto(&login_url).await;
    browser.wait(form, "the voucher form (refused)", WAIT, &shots).await;
    let refused_after = started.elapsed();
    // Then its address hangs (the uplink leads to a socket nobody reads): the page waits its 3.5 s.
    let nowhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    uplink.retarget(nowhere.local_addr().unwrap());
    uplink.cut();
    let started = Instant::now();
    browser.goto(&login_url).await;
    browser.wait(form, "the voucher form (no answer)", WAIT, &shots).await;
    let waited = started.elapsed();
    println!(
        "VOUCHER FALLBACK {:?}: the form showed {} ms after the page was opened with the cloud refusing, {} ms with it silent",
        world.backend,
        refused_after.as_millis(),
        waited.as_millis()
    );
    assert!(refused_after < Duration::from_secs(3), "a refused probe needs no waiting: {refused_after:?}");
    assert!(waited >= Duration::from_secs(3), "the page gave a silent cloud its time: {waited:?}");
    assert_eq!(browser.text("h1").await, "Have a voucher? / Una vocha?");
    shots.save(&browser, "form").await;

    // The page's CHAP response is RouterOS's: MD5 of id, code and challenge.
    let filled = browser
        .eval(
            "document.getElementById('code').value = arguments[0]; submitCode(); var f = document.getElementById('vform'); \
             var got = [f.username.value, f.password.value, f.dst.value, f.popup.value]; document.getElementById('code').value = ''; return got;",
            json!([format!(" {} ", codes[1].grouped().to_lowercase())]),
        )
        .await;
    assert_eq!(filled, json!([codes[1].as_str(), chap.hash(codes[1].as_str()), "http://example.com/news", "true"]));

    // A wrong code: the router's error, on the form again.
    browser.type_into("#code", "ZZZZ-ZZZZ").await;
    browser.click("#go").await;
    let refused = "document.body.getAttribute('data-state') === 'local' && !!document.getElementById('err')";
    browser.wait(refused, "the router's error", WAIT, &shots).await;
    assert_eq!(browser.text("#err").await, "invalid username or password");
    assert!(router.active().iter().all(|a| a.mac_address != MAC), "nobody logged in");
    shots.save(&browser, "wrong").await;

    // The right code, typed as printed in lower case: online on the router.
    browser.type_into("#code", &codes[0].grouped().to_lowercase()).await;
    browser.click("#go").await;
    let online = router.wait_until(WAIT, |r| r.active().iter().any(|a| a.mac_address == MAC && a.user == codes[0].as_str())).await;
    assert!(online, "the device is logged in as the code: {:?}", router.active());
    browser.wait("document.body.textContent.indexOf('Uko mtandaoni') >= 0", "alogin.html", WAIT, &shots).await;
    shots.save(&browser, "online").await;
    // The cloud was away: nothing is known of it there yet.
    let first = |lines: &[VoucherLine]| lines.iter().find(|l| l.code == codes[0]).map(|l| (l.state, l.first_used_at)).unwrap();
    let before = world.store().await.voucher_codes(tenant, batch.id, now_ms() / 1000).await.unwrap();
    assert_eq!(first(&before), (VoucherState::Unused, None));

    // The device browses; the cloud returns, and the agent's usage report marks the code used.
    assert!(router.set_user_bytes(codes[0].as_str(), 2_000, 80_000));
    let returned_at = now_ms();
    let cloud = world.cloud().await;
    uplink.retarget(cloud.addr);
    uplink.cut();
    let code = codes[0].clone();
    cloud
        .until("the code's first use reported", async |store: &dyn jasiyo_cloud::store::Store| {
            let lines = store.voucher_codes(tenant, batch.id, now_ms() / 1000).await.unwrap();
            lines.iter().any(|l| l.code == code && l.state == VoucherState::InUse && l.first_used_at.is_some_and(|t| t >= returned_at))
        })
        .await;
    println!("VOUCHER FALLBACK {:?}: first use reported {} ms after the cloud returned", world.backend, now_ms() - returned_at);
    let after = cloud.store().voucher_codes(tenant, batch.id, now_ms() / 1000).await.unwrap();
    assert_eq!(first(&after).0, VoucherState::InUse);
    let data = after.iter().find(|l| l.code == codes[0]).and_then(|l| l.usage).expect("the code's data used, as the router counted it");
    assert_eq!((data.bytes_in, data.bytes_out), (2_000, 80_000));
    assert!(after.iter().filter(|l| l.code != codes[0]).all(|l| l.state == VoucherState::Unused), "only that code is used");

    browser.close().await;
    agent.stop().await;
    cloud.stop().await;
}

jasiyo_cloud::on_each_backend!(World::new; a_voucher_logs_in_through_the_router_while_the_cloud_is_away);
