//! The money path end to end, through the real HTTP paths: the portal API starts a payment,
//! the provider emulator prompts and calls back in the provider's real format, the cloud
//! records it once and provisions, the agent creates the user on the RouterOS emulator.
//! Every provider, every outcome, on SQLite and PostgreSQL.

use std::time::Duration;

use jasiyo_cloud::model::{NewPlan, PaymentId};
use jasiyo_cloud::providers::ProviderKind;
use jasiyo_cloud::store::{Store, now_ms};
use jasiyo_cloud::token::AgentToken;
use jasiyo_tests::harness::*;
use jasiyo_tests::payment_emulator::{
    Delivery, EmulatorAccounts, InjectedFailure, PaymentEmulator, Provider as EmulatedProvider, Resolution,
};
use jasiyo_tests::routeros_emulator::{EmulatorConfig, RouterOsEmulator};
use serde_json::{Value, json};

pub(crate) const MAC: &str = "02:AA:BB:CC:DD:01";
const IP: &str = "10.5.50.21";

/// One hotspot: a cloud, a router with its agent, a provider emulator, a plan.
pub(crate) struct Shop {
    pub(crate) world: World,
    pub(crate) cloud: TestCloud,
    pub(crate) creds: RouterCreds,
    pub(crate) router: RouterOsEmulator,
    pub(crate) agent: TestAgent,
    pub(crate) pay: PaymentEmulator,
    pub(crate) plan: String,
    pub(crate) http: reqwest::Client,
    /// The tenant's Paystack webhook URL (token included).
    pub(crate) webhook_url: String,
    /// The view key each payment this shop started came with (as the page keeps it).
    pub(crate) view_keys: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

pub(crate) async fn shop_with(world: World, kind: ProviderKind, tune: impl FnOnce(&mut jasiyo_cloud::payments::PaymentsConfig)) -> Shop {
    shop_custom(world, kind, tune, 3600, 0, |_| {}).await
}

/// A shop whose plan lasts `plan_secs` and whose router's clock (as its agent reads it) is
/// `clock_offset_secs` off.
pub(crate) async fn shop_custom(
    world: World,
    kind: ProviderKind,
    tune: impl FnOnce(&mut jasiyo_cloud::payments::PaymentsConfig),
    plan_secs: u64,
    clock_offset_secs: i64,
    tune_plan: impl FnOnce(&mut NewPlan),
) -> Shop {
    let cloud = world.cloud_with_payments(tune).await;
    let store = cloud.store().clone();
    let creds = world.add_router(store.as_ref(), "Kibanda").await;
    let tenant = store.find_tenant("test-tenant").await.unwrap().unwrap();
    let mut plan = NewPlan {
        shared_users: None,
        name: "1 hour".into(),
        price_kes: 20,
        duration_secs: plan_secs,
        data_mb: Some(500),
        rate_limit: None,
        profile: None,
    };
    tune_plan(&mut plan);
    let plan = store.create_plan(tenant.id, &plan, now_ms()).await.unwrap();
    let pay = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let sealed = cloud.payments.seal(&provider_config(kind, &pay)).unwrap();
    let webhook = AgentToken::generate();
    store.set_provider(tenant.id, kind, &sealed, Some(&webhook.hash()), now_ms()).await.unwrap();
    let webhook_url = format!("{}/callbacks/paystack/{}", cloud.http_url(), webhook.expose());
    pay.set_paystack_webhook(&webhook_url);
    let router = RouterOsEmulator::start(EmulatorConfig::default()).await;
    router.add_host(MAC, IP);
    let mut agent = TestAgent::start_routeros_tuned(&cloud.ws_url(), &creds, &world.agent_dir("r"), router.addr(), fast_edge(), |c| {
        c.clock_offset_secs = clock_offset_secs
    });
    agent.connected().await;
    let view_keys = Default::default();
    Shop { world, cloud, creds, router, agent, pay, plan: plan.id.to_string(), http: reqwest::Client::new(), webhook_url, view_keys }
}

async fn shop(world: World, kind: ProviderKind) -> Shop {
    shop_with(world, kind, |_| {}).await
}

impl Shop {
    pub(crate) async fn start_payment(&self, phone: &str, key: &str) -> (u16, Value) {
        self.start_payment_from(phone, key, MAC).await
    }

