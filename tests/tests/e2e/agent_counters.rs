//! The agent's own counters (protocol 3), end to end: the real agent applies commands on
//! the RouterOS emulator, the router then refuses connections and drops the one the agent
//! has, the agent's link to the cloud is cut; the cloud's view of the router shows the
//! commands applied with their times, the RouterOS errors and both reconnections rise, in
//! the store, in `jasiyo-cloud router list --json` (the real binary), in the tenant API and
//! in `/metrics` (fleet sums, and the router among the top routers by errors). On SQLite
//! and PostgreSQL.

use jasiyo_cloud::store::now_ms;
use jasiyo_cloud::token::{AgentToken, OperatorScope, OperatorToken, operator_token_id};
use jasiyo_shared::command::Password;
use jasiyo_shared::{AgentCounters, Command, HotspotUser, RouterId, UnixTime};
use jasiyo_tests::harness::*;
use jasiyo_tests::processes::binary;
use jasiyo_tests::relay::Relay;
use jasiyo_tests::routeros_emulator::{EmulatorConfig, RouterOsEmulator};
use serde_json::Value;

use crate::metrics::value;

fn user(name: &str) -> Command {
    Command::UpsertHotspotUser(HotspotUser {
        name: name.into(),
        password: Password("pw-1234".into()),
        profile: None,
        mac: None,
        expires_at: Some(UnixTime(now_ms() / 1000 + 3600)),
        limit_uptime_secs: None,
        limit_bytes_total: None,
        comment: None,
    })
}

/// Waits until the counters the cloud has for `router` satisfy `check`; returns them.
async fn until_counters(cloud: &TestCloud, router: RouterId, what: &str, check: impl Fn(&AgentCounters) -> bool) -> AgentCounters {
    cloud.until(what, async |store| store.router(router).await.unwrap().unwrap().counters.is_some_and(|c| check(&c))).await;
    cloud.store().router(router).await.unwrap().unwrap().counters.unwrap()
}

async fn a_failing_router_shows_in_the_agents_counters(world: World) {
    let cloud = world.cloud().await;
    let creds = world.add_router(cloud.store().as_ref(), "r1").await;
    let router = RouterOsEmulator::start(EmulatorConfig::default()).await;
    let relay = Relay::start(cloud.addr).await;
    let mut agent = TestAgent::start_routeros(&relay.ws_url(), &creds, &world.agent_dir("r1"), router.addr(), fast_edge());
    agent.connected().await;

    cloud.hub.enqueue(creds.id, &user("c1")).await.unwrap();
    cloud.until_finished(creds.id, 1).await;
    let healthy = until_counters(&cloud, creds.id, "a command counted", |c| c.commands_applied >= 1).await;
    assert_eq!(healthy.routeros_errors.total(), 0, "{healthy:?}");
    assert!(healthy.last_apply_ms.is_some() && healthy.recent_max_ms >= healthy.recent_p50_ms);

    // The router goes away: its connection dies and new ones are refused; a command waits.
    router.set_refuse_connections(true);
    router.kill_connections();
    cloud.hub.enqueue(creds.id, &user("c2")).await.unwrap();
    until_counters(&cloud, creds.id, "RouterOS errors counted", |c| c.routeros_errors.total() >= 2).await;
    router.set_refuse_connections(false);
    cloud.until_finished(creds.id, 2).await;
    // The link to the cloud is cut too; the agent comes back.
    relay.cut();
    let failed = until_counters(&cloud, creds.id, "both reconnections counted", |c| {
        c.router_reconnects >= 1 && c.cloud_reconnects >= 1 && c.commands_applied >= 2
    })
    .await;
    assert_eq!(failed.since_ms, healthy.since_ms, "the same agent run");
    assert!(failed.applies() >= 2);

    // The operator's command line (the real binary).
    let output = tokio::process::Command::new(binary("jasiyo-cloud"))
        .args(["--database-url", &world.database_url, "router", "list", "--json"])
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let counters = &listed[0]["counters"];
    let errors: u64 = counters["routeros_errors"].as_object().expect("errors by kind").values().filter_map(Value::as_u64).sum();
    assert!(errors >= 2, "{listed}");
    assert!(counters["router_reconnects"].as_u64() >= Some(1) && counters["cloud_reconnects"].as_u64() >= Some(1), "{listed}");

    // The tenant API.
    let tenant = cloud.store().router(creds.id).await.unwrap().unwrap().tenant_id;
    let secret = AgentToken::generate();
    let token = OperatorToken {
        id: operator_token_id(&secret.hash()),
        name: "counters".into(),
        scope: OperatorScope::Tenant(tenant),
        created_at: now_ms(),
        expires_at: None,
        revoked_at: None,
    };
    cloud.store().create_scoped_operator_token(&token, &secret.hash()).await.unwrap();
    let url = format!("{}/api/v1/routers", cloud.http_url());
    let routers: Value = reqwest::Client::new().get(url).bearer_auth(secret.expose()).send().await.unwrap().json().await.unwrap();
    assert!(routers[0]["counters"]["commands_applied"].as_u64() >= Some(2), "{routers}");

    // The fleet's metrics, without a series per router except the top by errors.
    let text = cloud.metrics().await;
    let kinds = ["refused", "fatal", "timeout", "connection", "protocol", "login", "tls"];
    let errors: f64 = kinds.iter().map(|kind| value(&text, &format!(r#"jasiyo_agent_routeros_errors_total{{kind="{kind}"}}"#))).sum();
    assert!(errors >= 2.0, "{text}");
    assert!(value(&text, r#"jasiyo_agent_reconnects_total{link="router"}"#) >= 1.0);
    assert!(value(&text, r#"jasiyo_agent_reconnects_total{link="cloud"}"#) >= 1.0);
    assert!(value(&text, r#"jasiyo_agent_commands_total{outcome="applied"}"#) >= 2.0);
    assert!(value(&text, "jasiyo_agent_apply_seconds_count") >= 2.0);
    let top = format!(r#"jasiyo_agent_top_routeros_errors{{router="{}"}}"#, creds.id);
    assert!(value(&text, &top) >= 2.0);
    eprintln!("measured: {failed:?}");
    agent.stop().await;
    router.stop().await;
    cloud.stop().await;
}

jasiyo_cloud::on_each_backend!(World::new; a_failing_router_shows_in_the_agents_counters);
