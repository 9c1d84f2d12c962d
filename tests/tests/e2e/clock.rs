//! A router whose clock is hours off (its agent's clock moved by the test-only offset): a
//! paid customer still gets the plan's full time, counted in the cloud's time, and is
//! removed when it ends; the skew is stored with the router's status and opens the
//! "clock skew" alert. On SQLite and PostgreSQL, router three hours fast and three hours
//! slow.

use std::sync::Arc;

use jasiyo_cloud::alerts::{AlertKind, Alerts, AlertsConfig, Change};
use jasiyo_cloud::hub::HubConfig;
use jasiyo_cloud::notify::NoMailer;
use jasiyo_cloud::providers::ProviderKind;
use jasiyo_cloud::store::now_ms;
use jasiyo_shared::AgentEvent;
use jasiyo_tests::harness::*;
use jasiyo_tests::payment_emulator::{Delivery, Resolution};

use crate::payments::shop_custom;

/// Short, so the test sees the expiry; long enough that an agent taking the router's clock
/// at its word would be off by far more than it (three hours).
const PLAN_SECS: u64 = 15;
const HOUR_MS: i64 = 3_600_000;

async fn a_paid_customer_gets_the_full_plan_on_a_router_whose_clock_is_off(world: World, offset_hours: i64) {
    let s = shop_custom(world, ProviderKind::Daraja, |_| {}, PLAN_SECS, offset_hours * 3600, |_| {}).await;
    let router = s.creds.id;

    // The skew is measured at the welcome and stored with the router's status.
    s.cloud
        .until("the skew stored", async |store: &dyn jasiyo_cloud::store::Store| {
            store.router(router).await.unwrap().unwrap().clock_skew_ms.is_some_and(|skew| (skew - offset_hours * HOUR_MS).abs() < 5_000)
        })
        .await;

    let (id, reference) = s.pay("0712 345 678").await;
    s.pay.resolve(&reference, Resolution::Approve, Delivery::Normal).await.unwrap();
    let view = s.until_view(id, "online", |v| v["stage"] == "online").await;
    let username = view["login"]["username"].as_str().unwrap().to_string();
    let progress = s.store().payment_progress(id).await.unwrap().unwrap();
    let expires_at = progress.entitlement.unwrap().expires_at;
    let paid_at = progress.payment.paid_at.unwrap() / 1000;
    assert!((expires_at - paid_at - PLAN_SECS as i64).abs() <= 1, "the plan's length from payment: {expires_at} vs {paid_at}");
    // Created (not refused as already expired), and kept until the cloud's expiry...
    assert!(s.router.users().iter().any(|u| u.name == username), "the user is on the router");

    // ...then removed at the expiry by the cloud's clock, not three hours early or late.
    let name = username.clone();
    let gone = s.router.wait_until(WAIT, move |r| !r.users().iter().any(|u| u.name == name)).await;
    assert!(gone, "the user is removed within {WAIT:?} of being created for {PLAN_SECS} s");
    let removed_at = now_ms() / 1000;
    assert!(removed_at >= expires_at, "removed at {removed_at}, before its expiry {expires_at}");
    assert!(removed_at <= expires_at + 5, "removed at {removed_at}, long after its expiry {expires_at}");

    // The agent reports the expiry in the cloud's time.
    let mut events = s.cloud.hub.subscribe();
    let expired = async {
        loop {
            let found = s
                .store()
                .list_events(router, 10)
                .await
                .unwrap()
                .into_iter()
                .find(|e| matches!(&e.event, AgentEvent::UserExpired { name, .. } if *name == username));
            if let Some(found) = found {
                return found;
            }
            let _ = events.recv().await;
        }
    };
    let event = tokio::time::timeout(WAIT, expired).await.expect("the expiry reported");
    assert!((event.happened_at - expires_at).abs() <= 5, "reported at {} for an expiry at {expires_at}", event.happened_at);

    // Hours off: the alert opens.
    let alerts = Alerts::new(
        s.store().clone(),
        Arc::new(NoMailer),
        jasiyo_cloud::payments::sealer::Sealer::new([7; 32]),
        AlertsConfig::default(),
        HubConfig::default().stale_after(),
        "http://x".into(),
    );
    let changes = alerts.evaluate_once(now_ms()).await.unwrap();
    let clock = changes.iter().find_map(|c| match c {
        Change::Opened(a) if a.kind == AlertKind::ClockSkew.as_str() && a.subject == router.to_string() => Some(a.clone()),
        _ => None,
    });
    let clock = clock.unwrap_or_else(|| panic!("a clock alert: {changes:?}"));
    let way = if offset_hours > 0 { "fast" } else { "slow" };
    assert!(clock.detail.contains(&format!("{} h 0 min {way}", offset_hours.abs())), "{}", clock.detail);
    s.stop().await;
}

async fn three_hours_fast(world: World) {
    a_paid_customer_gets_the_full_plan_on_a_router_whose_clock_is_off(world, 3).await;
}

async fn three_hours_slow(world: World) {
    a_paid_customer_gets_the_full_plan_on_a_router_whose_clock_is_off(world, -3).await;
}

jasiyo_cloud::on_each_backend!(World::new; three_hours_fast, three_hours_slow);
