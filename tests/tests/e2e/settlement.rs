//! No payment orphaned, none given up too early (issue 10 §3), through the real HTTP paths
//! and the provider emulators: a push whose answer never came is still settled, by its
//! callback or by reconciliation; a provider that does not answer is asked again after the
//! cut-off; a receipt that comes after a status query settled the payment is kept; a signed
//! webhook for a sale that is not ours is acknowledged and changes nothing.

use std::time::Duration;

use jasiyo_cloud::model::{Payment, PaymentState};
use jasiyo_cloud::providers::ProviderKind;
use jasiyo_tests::harness::{WAIT, World};
use jasiyo_tests::payment_emulator::{Delivery, InjectedFailure, Resolution, paystack_signature};
use serde_json::{Value, json};

use crate::payments::{Shop, shop_with, uuid};

impl Shop {
    /// Waits until the stored payment started with idempotency key `key` satisfies `check`,
    /// re-checking on every payment change and hub event.
    async fn until_payment(&self, key: &str, what: &str, check: impl Fn(&Payment) -> bool) -> Payment {
        let mut payments = self.cloud.payments.changes();
        let mut hub = self.cloud.hub.subscribe();
        let wait = async {
            loop {
                let payment = self.store().payment_by_idempotency(self.creds.id, key).await.unwrap();
                if let Some(payment) = payment.filter(&check) {
                    return payment;
                }
                tokio::select! {
                    _ = payments.changed() => {}
                    _ = hub.recv() => {}
                }
            }
        };
        tokio::time::timeout(WAIT, wait).await.unwrap_or_else(|_| panic!("timed out waiting for the payment: {what}"))
    }

    async fn timeline(&self, payment: &Payment) -> Vec<String> {
        self.store().payment_events(payment.id).await.unwrap().into_iter().map(|e| e.kind).collect()
    }
}

/// The push reached the phone but its answer never reached us (the provider's gateway timed
/// out): the customer saw an error, approved the prompt anyway, and is served once the
/// provider's word arrives, by callback (`delivery` Normal) or by reconciliation (Lost).
async fn unanswered_push_is_settled(world: World, kind: ProviderKind, delivery: Delivery) {
    let s = shop_with(world, kind, |c| c.http.timeout = Duration::from_millis(500)).await;
    s.pay.fail_next(InjectedFailure::AnswerLost);
    let key = uuid();
    let (status, body) = s.start_payment("0722000601", &key).await;
    assert_eq!((status, body["error"].as_str()), (502, Some("provider_error")), "{body}");
    let prompt = s.pay.wait_for_prompt("0722000601", WAIT).await.expect("the push reached the phone");
    let open = s.until_payment(&key, "recorded", |_| true).await;
    assert!(open.state.is_open(), "an unanswered push is not a failed one: {open:?}");
    assert_eq!((open.provider_ref.as_deref(), open.secondary_ref.as_deref()), (None, None));

    s.pay.resolve(&prompt.provider_ref, Resolution::Approve, delivery).await.unwrap();
    let paid = s.until_payment(&key, "paid", |p| p.state == PaymentState::Paid).await;
    assert!(s.store().entitlement_for_payment(paid.id).await.unwrap().is_some());
    let timeline = s.timeline(&paid).await;
    assert!(timeline.contains(&"push_unanswered".to_string()), "{timeline:?}");
    if delivery == Delivery::Normal {
        assert_eq!(s.pay.callbacks().last().and_then(|c| c.status), Some(200), "the callback was taken");
        assert!(timeline.contains(&"reference_adopted".to_string()), "{timeline:?}");
    } else {
        assert!(timeline.contains(&"query".to_string()), "{timeline:?}");
    }
    assert!(s.router.wait_until(WAIT, |r| r.users().len() == 1).await, "the user reached the router");
    s.stop().await;
}

async fn unanswered_push_settled_by_callback(world: World, kind: ProviderKind) {
    unanswered_push_is_settled(world, kind, Delivery::Normal).await;
}

async fn unanswered_push_settled_by_reconciliation(world: World, kind: ProviderKind) {
    unanswered_push_is_settled(world, kind, Delivery::Lost).await;
}

