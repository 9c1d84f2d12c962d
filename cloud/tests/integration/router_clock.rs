//! A router's clock skew, on both databases: what a protocol-2 agent reports is stored
//! once per session, shown on the router's page, and opens a "clock skew" alert beyond a
//! minute that closes when the clock is back in step.

use std::sync::Arc;

use jasiyo_cloud::alerts::{AlertKind, Alerts, AlertsConfig, Change};
use jasiyo_cloud::hub::{AgentLimits, HubConfig, HubEvent};
use jasiyo_cloud::notify::NoMailer;
use jasiyo_cloud::store::now_ms;
use jasiyo_shared::{AgentMessage, RouterStatus};

use super::dashboard_auth::{Browser, Site, site};
use crate::raw_agent::{Cloud, RawAgent, World, next_event};

const HOUR_MS: i64 = 3_600_000;

async fn a_reported_skew_is_stored_with_the_routers_status(world: World) {
    let cloud = Cloud::start(world.store.clone(), AgentLimits::default()).await;
    let (id, token) = world.router("r1").await;
    let mut events = cloud.hub.subscribe();
    let mut agent = RawAgent::welcomed(&cloud, id, token.expose(), None).await;
    agent.send(&AgentMessage::Status(RouterStatus { agent_version: "raw".into(), ..RouterStatus::default() })).await;
    agent.send(&AgentMessage::Clock { skew_ms: -3 * HOUR_MS }).await;
    next_event(&mut events, "the skew stored", |e| *e == HubEvent::Clock(id)).await;
    let router = world.store.router(id).await.unwrap().unwrap();
    assert_eq!(router.clock_skew_ms, Some(-3 * HOUR_MS));
    assert!(router.clock_off());
    assert!(router.status.is_some());

    // Repeated with every status: not written again (its time stays).
    let written_at = router.clock_skew_at;
    agent.send(&AgentMessage::Clock { skew_ms: -3 * HOUR_MS + 10 }).await;
    agent.until_pong(1).await;
    assert_eq!(world.store.router(id).await.unwrap().unwrap().clock_skew_at, written_at);

    // The next session measures it again.
    drop(agent);
    next_event(&mut events, "the session ended", |e| *e == HubEvent::Disconnected(id)).await;
    let mut agent = RawAgent::welcomed(&cloud, id, token.expose(), None).await;
    agent.send(&AgentMessage::Clock { skew_ms: 2_000 }).await;
    next_event(&mut events, "the new skew stored", |e| *e == HubEvent::Clock(id)).await;
    let router = world.store.router(id).await.unwrap().unwrap();
    assert_eq!(router.clock_skew_ms, Some(2_000));
    assert!(!router.clock_off());
    cloud.stop();
}

async fn a_clock_off_by_more_than_a_minute_alerts_and_shows_on_the_router_page(site: Site) {
    let mut browser = Browser::new(&site);
    browser.sign_up("Clocks", "owner@clocks.example").await;
    let tenant = site.store.find_tenant("Clocks").await.unwrap().unwrap();
    let store = site.store.as_ref();
    let slow = store.create_router(tenant.id, "slow", "hash-slow", now_ms()).await.unwrap().id;
    let fine = store.create_router(tenant.id, "fine", "hash-fine", now_ms()).await.unwrap().id;
    let unknown = store.create_router(tenant.id, "old-agent", "hash-old", now_ms()).await.unwrap().id;
    for router in [slow, fine, unknown] {
        store.router_connected(router, uuid::Uuid::new_v4(), "1.0", now_ms()).await.unwrap();
    }
    store.record_clock_skew(slow, -3 * HOUR_MS, now_ms()).await.unwrap();
    store.record_clock_skew(fine, 3_000, now_ms()).await.unwrap();
    let config = AlertsConfig { allow_private_webhooks: true, ..AlertsConfig::default() };
    let alerts = Alerts::new(
        site.store.clone(),
        Arc::new(NoMailer),
        jasiyo_cloud::payments::sealer::Sealer::new([7; 32]),
        config,
        HubConfig::default().stale_after(),
        "http://x".into(),
    );

    let changes = alerts.evaluate_once(now_ms()).await.unwrap();
    let [Change::Opened(alert)] = changes.as_slice() else { panic!("one alert: {changes:?}") };
    assert_eq!((alert.kind.as_str(), alert.subject.clone()), (AlertKind::ClockSkew.as_str(), slow.to_string()));
    assert!(alert.detail.contains("3 h 0 min slow") && alert.detail.contains("slow"), "{}", alert.detail);
    assert!(alerts.evaluate_once(now_ms()).await.unwrap().is_empty(), "open once");

    let page = browser.get(&format!("/dashboard/routers/{slow}")).await.body;
    assert!(page.contains("clock: 3 h 0 min slow"), "{page}");
    let page = browser.get(&format!("/dashboard/routers/{fine}")).await.body;
    assert!(page.contains("clock: 3 s fast"), "{page}");
    let page = browser.get(&format!("/dashboard/routers/{unknown}")).await.body;
    assert!(!page.contains("clock:"), "an agent of protocol 1 reports no clock");

    // NTP set up: the next session's measure is in step, and the alert closes.
    store.record_clock_skew(slow, 300, now_ms()).await.unwrap();
    let changes = alerts.evaluate_once(now_ms()).await.unwrap();
    assert!(matches!(changes.as_slice(), [Change::Closed(a)] if a.subject == slow.to_string()), "{changes:?}");
    let page = browser.get(&format!("/dashboard/routers/{slow}")).await.body;
    assert!(page.contains("clock: in step"), "{page}");
}

jasiyo_cloud::on_each_backend!(World::new; a_reported_skew_is_stored_with_the_routers_status);

mod page {
    use super::*;
    jasiyo_cloud::on_each_backend!(site; a_clock_off_by_more_than_a_minute_alerts_and_shows_on_the_router_page);
}
