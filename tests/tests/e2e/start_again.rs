//! "Wrong number? Start again": the page that started a payment lets its device go
//! (`POST /api/portal/payments/{id}/release` with the view key), so the customer can pay with
//! another number from the same device; the first payment is still followed and honoured,
//! and the phone it prompted still gets no second prompt while the first is open. On both
//! databases.

use jasiyo_cloud::model::PaymentId;
use jasiyo_cloud::providers::ProviderKind;
use jasiyo_tests::harness::*;
use jasiyo_tests::payment_emulator::{Delivery, Resolution};
use serde_json::Value;

use crate::payments::{MAC, Shop, shop_with, uuid};

impl Shop {
    /// Asks the cloud to let the payment's device go, with `key` as the view key.
    async fn release(&self, id: &str, key: Option<&str>) -> (u16, Value) {
        let url = format!("{}/api/portal/payments/{id}/release", self.cloud.http_url());
        let mut request = self.http.post(url);
        if let Some(key) = key {
            request = request.header("x-view-key", key);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }
}

/// Start again frees the device, never the phone; the first payment is honoured if approved.
async fn start_again_frees_the_device_not_the_phone(world: World) {
    // More tries per device and per address than a customer gets: this test makes many.
    let s = shop_with(world, ProviderKind::Daraja, |c| {
        c.limits.per_device = 20;
        c.limits.per_ip = 20;
    })
    .await;
    let (status, first) = s.start_payment("0712 345 678", &uuid()).await;
    assert_eq!(status, 201, "{first}");
    let (id, key) = (first["id"].as_str().unwrap().to_string(), first["view_key"].as_str().unwrap().to_string());
    let prompt = s.pay.wait_for_prompt("254712345678", WAIT).await.expect("the first prompt");

    // Before anyone starts again, the device is held: another number from it is refused.
    let (status, busy) = s.start_payment("0712 345 679", &uuid()).await;
    assert_eq!((status, busy["error"].as_str()), (409, Some("prompt_in_flight")), "{busy}");
    // The payment id alone (which a refusal or a shared screen may give away) frees nothing.
    assert_eq!(s.release(&id, None).await.0, 400);
    assert_eq!(s.release(&id, Some(&"0".repeat(64))).await.0, 400);
    assert_eq!(s.start_payment("0712 345 679", &uuid()).await.0, 409, "still held");

    assert_eq!(s.release(&id, Some(&key)).await, (200, serde_json::json!({"released": true})));
    assert_eq!(s.release(&id, Some(&key)).await, (200, serde_json::json!({"released": false})), "once");
    // The phone's slot stays: no second prompt to the same phone, from this device or another.
    let (status, same) = s.start_payment("0712345678", &uuid()).await;
    assert_eq!((status, same["error"].as_str()), (409, Some("prompt_in_flight")), "{same}");
    assert_eq!(s.start_payment_from("0712345678", &uuid(), "02:AA:BB:CC:DD:09").await.0, 409);
    // Another number from this device: prompted.
    let (status, second) = s.start_payment("0712 345 679", &uuid()).await;
    assert_eq!(status, 201, "{second}");
    s.pay.wait_for_prompt("254712345679", WAIT).await.expect("the second number's prompt");
    assert_eq!(s.pay.prompts().len(), 2, "one prompt per phone");
    // Now the second payment holds the device.
    assert_eq!(s.start_payment("0712 345 670", &uuid()).await.0, 409);

    // The first prompt approved after all: still honoured, on this device.
    s.pay.resolve(&prompt.provider_ref, Resolution::Approve, Delivery::Normal).await.unwrap();
    let first_id: PaymentId = id.parse().unwrap();
    let view = s.until_view(first_id, "online", |v| v["stage"] == "online").await;
    assert_eq!(view["status"], "paid");
    let entitlement = s.store().entitlement_for_payment(first_id).await.unwrap().expect("provisioned");
    assert_eq!(entitlement.device_mac.map(|m| m.to_string()).as_deref(), Some(MAC));
    // Settled: nothing left to let go.
    assert_eq!(s.release(&id, Some(&key)).await, (200, serde_json::json!({"released": false})));
    s.stop().await;
}

jasiyo_cloud::on_each_backend!(World::new; start_again_frees_the_device_not_the_phone);