/// The provider does not answer status queries when the payment's cut-off has passed:
/// it is asked again (and again) instead of being called timed out, and the success the
/// customer approved is found.
async fn a_silent_provider_is_asked_again(world: World, kind: ProviderKind) {
    let s = shop_with(world, kind, |c| {
        c.give_up_after = Duration::ZERO; // past the cut-off at the first check
        c.first_check_after = Duration::from_secs(2);
    })
    .await;
    let key = uuid();
    let (status, body) = s.start_payment("0722000602", &key).await;
    assert_eq!(status, 201, "{body}");
    let prompt = s.pay.wait_for_prompt("0722000602", WAIT).await.unwrap();
    s.pay.resolve(&prompt.provider_ref, Resolution::Approve, Delivery::Lost).await.unwrap();
    s.pay.fail_next(InjectedFailure::ServerError);
    s.pay.fail_next(InjectedFailure::ServerError);
    let paid = s.until_payment(&key, "paid", |p| p.state == PaymentState::Paid).await;
    assert_eq!(s.pay.failures_pending(), 0, "both unanswered queries were made");
    assert!(paid.checks >= 2, "asked again after no answer: {paid:?}");
    s.stop().await;
}

/// A status query settles the payment (Daraja's carries no receipt), then the callback
/// comes with the receipt: it is recorded, so "Already paid?" works for this customer.
async fn a_late_receipt_is_recorded(world: World) {
    let s = shop_with(world, ProviderKind::Daraja, |_| {}).await;
    let key = uuid();
    let (status, body) = s.start_payment("0722000603", &key).await;
    assert_eq!(status, 201, "{body}");
    let prompt = s.pay.wait_for_prompt("0722000603", WAIT).await.unwrap();
    s.pay.resolve(&prompt.provider_ref, Resolution::Approve, Delivery::Late(Duration::from_secs(3))).await.unwrap();
    let paid = s.until_payment(&key, "paid by the status query", |p| p.state == PaymentState::Paid).await;
    assert_eq!(paid.receipt, None, "the query carried no receipt");
    let receipt = s.pay.prompt(&prompt.provider_ref).unwrap().receipt.expect("approved with a receipt");
    let kept = s.until_payment(&key, "the late receipt", |p| p.receipt.is_some()).await;
    assert_eq!(kept.receipt.as_deref(), Some(receipt.as_str()));
    assert!(s.timeline(&kept).await.contains(&"receipt".to_string()));
    s.stop().await;
}

/// One Paystack webhook URL hears every sale of the owner's account: a verified event for a
/// reference that is not ours is acknowledged (a refusal is retried for days), nothing else.
async fn a_foreign_paystack_sale_is_acknowledged(world: World) {
    let s = shop_with(world, ProviderKind::Paystack, |_| {}).await;
    let body = json!({"event":"charge.success","data":{"id":7,"status":"success","reference":"T_shop_counter_991","amount":50000,
        "currency":"KES","channel":"mobile_money","gateway_response":"Approved","receipt_number":"SHOPSALE01"}})
    .to_string();
    let signature = paystack_signature(&s.pay.accounts().paystack.secret_key, body.as_bytes());
    let response = s
        .http
        .post(&s.webhook_url)
        .header("content-type", "application/json")
        .header("x-paystack-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["status"], "ignored");
    assert!(s.store().list_payments(s.creds.id, 10).await.unwrap().is_empty());
    s.stop().await;
}

mod daraja {
    use super::*;
    jasiyo_cloud::on_each_backend!(
        World::new;
        unanswered_push_settled_by_callback(ProviderKind::Daraja),
        a_silent_provider_is_asked_again(ProviderKind::Daraja),
    );
}

mod payhero {
    use super::*;
    jasiyo_cloud::on_each_backend!(
        World::new;
        unanswered_push_settled_by_callback(ProviderKind::Payhero),
        a_silent_provider_is_asked_again(ProviderKind::Payhero),
    );
}

mod paystack {
    use super::*;
    jasiyo_cloud::on_each_backend!(
        World::new;
        unanswered_push_settled_by_callback(ProviderKind::Paystack),
        unanswered_push_settled_by_reconciliation(ProviderKind::Paystack),
        a_silent_provider_is_asked_again(ProviderKind::Paystack),
    );
}

jasiyo_cloud::on_each_backend!(
    World::new;
    a_late_receipt_is_recorded,
    a_foreign_paystack_sale_is_acknowledged
);
