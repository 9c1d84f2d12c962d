//! The operator's metrics, read the way Prometheus reads them: a payment runs end to end
//! (portal, provider emulator, callback, agent, RouterOS emulator) and `/metrics`, served on
//! its own listener, shows every counter it should have moved; a router whose agent is away
//! shows in the offline count and the outbox gauges; the public listener serves no metrics.

use jasiyo_cloud::providers::ProviderKind;
use jasiyo_tests::harness::*;
use jasiyo_tests::payment_emulator::{Delivery, Resolution};
use serde_json::json;

use crate::payments::shop_with;

/// The value of the series written exactly as `series` (name and labels) in `text`.
pub(crate) fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.split(' ').next()?.parse().ok())
}

/// [`sample`], failing the test with the whole text when the series is missing.
pub(crate) fn value(text: &str, series: &str) -> f64 {
    sample(text, series).unwrap_or_else(|| panic!("no series {series} in:\n{text}"))
}

async fn a_payment_moves_the_counters(world: World) {
    let s = shop_with(world, ProviderKind::Daraja, |_| {}).await;
    let before = s.cloud.metrics().await;
    let waits_before = value(&before, "jasiyo_db_pool_wait_seconds_count");
    assert_eq!(sample(&before, r#"jasiyo_payments_total{provider="daraja",outcome="paid"}"#), None, "nothing paid yet");
    assert_eq!(value(&before, "jasiyo_agents_connected"), 1.0);
    assert_eq!(value(&before, r#"jasiyo_routers{state="online"}"#), 1.0);

    let (id, reference) = s.pay("0712 345 678").await;
    s.pay.resolve(&reference, Resolution::Approve, Delivery::Normal).await.unwrap();
    s.until_view(id, "online", |v| v["stage"] == "online").await;
    s.cloud.until_finished(s.creds.id, 1).await;
    // A callback at a URL that is no payment's.
    let forged = s.http.post(format!("{}/callbacks/daraja/not-a-token", s.cloud.http_url())).json(&json!({})).send().await.unwrap();
    assert_eq!(forged.status().as_u16(), 400);

    let text = s.cloud.metrics().await;
    assert_eq!(value(&text, r#"jasiyo_payments_total{provider="daraja",outcome="started"}"#), 1.0);
    assert_eq!(value(&text, r#"jasiyo_payments_total{provider="daraja",outcome="paid"}"#), 1.0);
    assert_eq!(value(&text, r#"jasiyo_payment_initiate_to_callback_seconds_count{provider="daraja"}"#), 1.0);
    assert!(value(&text, r#"jasiyo_payment_initiate_to_callback_seconds_sum{provider="daraja"}"#) > 0.0);
    assert_eq!(value(&text, r#"jasiyo_provider_request_seconds_count{provider="daraja",call="push"}"#), 1.0);
    assert_eq!(value(&text, r#"jasiyo_callbacks_refused_total{provider="daraja",reason="unknown_token"}"#), 1.0);
    assert!(value(&text, r#"jasiyo_commands_total{result="applied"}"#) >= 1.0);
    assert!(value(&text, "jasiyo_command_enqueue_to_result_seconds_count") >= 1.0);
    assert_eq!(value(&text, "jasiyo_agent_sessions_total"), 1.0);
    assert_eq!(value(&text, "jasiyo_outbox_depth"), 0.0);
    assert_eq!(value(&text, "jasiyo_payments_open"), 0.0);
    // Requests are counted by route template, never by the raw path with its router id.
    assert_eq!(value(&text, r#"jasiyo_http_requests_total{route="/api/portal/{router}/payments",method="POST",status="201"}"#), 1.0);
    assert!(value(&text, r#"jasiyo_http_requests_total{route="/callbacks/{provider}/{token}",method="POST",status="400"}"#) >= 1.0);
    assert!(!text.contains(&s.creds.id.to_string()), "no series names the router: {text}");
    assert!(!text.contains("not-a-token"));
    assert!(value(&text, r#"jasiyo_db_connections{state="max"}"#) >= 1.0);
    // Every statement of the payment took a connection: the waits moved, and were counted
    // into the buckets (the largest one holds them all).
    let waits = value(&text, "jasiyo_db_pool_wait_seconds_count");
    assert!(waits > waits_before + 10.0, "pool waits {waits_before} -> {waits}");
    assert_eq!(value(&text, r#"jasiyo_db_pool_wait_seconds_bucket{le="+Inf"}"#), waits);
    assert!(value(&text, "jasiyo_db_pool_wait_seconds_sum") > 0.0);

    // Metrics are only on their own listener.
    let public = s.http.get(format!("{}/metrics", s.cloud.http_url())).send().await.unwrap();
    assert_eq!(public.status().as_u16(), 404);
    s.stop().await;
}

async fn an_unreachable_router_shows_in_the_outbox_gauges(world: World) {
    let cloud = world.cloud().await;
    let store = cloud.store().clone();
    let away = world.add_router(store.as_ref(), "away").await;
    for i in 0..3 {
        cloud.hub.enqueue(away.id, &remove_user(i)).await.unwrap();
    }
    let text = cloud.metrics().await;
    assert_eq!(value(&text, r#"jasiyo_routers{state="offline"}"#), 1.0);
    assert_eq!(value(&text, r#"jasiyo_routers{state="online"}"#), 0.0);
    assert_eq!(value(&text, "jasiyo_outbox_depth"), 3.0);
    assert_eq!(value(&text, &format!(r#"jasiyo_outbox_top_depth{{router="{}"}}"#, away.id)), 3.0);
    assert!(value(&text, &format!(r#"jasiyo_outbox_top_oldest_seconds{{router="{}"}}"#, away.id)) >= 0.0);
    assert_eq!(value(&text, "jasiyo_agents_connected"), 0.0);
    cloud.stop().await;
}

jasiyo_cloud::on_each_backend!(
    World::new;
    a_payment_moves_the_counters(),
    an_unreachable_router_shows_in_the_outbox_gauges(),
);
