//! No payment orphaned, none given up too early (issue 10 §3), through the real HTTP paths
//! and the provider emulators: a push whose answer never came is still settled, by its
//! callback or by reconciliation; a provider that does not answer is asked again after the
//! cut-off; a receipt that comes after a status query settled the payment is kept; a signed
//! webhook for a sale that is not ours is acknowledged and changes nothing. [`backlog`]: a
//! backlog of open payments is asked about side by side.

mod backlog;

use std::time::Duration;

use jasiyo_cloud::model::{Payment, PaymentState};
use jasiyo_cloud::providers::ProviderKind;
use jasiyo_tests::harness::{TEST_SECRET_KEY, WAIT, World, provider_config};
use jasiyo_tests::payment_emulator::{Delivery, InjectedFailure, Resolution, paystack_signature};
use jasiyo_tests::processes::binary;
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
    assert_eq!((status, &body["unconfirmed"]), (202, &json!(true)), "{body}");
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

/// PayHero answered the push with its `reference` only, no `CheckoutRequestID`: the
/// callback, which carries Safaricom's `CheckoutRequestID` and our `ExternalReference`, is
/// matched by our reference and the customer is served.
async fn a_payhero_push_without_checkout_id_is_matched(world: World) {
    let s = shop_with(world, ProviderKind::Payhero, |_| {}).await;
    s.pay.payhero_push_without_checkout_id(true);
    let key = uuid();
    let (status, body) = s.start_payment("0722000604", &key).await;
    assert_eq!(status, 201, "{body}");
    let prompt = s.pay.wait_for_prompt("0722000604", WAIT).await.unwrap();
    let open = s.until_payment(&key, "prompt sent", |p| p.provider_ref.is_some()).await;
    assert_eq!((open.provider_ref.as_deref(), open.secondary_ref.as_deref()), (Some(prompt.provider_ref.as_str()), None));
    // At the payment's own URL, a success naming another payment of ours is refused.
    let forged = json!({"forward_url":"","response":{"Amount":20,"CheckoutRequestID":prompt.checkout_request_id,
        "ExternalReference":uuid::Uuid::new_v4().to_string(),"MerchantRequestID":"1","MpesaReceiptNumber":"FORGED0002",
        "Phone":"+254722000604","ResultCode":0,"ResultDesc":"ok","Status":"Success"},"status":true});
    let url = prompt.callback_url.clone().expect("a callback URL");
    assert_eq!(s.http.post(url).json(&forged).send().await.unwrap().status().as_u16(), 400);
    assert!(s.until_payment(&key, "still open", |_| true).await.state.is_open());

    s.pay.resolve(&prompt.provider_ref, Resolution::Approve, Delivery::Normal).await.unwrap();
    assert_eq!(s.pay.callbacks().last().and_then(|c| c.status), Some(200), "the callback was taken");
    let paid = s.until_payment(&key, "paid", |p| p.state == PaymentState::Paid).await;
    assert!(paid.receipt.is_some(), "the callback's receipt is recorded: {paid:?}");
    assert!(s.router.wait_until(WAIT, |r| r.users().len() == 1).await, "the user reached the router");
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

/// One tenant's provider hangs on every status query; another tenant's lost callback is
/// still found by reconciliation at once, not after the first tenant's queries time out.
async fn a_dead_provider_delays_no_other_tenant(world: World) {
    use jasiyo_cloud::model::NewPlan;
    use jasiyo_cloud::store::now_ms;
    use jasiyo_cloud::token::AgentToken;
    use jasiyo_tests::payment_emulator::{EmulatorAccounts, PaymentEmulator};

    // Longer than the test waits: a check stuck behind the dead provider would fail it.
    let s = shop_with(world, ProviderKind::Daraja, |c| {
        c.http.timeout = WAIT * 3;
        c.first_check_after = Duration::from_secs(1);
    })
    .await;
    let (status, body) = s.start_payment("0722000606", &uuid()).await;
    assert_eq!(status, 201, "{body}");
    s.pay.wait_for_prompt("0722000606", WAIT).await.unwrap();
    for _ in 0..4 {
        s.pay.fail_next(InjectedFailure::Hang);
    }

    // A second tenant, its own router, plan and provider.
    let store = s.store().clone();
    let other = store.create_tenant("other-tenant", now_ms()).await.unwrap();
    let router = store.create_router(other.id, "kiosk", &AgentToken::generate().hash(), now_ms()).await.unwrap();
    let plan = NewPlan {
        shared_users: None,
        name: "1 hour".into(),
        price_kes: 20,
        duration_secs: 3600,
        data_mb: None,
        rate_limit: None,
        profile: None,
    };
    let plan = store.create_plan(other.id, &plan, now_ms()).await.unwrap();
    let pay = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let sealed = s.cloud.payments.seal(&provider_config(ProviderKind::Daraja, &pay)).unwrap();
    store.set_provider(other.id, ProviderKind::Daraja, &sealed, Some(&AgentToken::generate().hash()), now_ms()).await.unwrap();
    let key = uuid();
    let body = json!({"plan_id": plan.id.to_string(), "phone": "0722000607", "mac": "02:AA:BB:CC:DD:07", "ip": "10.5.50.7", "idempotency_key": key});
    let url = format!("{}/api/portal/{}/payments", s.cloud.http_url(), router.id);
    let response = s.http.post(url).json(&body).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let prompt = pay.wait_for_prompt("0722000607", WAIT).await.unwrap();
    pay.resolve(&prompt.provider_ref, Resolution::Approve, Delivery::Lost).await.unwrap();

    let mut changes = s.cloud.payments.changes();
    let paid = tokio::time::timeout(WAIT, async {
        loop {
            let payment = store.payment_by_idempotency(router.id, &key).await.unwrap().unwrap();
            if payment.state == PaymentState::Paid {
                return payment;
            }
            changes.changed().await.unwrap();
        }
    })
    .await
    .expect("the other tenant's payment was settled while the first tenant's provider hung");
    assert!(s.pay.failures_pending() < 4, "the first tenant's provider was being asked (and hung)");
    assert_eq!(paid.tenant_id, other.id);
    pay.stop().await;
    s.stop().await;
}

/// Runs `jasiyo-cloud <args>` on the shop's database and sealing key, as an operator would.
async fn operator_output(s: &Shop, args: &[&str]) -> std::process::Output {
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD.encode(TEST_SECRET_KEY);
    tokio::process::Command::new(binary("jasiyo-cloud"))
        .args(["--database-url", &s.world.database_url, "--data-dir"])
        .arg(s.world.dir.path())
        .args(args)
        .env("JASIYO_SEALING_KEY", key)
        .env("NO_COLOR", "1")
        .output()
        .await
        .unwrap()
}

/// [`operator_output`]: its standard output, or a panic with what it said.
async fn operator(s: &Shop, args: &[&str]) -> String {
    let out = operator_output(s, args).await;
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// "I paid but I'm not online": the callback was lost and nothing asked the provider yet;
/// `payment recheck` asks now, and the customer is served.
async fn an_operator_recheck_serves_the_customer(world: World) {
    let s = shop_with(world, ProviderKind::Daraja, |c| c.first_check_after = Duration::from_secs(600)).await;
    let key = uuid();
    let (status, body) = s.start_payment("0722000604", &key).await;
    assert_eq!(status, 201, "{body}");
    let prompt = s.pay.wait_for_prompt("0722000604", WAIT).await.unwrap();
    s.pay.resolve(&prompt.provider_ref, Resolution::Approve, Delivery::Lost).await.unwrap();
    let open = s.until_payment(&key, "pending", |p| p.provider_ref.is_some()).await;
    let said = operator(&s, &["payment", "recheck", &open.id.to_string()]).await;
    assert!(said.contains("the payment is paid"), "{said}");
    let paid = s.until_payment(&key, "paid", |p| p.state == PaymentState::Paid).await;
    assert!(s.timeline(&paid).await.contains(&"recheck".to_string()));
    assert!(s.router.wait_until(WAIT, |r| r.users().len() == 1).await, "the user reached the router");
    let again = operator(&s, &["payment", "recheck", &open.id.to_string()]).await;
    assert!(again.contains("is paid; nothing to ask"), "{again}");
    s.stop().await;
}

/// The provider cannot be asked (a push answer lost, its callback too) but the customer shows
/// the M-Pesa message: `payment settle` serves them and keeps the reason on the record.
async fn an_operator_settle_is_audited(world: World) {
    let s = shop_with(world, ProviderKind::Daraja, |c| {
        c.http.timeout = Duration::from_millis(500);
        c.first_check_after = Duration::from_secs(600);
    })
    .await;
    s.pay.fail_next(InjectedFailure::AnswerLost);
    let key = uuid();
    let (status, _) = s.start_payment("0722000605", &key).await;
    assert_eq!(status, 202);
    let prompt = s.pay.wait_for_prompt("0722000605", WAIT).await.unwrap();
    s.pay.resolve(&prompt.provider_ref, Resolution::Approve, Delivery::Lost).await.unwrap();
    let open = s.until_payment(&key, "recorded", |_| true).await;
    let id = open.id.to_string();
    let refused = operator_output(&s, &["payment", "recheck", &id]).await;
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && why.contains("no provider reference"), "{why}");
    let said = operator(&s, &["payment", "settle", &id, "--receipt", "tk12ab34cd", "--reason", "statement checked by Wanjiku"]).await;
    assert!(said.contains("paid (settled by the operator)"), "{said}");
    let paid = s.until_payment(&key, "paid", |p| p.state == PaymentState::Paid).await;
    assert_eq!(paid.receipt.as_deref(), Some("TK12AB34CD"));
    let events = s.store().payment_events(paid.id).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "operator" && e.detail.contains("statement checked by Wanjiku")), "{events:?}");
    assert!(s.router.wait_until(WAIT, |r| r.users().len() == 1).await, "the user reached the router");
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
        a_payhero_push_without_checkout_id_is_matched,
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
    a_foreign_paystack_sale_is_acknowledged,
    an_operator_recheck_serves_the_customer,
    an_operator_settle_is_audited,
    a_dead_provider_delays_no_other_tenant
);