    pub(crate) async fn start_payment_from(&self, phone: &str, key: &str, mac: &str) -> (u16, Value) {
        self.start_payment_at(phone, key, mac, IP).await
    }

    async fn start_payment_at(&self, phone: &str, key: &str, mac: &str, ip: &str) -> (u16, Value) {
        let body = json!({ "plan_id": self.plan, "phone": phone, "mac": mac, "ip": ip, "idempotency_key": key });
        let url = format!("{}/api/portal/{}/payments", self.cloud.http_url(), self.creds.id);
        let response = self.http.post(url).json(&body).send().await.unwrap();
        let (status, body): (u16, Value) = (response.status().as_u16(), response.json().await.unwrap());
        if let (Some(id), Some(key)) = (body["id"].as_str(), body["view_key"].as_str()) {
            self.view_keys.lock().unwrap().insert(id.to_string(), key.to_string());
        }
        (status, body)
    }

    pub(crate) async fn pay(&self, phone: &str) -> (PaymentId, String) {
        self.pay_from(phone, MAC).await
    }

    async fn pay_from(&self, phone: &str, mac: &str) -> (PaymentId, String) {
        self.pay_at(phone, mac, IP).await
    }

    /// Pays from the device with this MAC and IP.
    pub(crate) async fn pay_at(&self, phone: &str, mac: &str, ip: &str) -> (PaymentId, String) {
        let (status, view) = self.start_payment_at(phone, &uuid(), mac, ip).await;
        assert_eq!(status, 201, "{view}");
        let id: PaymentId = view["id"].as_str().unwrap().parse().unwrap();
        let msisdn = jasiyo_cloud::payments::phone::Msisdn::parse(phone).unwrap().to_string();
        let prompt = self.pay.wait_for_prompt(&msisdn, WAIT).await.expect("the phone got a prompt");
        (id, prompt.provider_ref)
    }

    pub(crate) async fn view(&self, id: PaymentId) -> Value {
        let url = format!("{}/api/portal/payments/{id}", self.cloud.http_url());
        let key = self.view_keys.lock().unwrap().get(&id.to_string()).cloned().unwrap_or_default();
        self.http.get(url).header("x-view-key", key).send().await.unwrap().json().await.unwrap()
    }

    /// Waits until the portal's view of the payment satisfies `check`, re-checking on every
    /// payment change and every hub event.
    pub(crate) async fn until_view(&self, id: PaymentId, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let mut payments = self.cloud.payments.changes();
        let mut hub = self.cloud.hub.subscribe();
        let wait = async {
            loop {
                let view = self.view(id).await;
                if check(&view) {
                    return view;
                }
                tokio::select! {
                    _ = payments.changed() => {}
                    _ = hub.recv() => {}
                }
            }
        };
        tokio::time::timeout(WAIT, wait).await.unwrap_or_else(|_| panic!("timed out waiting for the payment: {what}"))
    }

    pub(crate) fn store(&self) -> &std::sync::Arc<dyn Store> {
        self.cloud.store()
    }

