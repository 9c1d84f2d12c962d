//! The router loses power in the middle of a stream of paying customers: the RouterOS
//! emulator runs as its own process (`routeros-emulator --state --control`) and is
//! SIGKILLed while the agent is creating users, stays down while more customers approve,
//! and comes back on the same address from its state file. The cloud and the agent are the
//! real binaries. Afterwards every paid customer's user is on the router exactly once with
//! the plan's fields, the users made before the kill are the same rows (booted from the
//! file, not made again), sessions and hosts were lost as in a reboot, and the agent came
//! back to the router by itself.
//!
//! Run on both databases: the cloud holds the queue the agent drains after the reboot.

use std::collections::HashMap;
use std::time::Duration;

use jasiyo_cloud::model::PaymentState;
use jasiyo_tests::harness::{RouterCreds, WAIT, World, init_logs};
use jasiyo_tests::payment_emulator::{Delivery, EmulatorAccounts, PaymentEmulator, Resolution};
use jasiyo_tests::processes::{AgentProcess, CloudProcess};
use jasiyo_tests::routeros_process::RouterProcess;
use jasiyo_tests::shop::{daraja_shop, sealing_key_env};

/// Customers in the stream: a third approve before the kill, a third while the router is
/// down, a third after it is back.
const CUSTOMERS: usize = 18;

/// One customer's device and payment.
struct Customer {
    key: String,
    phone: String,
    mac: String,
    ip: String,
}

fn customer(i: usize) -> Customer {
    Customer {
        key: format!("reboot-{i}"),
        phone: format!("07220021{i:02}"),
        mac: format!("02:00:00:00:0E:{i:02X}"),
        ip: format!("10.5.50.{}", 20 + i),
    }
}

/// Starts `c`'s payment through the portal; the prompt's provider reference.
async fn pay(base: &str, creds: &RouterCreds, plan: &str, c: &Customer, provider: &PaymentEmulator) -> String {
    let body = serde_json::json!({"plan_id": plan, "phone": c.phone, "mac": c.mac, "ip": c.ip, "idempotency_key": c.key});
    let url = format!("http://{base}/api/portal/{}/payments", creds.id);
    let response = reqwest::Client::new().post(url).json(&body).send().await.expect("the portal answers");
    assert_eq!(response.status().as_u16(), 201, "{}'s push", c.key);
    provider.wait_for_prompt(&c.phone, WAIT).await.expect("the prompt reached the phone").provider_ref
}

