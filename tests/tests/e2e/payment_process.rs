//! The payment emulator as its own process (`payment-emulator --control`), as the chaos run
//! uses it, with the real cloud binary: a tenant per provider (Daraja, PayHero, Paystack
//! side by side on one emulator), a customer of each pays through the portal, the prompt
//! shows up on the control channel, is approved through it, the emulator calls back
//! (Paystack: its signed webhook, whose URL is set through the channel at run time) and the
//! cloud marks the payment paid. A failure injected through the channel reaches the cloud.
//!
//! Run on both databases: one cloud process and a few payments, a few seconds each.

use std::time::Duration;

use jasiyo_cloud::model::{PaymentState, ProviderKind};
use jasiyo_cloud::store::{Store, now_ms};
use jasiyo_cloud::token::AgentToken;
use jasiyo_tests::harness::{RouterCreds, WAIT, World, init_logs};
use jasiyo_tests::payment_emulator::{Delivery, InjectedFailure, PromptState, Provider, Resolution};
use jasiyo_tests::payment_process::PaymentProcess;
use jasiyo_tests::processes::CloudProcess;
use jasiyo_tests::shop::{Shop, sealing_key_env, shop};
use serde_json::json;

/// One tenant paid through `kind`, with its router and plan.
struct Merchant {
    kind: ProviderKind,
    creds: RouterCreds,
    shop: Shop,
}

async fn merchant(store: &dyn Store, kind: ProviderKind, pay: &PaymentProcess) -> Merchant {
    let tenant = store.create_tenant(&format!("process-{}", kind.as_str()), now_ms()).await.unwrap();
    let token = AgentToken::generate();
    let router = store.create_router(tenant.id, kind.as_str(), &token.hash(), now_ms()).await.unwrap();
    let creds = RouterCreds { id: router.id, token: token.expose().to_string() };
    let shop = shop(store, tenant.id, kind, pay).await.unwrap();
    Merchant { kind, creds, shop }
}

/// Starts a payment at `m`'s portal from `phone`; the HTTP status and body.
async fn start_payment(base: &str, m: &Merchant, phone: &str, key: &str, n: u8) -> (u16, serde_json::Value) {
    let body = json!({"plan_id": m.shop.plan.id.to_string(), "phone": phone, "mac": format!("02:00:00:00:0F:{n:02X}"),
        "ip": format!("10.5.50.{n}"), "idempotency_key": key});
    let url = format!("{base}/api/portal/{}/payments", m.creds.id);
    let response = reqwest::Client::new().post(url).json(&body).send().await.expect("the portal answers");
    (response.status().as_u16(), response.json().await.unwrap_or_default())
}

/// Waits (bounded) until the payment `key` of `m` is paid in the cloud.
async fn until_paid(store: &dyn Store, m: &Merchant, key: &str) -> bool {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut tick = tokio::time::interval(Duration::from_millis(25));
    while tokio::time::Instant::now() < deadline {
        tick.tick().await;
        let payment = store.payment_by_idempotency(m.creds.id, key).await.unwrap();
        if payment.is_some_and(|p| p.state == PaymentState::Paid) {
            return true;
        }
    }
    false
}

async fn each_provider_paid_through_the_emulator_process(world: World) {
    init_logs();
    let store = world.store().await;
    let pay = PaymentProcess::start().await.expect("the payment emulator starts");
    let mut merchants = Vec::new();
    for kind in [ProviderKind::Daraja, ProviderKind::Payhero, ProviderKind::Paystack] {
        merchants.push(merchant(store.as_ref(), kind, &pay).await);
    }
    let (key_name, key) = sealing_key_env();
    let cloud = CloudProcess::spawn_with(&world.database_url, world.dir.path(), "127.0.0.1:0", &[(key_name, key.as_str())]).await;
    let base = format!("http://{}", cloud.addr);
    pay.set_paystack_webhook(&merchants[2].shop.paystack_webhook(&base)).await;

    for (n, m) in merchants.iter().enumerate() {
        let (phone, key) = (format!("07220031{n:02}"), format!("process-{}", m.kind.as_str()));
        let (status, body) = start_payment(&base, m, &phone, &key, n as u8 + 10).await;
        assert_eq!(status, 201, "{:?}'s push: {body}", m.kind);
        let prompt = pay.wait_for_prompt(&phone, WAIT).await.expect("the prompt reached the phone");
        let provider = match m.kind {
            ProviderKind::Daraja => Provider::Daraja,
            ProviderKind::Payhero => Provider::PayHero,
            ProviderKind::Paystack => Provider::Paystack,
        };
        assert_eq!((prompt.provider, prompt.state, prompt.amount_kes), (provider, PromptState::Pending, 20), "{prompt:?}");
        assert_eq!(pay.prompt(&prompt.provider_ref).await.as_ref(), Some(&prompt), "the same prompt by its reference");

        pay.resolve(&prompt.provider_ref, Resolution::Approve, Delivery::Normal).await.expect("resolved");
        let resolved = pay.prompt(&prompt.provider_ref).await.expect("still there");
        assert_eq!(resolved.state, PromptState::Resolved(Resolution::Approve));
        assert!(resolved.receipt.is_some(), "an approval has a receipt");
        let callbacks = pay.callbacks().await;
        let sent: Vec<_> = callbacks.iter().filter(|c| c.provider_ref == prompt.provider_ref).collect();
        assert_eq!(sent.len(), 1, "one callback for {:?}: {callbacks:?}", m.kind);
        assert_eq!(sent[0].status, Some(200), "the cloud took the {:?} callback at {}", m.kind, sent[0].url);
        assert!(sent[0].url.starts_with(&base), "it went to the cloud: {}", sent[0].url);
        assert!(until_paid(store.as_ref(), m, &key).await, "the {:?} payment is paid in the cloud", m.kind);
        let paid = store.payment_by_idempotency(m.creds.id, &key).await.unwrap().expect("written");
        assert!(store.entitlement_for_payment(paid.id).await.unwrap().is_some(), "the customer is entitled");
        // A second resolution is refused, with the emulator's reason.
        let again = pay.resolve(&prompt.provider_ref, Resolution::Approve, Delivery::Normal).await;
        assert!(again.is_err_and(|e| e.to_string().starts_with("409")), "resolved twice");
    }
    assert_eq!(pay.prompts().await.len(), 3);

    // The provider fails the next request: the cloud's push gets PayHero's 500 and the portal
    // says the payment is not confirmed yet; no prompt reaches the phone.
    pay.fail_next(InjectedFailure::ServerError).await;
    assert_eq!(pay.failures_pending().await, 1);
    let (status, body) = start_payment(&base, &merchants[1], "0722003199", "process-failed", 40).await;
    assert_eq!((status, &body["unconfirmed"], &body["status"]), (202, &json!(true), &json!("initiated")), "{body}");
    assert_eq!(pay.failures_pending().await, 0, "the cloud's request took the failure");
    assert_eq!(pay.prompts().await.len(), 3, "no prompt for the failed push");

    cloud.kill().await;
    pay.kill().await;
}

jasiyo_cloud::on_each_backend!(World::new; each_provider_paid_through_the_emulator_process);
