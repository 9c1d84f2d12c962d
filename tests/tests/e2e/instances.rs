//! Several instances on one database (in one process here; `cluster.rs` runs them as
//! processes behind HAProxy), on both databases:
//! - Daraja's OAuth token: each new token invalidates the last (Safaricom's FAQ;
//!   `../shared/reference/providers.md` A.2), so two instances that both find no token must
//!   not both fetch one. Customers start payments on two instances at once with nothing
//!   cached and the provider answering slowly: one token is fetched, and every push is made
//!   with it.
//! - Reconciliation: with three instances running it, each payment whose callback was lost
//!   is asked about once, by one of them, and its customer is served once.

use std::time::Duration;

use jasiyo_cloud::payments::PaymentsConfig;
use jasiyo_cloud::providers::ProviderKind;
use jasiyo_cloud::store::testing::Backend;
use jasiyo_tests::harness::World;
use jasiyo_tests::payment_emulator::{Delivery, Resolution};
use serde_json::json;

use crate::payments::shop_with;

async fn instances_fetch_one_token_between_them(world: World) {
    let s = shop_with(world, ProviderKind::Daraja, |_| {}).await;
    let second = s.world.cloud_with_payments(|_| {}).await;
    // Every answer, the OAuth one included, takes this long: the instances' fetches overlap.
    s.pay.set_latency(Duration::from_millis(400));
    let starts = (0..4).map(|i| {
        let base = if i % 2 == 0 { s.cloud.http_url() } else { second.http_url() };
        let body = json!({ "plan_id": s.plan, "phone": format!("07220009{i:02}"), "mac": format!("02:00:00:00:09:{i:02}"),
            "ip": format!("10.5.50.{}", 90 + i), "idempotency_key": format!("token-{i}") });
        let request = s.http.post(format!("{base}/api/portal/{}/payments", s.creds.id)).json(&body).send();
        async move { request.await.unwrap().status().as_u16() }
    });
    let statuses = futures_util::future::join_all(starts).await;
    assert_eq!(statuses, vec![201; 4], "every customer's push was made");
    assert_eq!(s.pay.token_requests(), 1, "one token fetched between the two instances");
    assert_eq!(s.pay.prompts().len(), 4);
    second.stop().await;
    s.stop().await;
}

async fn instances_ask_about_each_payment_once(world: World) {
    // Every prompt is answered before its first check is due.
    let tune = |config: &mut PaymentsConfig| config.first_check_after = Duration::from_secs(1);
    let s = shop_with(world, ProviderKind::Daraja, tune).await;
    let others = [s.world.cloud_with_payments(tune).await, s.world.cloud_with_payments(tune).await];
    let mut lost = Vec::new();
    for i in 0..6 {
        let (mac, ip) = (format!("02:00:00:00:0A:{i:02}"), format!("10.5.50.{}", 100 + i));
        let (id, reference) = s.pay_at(&format!("07220008{i:02}"), &mac, &ip).await;
        s.pay.resolve(&reference, Resolution::Approve, Delivery::Lost).await.unwrap();
        lost.push((id, reference));
    }
    for (id, _) in &lost {
        s.until_view(*id, "online through reconciliation", |v| v["stage"] == "online").await;
    }
    let asked: Vec<usize> = lost.iter().map(|(_, reference)| s.pay.status_queries(reference)).collect();
    assert_eq!(asked, vec![1; 6], "each payment asked about once among three instances");
    let commands = s.store().list_commands(s.creds.id, 100).await.unwrap();
    assert_eq!(commands.iter().filter(|c| c.command.kind().starts_with("upsert_hotspot_user")).count(), 6, "one user per customer");
    for cloud in others {
        cloud.stop().await;
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_instances_ask_about_each_payment_once() {
    let Some(world) = World::new(Backend::Sqlite).await else { return };
    instances_ask_about_each_payment_once(world).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_instances_ask_about_each_payment_once() {
    let Some(world) = World::new(Backend::Postgres).await else { return };
    instances_ask_about_each_payment_once(world).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_instances_fetch_one_token_between_them() {
    let Some(world) = World::new(Backend::Sqlite).await else { return };
    instances_fetch_one_token_between_them(world).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_instances_fetch_one_token_between_them() {
    let Some(world) = World::new(Backend::Postgres).await else { return };
    instances_fetch_one_token_between_them(world).await;
}