    pub(crate) async fn stop(self) {
        self.agent.stop().await;
        self.cloud.stop().await;
        drop(self.world);
    }
}

pub(crate) fn uuid() -> String {
    uuid_string()
}

fn uuid_string() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Approve: paid, exactly one user on the router, the device logged in, the portal sees it.
async fn approval_provisions_exactly_one_user(world: World, kind: ProviderKind) {
    let s = shop(world, kind).await;
    let (id, reference) = s.pay("0712 345 678").await;
    let waiting = s.view(id).await;
    assert_eq!(waiting["stage"], "waiting_for_approval");
    assert!(waiting["wait_secs"].as_u64().unwrap() > 80);
    s.pay.resolve(&reference, Resolution::Approve, Delivery::Normal).await.unwrap();
    let view = s.until_view(id, "online", |v| v["stage"] == "online").await;
    assert_eq!(view["status"], "paid");
    let username = view["login"]["username"].as_str().unwrap();
    let users = s.router.users();
    assert_eq!(users.len(), 1, "exactly one user");
    assert_eq!(users[0].name, username);
    assert_eq!(users[0].password, view["login"]["password"].as_str().unwrap());
    assert_eq!(users[0].mac_address.as_deref(), Some(MAC));
    assert_eq!(users[0].limit_bytes_total, Some(500 * 1024 * 1024));
    assert_eq!(users[0].limit_uptime.as_deref(), Some("1h"), "the router's own backstop: the plan's length");
    s.router.wait_until(WAIT, |r| r.active().iter().any(|a| a.user == username)).await;
    // The payment id alone (a shared screen, a guess, a refused request of old) shows the
    // status, never the login or the receipt: those need the view key the page was given.
    let url = format!("{}/api/portal/payments/{id}", s.cloud.http_url());
    for key in [None, Some("00".repeat(32)), Some("not hex".to_string())] {
        let mut request = s.http.get(&url);
        if let Some(key) = &key {
            request = request.header("x-view-key", key);
        }
        let stranger: Value = request.send().await.unwrap().json().await.unwrap();
        assert_eq!((stranger["status"].as_str(), stranger["stage"].as_str()), (Some("paid"), Some("online")), "{stranger}");
        assert!(stranger["login"].is_null() && stranger["receipt"].is_null(), "{key:?}: {stranger}");
        assert!(stranger.get("view_key").is_none(), "{stranger}");
    }
    let receipt = view["receipt"].as_str().unwrap_or_default();
    match kind {
        // Paystack's test mode (the emulator's) gives every M-Pesa charge the same receipt.
        ProviderKind::Paystack => assert_eq!(receipt, "10101", "{view}"),
        _ => assert_eq!(receipt.len(), 10, "{view}"),
    }
    let timeline: Vec<String> = s.store().payment_events(id).await.unwrap().into_iter().map(|e| e.kind).collect();
    for step in ["initiated", "prompt_sent", "callback", "paid", "entitlement_created"] {
        assert!(timeline.iter().any(|k| k == step), "{step} missing from {timeline:?}");
    }
    s.stop().await;
}

/// Every failure ends in the right state with the right reason, and nobody gets a user.
async fn failures_end_in_the_right_state(world: World, kind: ProviderKind) {
    let s = shop(world, kind).await;
    let cases = [
        (Resolution::Cancel, "cancelled", "cancelled"),
        (Resolution::WrongPin, "failed", "wrong_pin"),
        (Resolution::InsufficientFunds, "failed", "insufficient_funds"),
        (Resolution::Timeout, "timed_out", "timeout"),
    ];
    for (i, (resolution, status, reason)) in cases.into_iter().enumerate() {
        let (id, reference) = s.pay(&format!("07123456{i:02}")).await;
        s.pay.resolve(&reference, resolution, Delivery::Normal).await.unwrap();
        // Paystack sends no webhook for failures: reconciliation (verify) finds them.
        let view = s.until_view(id, status, |v| v["status"] != "pending" && v["status"] != "initiated").await;
        assert_eq!(view["status"], status, "{resolution:?}: {view}");
        assert_eq!(view["stage"], "failed");
        if kind != ProviderKind::Paystack {
            assert_eq!(view["reason"], reason, "{resolution:?}");
        }
    }
    assert!(s.router.users().is_empty());
    s.stop().await;
}

/// The callback is lost; asking the provider settles the payment.
async fn lost_callbacks_are_resolved_by_reconciliation(world: World, kind: ProviderKind) {
    let s = shop(world, kind).await;
    let (id, reference) = s.pay("0722000111").await;
    s.pay.resolve(&reference, Resolution::Approve, Delivery::Lost).await.unwrap();
    let view = s.until_view(id, "online", |v| v["stage"] == "online").await;
    assert_eq!(view["status"], "paid");
    let timeline: Vec<String> = s.store().payment_events(id).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert!(timeline.iter().any(|k| k == "query"), "{timeline:?}");
    assert_eq!(s.router.users().len(), 1);
    s.stop().await;
}

/// Paystack passes its fees to the customer (`amount` = requested + fees): the payment is
/// still paid, by the webhook and by Verify, since the amount checked is the one requested.
async fn paystack_fees_paid_by_the_customer_do_not_refuse_a_payment(world: World) {
    let s = shop(world, ProviderKind::Paystack).await;
    s.pay.paystack_fees_on_customer(true);
    let (id, reference) = s.pay("0722000112").await;
    s.pay.resolve(&reference, Resolution::Approve, Delivery::Normal).await.unwrap();
    assert_eq!(s.pay.callbacks().last().and_then(|c| c.status), Some(200), "the webhook was taken");
    assert_eq!(s.until_view(id, "online", |v| v["stage"] == "online").await["status"], "paid");
    let (id, reference) = s.pay_from("0722000113", "02:AA:BB:CC:DD:13").await;
    s.pay.resolve(&reference, Resolution::Approve, Delivery::Lost).await.unwrap();
    assert_eq!(s.until_view(id, "paid by Verify", |v| v["status"] == "paid" || v["stage"] == "failed").await["status"], "paid");
    s.stop().await;
}

/// Paystack's `abandoned` inside its 180 s window (4 s here) is not a failure: the portal
/// counts down for the window, reconciliation first asks after it, and an operator's recheck
/// that hears `abandoned` early leaves the payment open; the approval is then found.
async fn paystack_abandoned_is_not_a_failure_inside_its_window(world: World) {
    let window = Duration::from_secs(4);
    let s = shop_with(world, ProviderKind::Paystack, |c| {
        c.paystack_window = window;
        c.portal_wait = Duration::from_secs(1);
    })
    .await;
    s.pay.paystack_pending_reads_abandoned(true);
    let (id, reference) = s.pay("0722000114").await;
    let view = s.view(id).await;
    assert!(view["wait_secs"].as_u64().unwrap() >= 2, "the countdown follows Paystack's window: {view}");
    let payment = s.store().payment(id).await.unwrap().unwrap();
    let first_check = payment.next_check_at.expect("a check is scheduled");
    assert!(first_check >= payment.created_at + window.as_millis() as i64, "Verify is not asked inside the window: {payment:?}");

    let rechecked = s.cloud.payments.recheck(id).await.unwrap();
    assert!(rechecked.state.is_open(), "abandoned inside the window is not final: {rechecked:?}");
    assert_eq!(s.view(id).await["status"], "pending");

    s.pay.resolve(&reference, Resolution::Approve, Delivery::Lost).await.unwrap();
    let view = s.until_view(id, "paid after the window", |v| v["status"] == "paid" || v["stage"] == "failed").await;
    assert_eq!(view["status"], "paid", "{view}");
    s.stop().await;
}

/// Ten identical callbacks at once: one payment, one entitlement, one user.
async fn duplicate_callbacks_have_one_effect(world: World, kind: ProviderKind) {
    let s = shop(world, kind).await;
    let (id, reference) = s.pay("0722000222").await;
    s.pay.resolve(&reference, Resolution::Approve, Delivery::Duplicate(10)).await.unwrap();
    s.until_view(id, "online", |v| v["stage"] == "online").await;
    assert_eq!(s.router.users().len(), 1);
    let adds = s.router.command_log().iter().filter(|c| *c == "/ip/hotspot/user/add").count();
    assert_eq!(adds, 1);
    let commands = s.store().list_commands(s.creds.id, 100).await.unwrap();
    assert_eq!(commands.iter().filter(|c| c.command.kind() == "upsert_hotspot_user").count(), 1);
    s.stop().await;
}

/// The portal stopped waiting, then the success arrives: still provisioned.
async fn late_success_still_provisions(world: World, kind: ProviderKind) {
    let s = shop_with(world, kind, |c| {
        c.portal_wait = Duration::from_millis(500);
        c.first_check_after = Duration::from_secs(600); // only the callback can settle it
    })
    .await;
    let (id, reference) = s.pay("0722000333").await;
    s.until_view(id, "the portal gives up", |v| v["wait_secs"] == 0).await;
    s.pay.resolve(&reference, Resolution::Approve, Delivery::Late(Duration::from_millis(800))).await.unwrap();
    let view = s.until_view(id, "online", |v| v["stage"] == "online").await;
    assert_eq!(view["status"], "paid");
    assert_eq!(s.router.users().len(), 1);
    s.stop().await;
}

/// Forged, unknown, mismatched and badly signed callbacks change nothing, and all get the
/// same answer (a caller learns nothing about which tokens or payments exist).
async fn forged_callbacks_change_nothing(world: World, kind: ProviderKind) {
    let s = shop_with(world, kind, |c| c.first_check_after = Duration::from_secs(600)).await;
    let (id, reference) = s.pay("0722000444").await;
    let base = s.cloud.http_url();
    let post = |url: String, body: Value, headers: Vec<(&'static str, String)>| {
        let mut request = s.http.post(url).json(&body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            assert_eq!((status, &body), (400, &json!({"error": "callback refused"})), "every refusal reads the same");
            status
        }
    };
    let success_from = |reference: &str, amount: u64, phone: u64| match kind {
        ProviderKind::Daraja => json!({"Body":{"stkCallback":{"MerchantRequestID":"1","CheckoutRequestID":reference,"ResultCode":0,
            "ResultDesc":"ok","CallbackMetadata":{"Item":[{"Name":"Amount","Value":amount},{"Name":"MpesaReceiptNumber","Value":"FORGED0001"},
            {"Name":"TransactionDate","Value":20261128120000u64},{"Name":"PhoneNumber","Value":phone}]}}}}),
        ProviderKind::Payhero => {
            json!({"forward_url":"","response":{"Amount":amount,"CheckoutRequestID":reference,"ExternalReference":id.to_string(),
            "MerchantRequestID":"1","MpesaReceiptNumber":"FORGED0001","Phone":format!("+{phone}"),"ResultCode":0,"ResultDesc":"ok","Status":"Success"},"status":true})
        }
        ProviderKind::Paystack => {
            json!({"event":"charge.success","data":{"id":1,"status":"success","reference":reference,"amount":amount * 100,
            "currency":"KES","channel":"mobile_money","gateway_response":"Approved","receipt_number":"FORGED0001"}})
        }
    };
    let success = |reference: &str, amount: u64| success_from(reference, amount, 254722000444);
    // A token that matches nothing.
    let unknown = format!("{base}/callbacks/{}/{}", kind.as_str(), "0".repeat(64));
    assert_eq!(post(unknown, success(&reference, 20), vec![]).await, 400);
    let unknown_provider = format!("{base}/callbacks/mpesa/{}", "0".repeat(64));
    assert_eq!(post(unknown_provider, success(&reference, 20), vec![]).await, 400);
    if kind == ProviderKind::Paystack {
        // Right URL, no signature / a wrong one.
        let url = s.webhook_url.clone();
        assert_eq!(post(url.clone(), success(&reference, 20), vec![]).await, 400);
        assert_eq!(post(url, success(&reference, 20), vec![("x-paystack-signature", "ab".repeat(64))]).await, 400);
    } else {
        // The payment's own callback URL, with another reference or the wrong amount.
        let prompt = s.pay.prompt(&reference).unwrap();
        let url = prompt.callback_url.unwrap();
        let other = if kind == ProviderKind::Daraja { "ws_CO_000000000000".to_string() } else { "NOPE".into() };
        assert_eq!(post(url.clone(), success(&other, 20), vec![]).await, 400);
        assert_eq!(post(url.clone(), success(&reference, 1), vec![]).await, 400);
        // The right reference and amount from another phone: someone who learnt the URL.
        assert_eq!(post(url.clone(), success_from(&reference, 20, 254722000999), vec![]).await, 400);
        assert_eq!(post(url, json!({"garbage": true}), vec![]).await, 400);
    }
    let view = s.view(id).await;
    assert_eq!(view["status"], "pending", "nothing changed: {view}");
    assert!(s.store().entitlement_for_payment(id).await.unwrap().is_none());
    // The real approval still works afterwards.
    s.pay.resolve(&reference, Resolution::Approve, Delivery::Normal).await.unwrap();
    s.until_view(id, "online", |v| v["stage"] == "online").await;
    s.stop().await;
}

/// Provider errors and timeouts reach the portal as clear reasons.
async fn provider_errors_surface_clearly(world: World, kind: ProviderKind) {
    let s = shop_with(world, kind, |c| c.http.timeout = Duration::from_millis(500)).await;
    if kind == ProviderKind::Daraja {
        s.pay.fail_next(InjectedFailure::DarajaLockSubscriber);
        let (status, body) = s.start_payment("0722000555", &uuid()).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["error"], "provider_busy");
    }
    // Credentials refused: the push never left, the payment failed. (Daraja's client tries
    // once more with a fresh token: its OAuth is refused too.)
    let refusals = if kind == ProviderKind::Daraja { 2 } else { 1 };
    for _ in 0..refusals {
        s.pay.fail_next(InjectedFailure::Unauthorized);
    }
    let (status, body) = s.start_payment_from("0722000556", &uuid(), "02:AA:BB:CC:DD:56").await;
    assert_eq!((status, body["error"].as_str()), (502, Some("provider_error")), "{body}");
    assert_eq!(s.pay.failures_pending(), 0);
    // An unanswered push (server error, timeout) may still reach the phone: its payment
    // stays open, unconfirmed, and holds the device's prompt slot (so each attempt here
    // comes from another device).
    s.pay.fail_next(InjectedFailure::ServerError);
    let (status, body) = s.start_payment_from("0722000557", &uuid(), "02:AA:BB:CC:DD:57").await;
    assert_eq!((status, &body["unconfirmed"], &body["status"]), (202, &json!(true), &json!("initiated")), "{body}");
    s.pay.fail_next(InjectedFailure::Hang);
    let (status, body) = s.start_payment_from("0722000558", &uuid(), "02:AA:BB:CC:DD:58").await;
    assert_eq!((status, &body["unconfirmed"]), (202, &json!(true)), "{body}");
    assert!(body["view_key"].is_string(), "the page follows it: {body}");
    s.stop().await;
}

