//! A voucher batch loaded on two routers, each with its agent, on SQLite and PostgreSQL:
//! a code first used on router A and then logged in on router B (at the same time) is
//! detected from the agents' usage reports; its login on B is ended and the code removed
//! from B (so it cannot be used there again), while A keeps it and its session; the second
//! login is recorded on the code.

use std::sync::Arc;
use std::time::Duration;

use jasiyo_cloud::model::{VoucherBatchInput, VoucherState};
use jasiyo_cloud::store::{Store, now_ms};
use jasiyo_cloud::vouchers::create_batch;
use jasiyo_tests::harness::*;
use jasiyo_tests::routeros_emulator::{EmulatorConfig, RouterOsEmulator};

const CODES: usize = 20;

async fn a_code_used_on_a_second_router_is_ended_there(world: World) {
    let cloud = world.cloud().await;
    let store = cloud.store().clone();
    let (a, b) = (world.add_router(store.as_ref(), "front").await, world.add_router(store.as_ref(), "back").await);
    let tenant = store.router(a.id).await.unwrap().unwrap().tenant_id;
    let plan = crate::vouchers::voucher_plan(store.as_ref(), a.id, ("1 hour", 20, 3600), Some("2M/5M")).await;
    let (router_a, router_b) = (
        Arc::new(RouterOsEmulator::start(EmulatorConfig::default()).await),
        Arc::new(RouterOsEmulator::start(EmulatorConfig::default()).await),
    );
    let mut agent_a = TestAgent::start_routeros(&cloud.ws_url(), &a, &world.agent_dir("front"), router_a.addr(), fast_edge());
    let mut agent_b = TestAgent::start_routeros(&cloud.ws_url(), &b, &world.agent_dir("back"), router_b.addr(), fast_edge());
    agent_a.connected().await;
    agent_b.connected().await;

    let input = VoucherBatchInput {
        plan_id: plan.id,
        count: CODES as u32,
        code_length: 8,
        prefix: None,
        price_kes: Some(50),
        valid_until: None,
        routers: vec![a.id, b.id],
    };
    let (batch, codes) = create_batch(store.as_ref(), tenant, input).await.unwrap();
    for (id, router) in [(a.id, &router_a), (b.id, &router_b)] {
        cloud.hub.wake(id);
        assert!(router.wait_until(Duration::from_secs(60), |r| r.users().len() >= CODES).await, "the batch on both routers");
    }
    let code = codes[0].as_str().to_string();

    // Used on A (a login on A's own page, with traffic): A's agent reports it, first use on A.
    router_a.add_active(&code, "02:00:00:00:0a:01", "10.5.50.11");
    assert!(router_a.set_user_bytes(&code, 2_000, 40_000));
    let (batch_id, wanted) = (batch.id, codes[0].clone());
    cloud
        .until("first use on A", async |store: &dyn Store| {
            let lines = store.voucher_codes(tenant, batch_id, now_ms() / 1000).await.unwrap();
            lines.iter().any(|l| l.code == wanted && l.state == VoucherState::InUse)
        })
        .await;

    // The same code logs in on B while it is in use on A.
    router_b.add_active(&code, "02:00:00:00:0b:02", "10.5.60.12");
    assert!(router_b.set_user_bytes(&code, 1_000, 9_000));
    let ended =
        router_b.wait_until(Duration::from_secs(60), |r| r.user(&code).is_none() && r.active().iter().all(|s| s.user != code)).await;
    assert!(ended, "the second login is ended on B and the code is gone from B");
    let lines = store.voucher_codes(tenant, batch.id, now_ms() / 1000).await.unwrap();
    let line = lines.iter().find(|l| l.code == codes[0]).unwrap();
    assert_eq!(line.second_router, Some(b.id), "the second login is recorded on the code");
    assert!(line.second_seen_at.is_some());
    assert!(lines.iter().filter(|l| l.code != codes[0]).all(|l| l.second_router.is_none()), "no other code is touched");

    // A keeps the code and its session; B keeps the batch's other codes.
    assert!(router_a.user(&code).is_some() && router_a.active().iter().any(|s| s.user == code), "the first login stays");
    assert_eq!(router_b.users().len(), CODES - 1);

    agent_a.stop().await;
    agent_b.stop().await;
    cloud.stop().await;
}

jasiyo_cloud::on_each_backend!(World::new; a_code_used_on_a_second_router_is_ended_there);