async fn router_killed_mid_stream_loses_no_user(world: World) {
    init_logs();
    let store = world.store().await;
    let creds = world.add_router(store.as_ref(), "reboot-shop").await;
    let provider = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let plan = daraja_shop(store.as_ref(), &provider).await.unwrap().id.to_string();
    let (key_name, key) = sealing_key_env();
    // Every customer comes from 127.0.0.1: the per-address limit is meant for strangers.
    let env = [(key_name, key.as_str()), ("JASIYO_LIMIT_PER_IP", "1000"), ("JASIYO_LIMIT_PER_ROUTER", "1000")];
    let cloud = CloudProcess::spawn_with(&world.database_url, world.dir.path(), "127.0.0.1:0", &env).await;
    let base = cloud.addr.to_string();
    let router = RouterProcess::start(world.dir.path()).await.expect("the router process starts");
    let agent = AgentProcess::spawn_routeros(&cloud.ws_url(), &creds, &world.agent_dir("reboot-shop"), router.addr());
    let mut agent = agent.detach_output();

    let customers: Vec<Customer> = (0..CUSTOMERS).map(customer).collect();
    let mut prompts = Vec::new();
    for c in &customers {
        router.add_host(&c.mac, &c.ip).await;
        prompts.push(pay(&base, &creds, &plan, c, &provider).await);
    }
    let third = CUSTOMERS / 3;
    let approve = async |range: std::ops::Range<usize>| {
        for reference in &prompts[range] {
            provider.resolve(reference, Resolution::Approve, Delivery::Normal).await.unwrap();
        }
    };

    // The first third approve; the router dies while the agent is putting them on it.
    approve(0..third).await;
    assert!(router.wait_until(WAIT, |r| !r.users.is_empty()).await, "the first user reached the router");
    let before = router.snapshot().await.unwrap();
    router.kill().await;
    assert!(router.reboot_since(tokio::time::Instant::now()), "a reboot under way may take any session");
    eprintln!("router killed with {} of {third} users on it", before.users.len());

    // The second third approve while it is down; then it boots from its file.
    approve(third..2 * third).await;
    router.restart().await.expect("the router starts again");
    let booted = router.snapshot().await.unwrap();
    assert!(booted.hosts.is_empty() && booted.active.is_empty(), "a reboot loses hosts and sessions: {booted:?}");
    let ids = |users: &[jasiyo_tests::routeros_emulator::HotspotUserRow]| -> HashMap<String, String> {
        users.iter().map(|u| (u.name.clone(), u.id.clone())).collect()
    };
    let booted_ids = ids(&booted.users);
    for (name, id) in ids(&before.users) {
        assert_eq!(booted_ids.get(&name), Some(&id), "user {name} kept across the reboot, same row");
    }
    // The devices send traffic again: the host table fills.
    router.devices_return().await;
    assert_eq!(router.hosts().await.len(), CUSTOMERS, "every device back on the network");
    assert!(!router.reboot_since(tokio::time::Instant::now()), "the reboot is over once the devices are back");

    // The last third approve with the router back.
    approve(2 * third..CUSTOMERS).await;
    let all_on = router.wait_until(Duration::from_secs(60), |r| r.users.len() >= CUSTOMERS).await;
    assert!(all_on, "every paid customer on the router: {:?}", router.users().await);

    // Every command finished (the agent reconnected and drained its queue).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let commands = store.list_commands(creds.id, 1000).await.unwrap();
        if commands.iter().all(|c| c.outcome.is_some()) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "commands without an outcome: {commands:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let last = router.snapshot().await.unwrap();
    assert!(last.connections >= 1, "the agent is connected to the rebooted router");
    assert_eq!(last.users.len(), CUSTOMERS, "one user per paid customer: {:?}", last.users);
    let mut per_name: HashMap<&str, usize> = HashMap::new();
    for user in &last.users {
        *per_name.entry(user.name.as_str()).or_default() += 1;
    }
    for c in &customers {
        let payment = store.payment_by_idempotency(creds.id, &c.key).await.unwrap().expect("written");
        assert_eq!(payment.state, PaymentState::Paid, "{payment:?}");
        let entitlement = store.entitlement_for_payment(payment.id).await.unwrap().expect("entitled");
        assert_eq!(per_name.get(entitlement.username.as_str()), Some(&1), "{} on the router exactly once", entitlement.username);
        let user = last.users.iter().find(|u| u.name == entitlement.username).expect("on the router");
        assert_eq!(user.password, entitlement.password, "{}", c.key);
        assert_eq!(user.mac_address.as_deref(), Some(c.mac.as_str()), "{}: bound to the paying device", c.key);
        assert_eq!(user.limit_uptime.as_deref(), Some("1h"), "{}: the plan's hour", c.key);
        let expiry = format!("exp={}", entitlement.expires_at);
        assert!(user.comment.as_deref().is_some_and(|comment| comment.contains(&expiry)), "{}: {:?}", c.key, user.comment);
    }
    assert!(store.router(creds.id).await.unwrap().is_some_and(|r| r.online_session.is_some()), "the agent is online");

    let _ = agent.kill().await;
    router.kill().await;
    cloud.kill().await;
    provider.stop().await;
}

jasiyo_cloud::on_each_backend!(World::new; router_killed_mid_stream_loses_no_user);