/// The portal's guards: phone mistakes explained, one prompt at a time, idempotency.
async fn portal_guards(world: World, kind: ProviderKind) {
    let s = shop(world, kind).await;
    let (status, body) = s.start_payment("0712 34", &uuid()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_phone")));
    assert!(body["message"].as_str().unwrap().contains("length"));
    let key = uuid();
    let (status, first) = s.start_payment("0733 123 456", &key).await;
    assert_eq!(status, 201, "{first}");
    assert!(first["hint"].as_str().unwrap().contains("Airtel"));
    let (status, again) = s.start_payment("0733 123 456", &key).await;
    assert_eq!(status, 201);
    assert_eq!(again["id"], first["id"], "the same key gives the same payment");
    let (status, busy) = s.start_payment("0733123456", &uuid()).await;
    assert_eq!((status, busy["error"].as_str()), (409, Some("prompt_in_flight")));
    // The refusal names no payment (it may be another customer's): only an error and a message.
    let fields: Vec<&String> = busy.as_object().unwrap().keys().collect();
    assert_eq!(fields, ["error", "message"], "{busy}");
    assert!(!busy.to_string().contains(first["id"].as_str().unwrap()), "{busy}");
    // Another device starting a payment for the same phone learns nothing either.
    let (status, other) = s.start_payment_from("0733123456", &uuid(), "02:AA:BB:CC:DD:09").await;
    assert_eq!((status, other.as_object().unwrap().len()), (409, 2), "{other}");
    assert_eq!(s.pay.prompts().len(), 1, "one prompt only");
    let url = format!("{}/api/portal/{}/plans", s.cloud.http_url(), s.creds.id);
    let plans: Value = s.http.get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(plans["plans"][0]["price_kes"], 20);
    s.stop().await;
}

/// The owner switches provider while two customers' prompts are out: both still settle
/// through the provider they were started with, one by its callback (for Paystack, at the
/// old webhook URL), one by asking that provider when the callback is lost. New payments use
/// the new provider.
async fn payments_in_flight_survive_a_provider_switch(world: World, kind: ProviderKind) {
    let s = shop(world, kind).await;
    let (called_back, first) = s.pay_from("0722000701", "02:00:00:00:07:01").await;
    let (asked, second) = s.pay_from("0722000702", "02:00:00:00:07:02").await;
    let next = if kind == ProviderKind::Daraja { ProviderKind::Payhero } else { ProviderKind::Daraja };
    let tenant = s.store().find_tenant("test-tenant").await.unwrap().unwrap();
    let sealed = s.cloud.payments.seal(&provider_config(next, &s.pay)).unwrap();
    s.store().set_provider(tenant.id, next, &sealed, Some(&AgentToken::generate().hash()), now_ms()).await.unwrap();

    s.pay.resolve(&first, Resolution::Approve, Delivery::Normal).await.unwrap();
    s.pay.resolve(&second, Resolution::Approve, Delivery::Lost).await.unwrap();
    for id in [called_back, asked] {
        let view = s.until_view(id, "online", |v| v["stage"] == "online").await;
        assert_eq!(view["status"], "paid");
    }
    assert_eq!(s.router.users().len(), 2);

    let (_, third) = s.pay_from("0722000703", "02:00:00:00:07:03").await;
    let expected = match next {
        ProviderKind::Daraja => EmulatedProvider::Daraja,
        _ => EmulatedProvider::PayHero,
    };
    assert_eq!(s.pay.prompt(&third).unwrap().provider, expected, "new payments go to the new provider");
    s.stop().await;
}

/// Daraja: one OAuth token serves every payment and every cloud instance.
async fn daraja_token_is_shared(world: World) {
    let s = shop(world, ProviderKind::Daraja).await;
    for (phone, mac) in [("0722000666", "02:00:00:00:06:66"), ("0722000667", "02:00:00:00:06:67")] {
        s.pay_from(phone, mac).await;
    }
    let second = s.world.cloud_with_payments(|_| {}).await;
    let body = json!({ "plan_id": s.plan, "phone": "0722000668", "idempotency_key": uuid() });
    let url = format!("{}/api/portal/{}/payments", second.http_url(), s.creds.id);
    assert_eq!(s.http.post(url).json(&body).send().await.unwrap().status().as_u16(), 201);
    assert_eq!(s.pay.token_requests(), 1, "one token for all");
    second.stop().await;
    s.stop().await;
}

/// Paystack's test mode gives every M-Pesa charge the receipt "10101": the second and later
/// customers are served like the first (a payment is its provider reference; a receipt seen
/// twice is flagged on the timeline, not refused).
async fn paystack_test_receipts_serve_every_customer(world: World) {
    let s = shop(world, ProviderKind::Paystack).await;
    let (second_mac, second_ip) = ("02:AA:BB:CC:DD:02", "10.5.50.22");
    s.router.add_host(second_mac, second_ip);
    let mut paid = Vec::new();
    for (phone, mac, ip) in [("0712 345 601", MAC, IP), ("0712 345 602", second_mac, second_ip)] {
        let (id, reference) = s.pay_at(phone, mac, ip).await;
        s.pay.resolve(&reference, Resolution::Approve, Delivery::Normal).await.unwrap();
        let view = s.until_view(id, "online", |v| v["stage"] == "online").await;
        assert_eq!((view["status"].as_str(), view["receipt"].as_str()), (Some("paid"), Some("10101")), "{view}");
        paid.push((id, view["login"]["username"].as_str().unwrap().to_string()));
    }
    let names: Vec<String> = s.router.users().into_iter().map(|u| u.name).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(paid.iter().all(|(_, user)| names.contains(user)), "{names:?}");
    let flagged: Vec<String> = s.store().payment_events(paid[1].0).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert!(flagged.contains(&"receipt_shared".to_string()), "{flagged:?}");
    s.stop().await;
}

/// Five customers' pages press Pay for one phone at the same moment (five devices, five
/// keys): the database lets exactly one prompt through. The same phone on another router
/// is another slot: that router's page is not told of this one's open payment.
async fn concurrent_prompts_for_one_phone_give_one(world: World) {
    let s = shop(world, ProviderKind::Daraja).await;
    let shop = &s;
    let starts = (0..5).map(|i| {
        let key = uuid();
        let mac = format!("02:AA:BB:CC:EE:{i:02}");
        async move { shop.start_payment_from("0712 777 888", &key, &mac).await }
    });
    let answers = futures_util::future::join_all(starts).await;
    let statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{answers:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 4, "{answers:?}");
    s.pay.wait_for_prompt("254712777888", WAIT).await.expect("the one prompt");
    assert_eq!(s.pay.prompts().len(), 1, "one prompt reached the phone");

    let other = s.world.add_router(s.store().as_ref(), "Next door").await;
    let body = json!({ "plan_id": s.plan, "phone": "0712 777 888", "mac": "02:AA:BB:CC:EE:99", "ip": IP, "idempotency_key": uuid() });
    let url = format!("{}/api/portal/{}/payments", s.cloud.http_url(), other.id);
    let answer: Value = s.http.post(url).json(&body).send().await.unwrap().json().await.unwrap();
    // The phone itself may still refuse (M-Pesa's one prompt per phone, its rate limit), but
    // not because of this router's open payment.
    assert_ne!(answer["error"], "prompt_in_flight", "{answer}");
    s.stop().await;
}

/// A client cannot pick its own rate-limit key: forwarding headers from a client that is
/// not a trusted proxy are ignored (here: huge and all different), and the attempts are
/// counted on the socket's address.
async fn forged_forwarding_headers_do_not_escape_the_limit(world: World) {
    let s = shop_with(world, ProviderKind::Daraja, |c| c.limits.per_ip = 3).await;
    let url = format!("{}/api/portal/{}/payments", s.cloud.http_url(), s.creds.id);
    let mut answers = Vec::new();
    for i in 0..4 {
        let body = json!({ "plan_id": s.plan, "phone": format!("0712 000 10{i}"), "mac": format!("02:AA:BB:CC:FF:0{i}"), "ip": IP, "idempotency_key": uuid() });
        let forged = format!("{}.{i}.{i}.{i}", "9".repeat(20_000));
        let response = s
            .http
            .post(&url)
            .header("x-forwarded-for", &forged)
            .header("x-real-ip", format!("203.0.113.{i}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        answers.push((response.status().as_u16(), response.json::<Value>().await.unwrap()));
    }
    let statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
    assert_eq!(statuses, [201, 201, 201, 429], "{answers:?}");
    assert_eq!(answers[3].1["error"], "rate_limited_ip", "{answers:?}");
    s.stop().await;
}

/// Every provider's tests, on each backend.
mod daraja {
    use super::*;
    jasiyo_cloud::on_each_backend!(
        World::new;
        approval_provisions_exactly_one_user(ProviderKind::Daraja),
        failures_end_in_the_right_state(ProviderKind::Daraja),
        lost_callbacks_are_resolved_by_reconciliation(ProviderKind::Daraja),
        duplicate_callbacks_have_one_effect(ProviderKind::Daraja),
        late_success_still_provisions(ProviderKind::Daraja),
        forged_callbacks_change_nothing(ProviderKind::Daraja),
        provider_errors_surface_clearly(ProviderKind::Daraja),
        portal_guards(ProviderKind::Daraja),
        payments_in_flight_survive_a_provider_switch(ProviderKind::Daraja),
    );
}

/// Every provider's tests, on each backend.
mod payhero {
    use super::*;
    jasiyo_cloud::on_each_backend!(
        World::new;
        approval_provisions_exactly_one_user(ProviderKind::Payhero),
        failures_end_in_the_right_state(ProviderKind::Payhero),
        lost_callbacks_are_resolved_by_reconciliation(ProviderKind::Payhero),
        duplicate_callbacks_have_one_effect(ProviderKind::Payhero),
        late_success_still_provisions(ProviderKind::Payhero),
        forged_callbacks_change_nothing(ProviderKind::Payhero),
        provider_errors_surface_clearly(ProviderKind::Payhero),
        portal_guards(ProviderKind::Payhero),
        payments_in_flight_survive_a_provider_switch(ProviderKind::Payhero),
    );
}

/// Every provider's tests, on each backend.
mod paystack {
    use super::*;
    jasiyo_cloud::on_each_backend!(
        World::new;
        approval_provisions_exactly_one_user(ProviderKind::Paystack),
        failures_end_in_the_right_state(ProviderKind::Paystack),
        lost_callbacks_are_resolved_by_reconciliation(ProviderKind::Paystack),
        duplicate_callbacks_have_one_effect(ProviderKind::Paystack),
        late_success_still_provisions(ProviderKind::Paystack),
        forged_callbacks_change_nothing(ProviderKind::Paystack),
        provider_errors_surface_clearly(ProviderKind::Paystack),
        portal_guards(ProviderKind::Paystack),
        payments_in_flight_survive_a_provider_switch(ProviderKind::Paystack),
        paystack_fees_paid_by_the_customer_do_not_refuse_a_payment,
        paystack_abandoned_is_not_a_failure_inside_its_window,
    );
}

jasiyo_cloud::on_each_backend!(
    World::new;
    daraja_token_is_shared,
    paystack_test_receipts_serve_every_customer,
    concurrent_prompts_for_one_phone_give_one,
    forged_forwarding_headers_do_not_escape_the_limit
);
