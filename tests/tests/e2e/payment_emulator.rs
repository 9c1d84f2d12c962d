//! The payment emulator over real HTTP, driven with raw reqwest calls: Daraja OAuth, every
//! STK push validation error, push / query / resolve / callback for each resolution,
//! duplicate, lost and late delivery, subscriber locks; PayHero push, status and callbacks;
//! Paystack charge, verify and the signed webhook; injected faults; auto mode; the phone
//! page. Callbacks land in a tiny in-test receiver that feeds a channel; every wait is on
//! that channel or the emulator's `changes()` under a timeout, never a sleep.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use jasiyo_tests::payment_emulator::{
    DarajaAccount, Delivery, EmulatorAccounts, InjectedFailure, PaymentEmulator, PromptState, Provider, Resolution, SANDBOX_PASSKEY,
    daraja_timestamp,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha512;
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};

/// The longest any single wait may take.
const WAIT: Duration = Duration::from_secs(10);

/// A callback as the receiver saw it.
#[derive(Debug)]
struct Captured {
    /// Path and query.
    target: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Captured {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("callback body is JSON")
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("callback header {name} missing"))
    }
}

/// A merchant endpoint on an ephemeral port that accepts any POST and passes it on.
struct Hook {
    base: String,
    received: mpsc::UnboundedReceiver<Captured>,
}

impl Hook {
    async fn start() -> Hook {
        async fn capture(
            State(tx): State<mpsc::UnboundedSender<Captured>>,
            uri: Uri,
            headers: HeaderMap,
            body: Bytes,
        ) -> axum::Json<Value> {
            let target = uri.path_and_query().map(|p| p.to_string()).unwrap_or_default();
            let _ = tx.send(Captured { target, headers, body });
            axum::Json(json!({"ResultCode": 0, "ResultDesc": "Accepted"}))
        }
        let (tx, received) = mpsc::unbounded_channel();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind hook");
        let base = format!("http://{}", listener.local_addr().expect("hook address"));
        let app = Router::new().fallback(capture).with_state(tx);
        tokio::spawn(async move { axum::serve(listener, app).await.expect("hook server") });
        Hook { base, received }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The next callback; panics if none comes in time.
    async fn next(&mut self) -> Captured {
        timeout(WAIT, self.received.recv()).await.expect("no callback in time").expect("hook closed")
    }

    /// Asserts nothing arrived that was not taken yet.
    fn assert_quiet(&mut self) {
        if let Ok(extra) = self.received.try_recv() {
            panic!("unexpected callback: {} {}", extra.target, String::from_utf8_lossy(&extra.body));
        }
    }
}

fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs() as i64
}

fn password(short_code: &str, timestamp: &str) -> String {
    BASE64.encode(format!("{short_code}{SANDBOX_PASSKEY}{timestamp}"))
}

/// A valid sandbox Paybill push.
fn push_body(phone: &str, callback_url: &str) -> Value {
    let timestamp = daraja_timestamp(now_unix());
    json!({
        "BusinessShortCode": "174379",
        "Password": password("174379", &timestamp),
        "Timestamp": timestamp,
        "TransactionType": "CustomerPayBillOnline",
        "Amount": "10",
        "PartyA": phone,
        "PartyB": "174379",
        "PhoneNumber": phone,
        "CallBackURL": callback_url,
        "AccountReference": "JASIYO1",
        "TransactionDesc": "Wi-Fi 1 hour",
    })
}

/// A raw HTTP client for one emulator.
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(emulator: &PaymentEmulator) -> Api {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Api { http, base: emulator.base_url() }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn read(response: reqwest::Response) -> (StatusCode, Value) {
        let status = response.status();
        let body = response.bytes().await.expect("body");
        (status, serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned())))
    }

    async fn oauth(&self, key: &str, secret: &str, grant: &str) -> (StatusCode, Value) {
        let request = self.http.get(self.url(&format!("/oauth/v1/generate?grant_type={grant}"))).basic_auth(key, Some(secret));
        Api::read(request.send().await.expect("oauth")).await
    }

    async fn token(&self) -> String {
        let (status, body) = self.oauth("ck_test", "cs_test", "client_credentials").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().expect("access_token").to_string()
    }

    async fn post(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        Api::read(self.http.post(self.url(path)).bearer_auth(token).json(body).send().await.expect("post")).await
    }

    async fn push(&self, token: &str, body: &Value) -> (StatusCode, Value) {
        self.post("/mpesa/stkpush/v1/processrequest", token, body).await
    }

    async fn query(&self, token: &str, checkout_id: &str) -> (StatusCode, Value) {
        let timestamp = daraja_timestamp(now_unix());
        let body = json!({"BusinessShortCode": 174379, "Password": password("174379", &timestamp), "Timestamp": timestamp, "CheckoutRequestID": checkout_id});
        self.post("/mpesa/stkpushquery/v1/query", token, &body).await
    }

    /// Pushes and returns the `CheckoutRequestID`.
    async fn push_ok(&self, token: &str, phone: &str, callback_url: &str) -> String {
        let (status, body) = self.push(token, &push_body(phone, callback_url)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["CheckoutRequestID"].as_str().expect("CheckoutRequestID").to_string()
    }

    async fn payhero_push(&self, body: &Value) -> (StatusCode, Value) {
        let request = self.http.post(self.url("/api/v2/payments")).basic_auth("ph_user", Some("ph_pass")).json(body);
        Api::read(request.send().await.expect("payhero push")).await
    }

    async fn payhero_status(&self, reference: &str) -> (StatusCode, Value) {
        let request =
            self.http.get(self.url(&format!("/api/v2/transaction-status?reference={reference}"))).basic_auth("ph_user", Some("ph_pass"));
        Api::read(request.send().await.expect("payhero status")).await
    }

    async fn paystack_charge(&self, body: &Value) -> (StatusCode, Value) {
        self.post("/charge", "sk_test_jasiyo", body).await
    }

    async fn paystack_verify(&self, reference: &str) -> (StatusCode, Value) {
        let request = self.http.get(self.url(&format!("/transaction/verify/{reference}"))).bearer_auth("sk_test_jasiyo");
        Api::read(request.send().await.expect("verify")).await
    }
}

/// Asserts a Daraja error answer.
fn assert_daraja_error((status, body): &(StatusCode, Value), want_status: u16, code: &str, message: &str) {
    assert_eq!(
        (status.as_u16(), body["errorCode"].as_str(), body["errorMessage"].as_str()),
        (want_status, Some(code), Some(message)),
        "{body}"
    );
    assert!(body["requestId"].as_str().is_some_and(|id| !id.is_empty()), "{body}");
}

fn payhero_body(phone: &str, callback_url: Option<&str>) -> Value {
    let mut body = json!({"amount": 20, "phone_number": phone, "channel_id": 911, "provider": "m-pesa", "external_reference": "INV-1", "customer_name": "Jane"});
    if let Some(url) = callback_url {
        body["callback_url"] = json!(url);
    }
    body
}

fn paystack_body(phone: &str, cents: u64, reference: &str) -> Value {
    json!({
        "email": "hotspot+254710000000@jasiyo.test",
        "amount": cents,
        "currency": "KES",
        "mobile_money": {"phone": phone, "provider": "mpesa"},
        "reference": reference,
        "metadata": {"plan": "1h"},
    })
}

fn is_receipt(text: &str) -> bool {
    text.len() == 10 && text.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[tokio::test]
async fn daraja_oauth_errors_and_a_new_token_invalidates_the_old() {
    let emulator = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let api = Api::new(&emulator);
    assert_daraja_error(&api.oauth("ck_test", "wrong", "client_credentials").await, 400, "400.008.01", "Invalid Authentication passed");
    assert_daraja_error(&api.oauth("ck_test", "cs_test", "password").await, 400, "400.008.02", "Invalid grant type passed");
    let (status, body) =
        Api::read(api.http.get(api.url("/oauth/v1/generate?grant_type=client_credentials")).send().await.expect("oauth")).await;
    assert_eq!((status.as_u16(), &body["errorCode"]), (400, &json!("400.008.01")), "no Authorization header");

    let (status, body) = api.oauth("ck_test", "cs_test", "client_credentials").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["expires_in"], json!("3599"), "{body}");
    let first = body["access_token"].as_str().expect("token").to_string();
    assert_eq!(first.len(), 28);
    let hook = Hook::start().await;
    api.push_ok(&first, "254708374149", &hook.url("/cb")).await;

    let second = api.token().await;
    assert_ne!(first, second);
    assert_daraja_error(&api.push(&first, &push_body("254708374150", &hook.url("/cb"))).await, 404, "404.001.03", "Invalid Access Token");
    assert_daraja_error(&api.query(&first, "ws_CO_x").await, 404, "404.001.03", "Invalid Access Token");
    assert_daraja_error(&api.push("", &push_body("254708374150", &hook.url("/cb"))).await, 404, "404.001.03", "Invalid Access Token");
    api.push_ok(&second, "254708374150", &hook.url("/cb")).await;
    assert_eq!(emulator.token_requests(), 5, "every OAuth call counts, good or bad");
}

#[tokio::test]
async fn daraja_refuses_each_bad_push_field_like_daraja() {
    let emulator = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let api = Api::new(&emulator);
    let token = api.token().await;
    let callback = "https://merchant.example/cb/t0k3n";
    let stale = daraja_timestamp(now_unix() - 2 * 3600);
    let early = daraja_timestamp(now_unix() + 2 * 3600);
    let invalid = |field: &str| (400, "400.002.02", format!("Bad Request - Invalid {field}"));
    // (field, new value or None to remove it, (expected status, code, message))
    type Case = (&'static str, Option<Value>, (u16, &'static str, String));
    let cases: Vec<Case> = vec![
        ("BusinessShortCode", Some(json!("17437A")), invalid("BusinessShortCode")),
        ("BusinessShortCode", None, invalid("BusinessShortCode")),
        ("BusinessShortCode", Some(json!("600000")), (500, "500.001.1001", "Merchant does not exist".into())),
        ("Password", Some(json!(BASE64.encode("174379wrongpasskey20240101000000"))), (500, "500.001.1001", "Wrong credentials".into())),
        ("Password", None, (500, "500.001.1001", "Wrong credentials".into())),
        ("Timestamp", Some(json!("2024010112")), invalid("Timestamp")),
        ("Timestamp", Some(json!("20241301120000")), invalid("Timestamp")),
        ("Timestamp", None, invalid("Timestamp")),
        ("TransactionType", Some(json!("CustomerBuyGoodsOnline")), invalid("TransactionType")),
        ("TransactionType", Some(json!("PayBill")), invalid("TransactionType")),
        ("Amount", Some(json!("1.5")), invalid("Amount")),
        ("Amount", Some(json!(10.5)), invalid("Amount")),
        ("Amount", Some(json!(0)), invalid("Amount")),
        ("Amount", Some(json!("-5")), invalid("Amount")),
        ("Amount", None, invalid("Amount")),
        ("PartyA", Some(json!("0708374149")), invalid("PartyA")),
        ("PartyA", None, invalid("PartyA")),
        ("PartyB", Some(json!("600000")), invalid("PartyB")),
        ("PhoneNumber", Some(json!("+254708374149")), invalid("PhoneNumber")),
        ("PhoneNumber", Some(json!("254608374149")), invalid("PhoneNumber")),
        ("PhoneNumber", Some(json!("25470837414")), invalid("PhoneNumber")),
        ("PhoneNumber", None, invalid("PhoneNumber")),
        ("CallBackURL", Some(json!("not a url")), invalid("CallBackURL")),
        ("CallBackURL", Some(json!("ftp://merchant.example/cb")), invalid("CallBackURL")),
        ("CallBackURL", None, invalid("CallBackURL")),
        ("AccountReference", Some(json!("ABCDEFGHIJKLM")), invalid("AccountReference")),
        ("AccountReference", None, invalid("AccountReference")),
        ("TransactionDesc", Some(json!("ABCDEFGHIJKLMN")), invalid("TransactionDesc")),
    ];
    for (field, value, (status, code, message)) in cases {
        let mut body = push_body("254708374149", callback);
        match value {
            Some(value) => body[field] = value,
            None => {
                body.as_object_mut().expect("object").remove(field);
            }
        }
        let answer = api.push(&token, &body).await;
        assert_daraja_error(&answer, status, code, &message);
    }
    for timestamp in [stale, early] {
        let mut body = push_body("254708374149", callback);
        body["Password"] = json!(password("174379", &timestamp));
        body["Timestamp"] = json!(timestamp);
        assert_daraja_error(&api.push(&token, &body).await, 400, "400.002.02", "Bad Request - Invalid Timestamp");
    }
    // A body sent without `Content-Type: application/json` reads as no short code.
    let raw = api
        .http
        .post(api.url("/mpesa/stkpush/v1/processrequest"))
        .bearer_auth(&token)
        .body(push_body("254708374149", callback).to_string());
    assert_daraja_error(&Api::read(raw.send().await.expect("push")).await, 400, "400.002.02", "Bad Request - Invalid BusinessShortCode");
    assert!(emulator.prompts().is_empty(), "no refused push makes a prompt");

    // Numbers where the docs use numbers, and no TransactionDesc, are fine.
    let mut body = push_body("254708374149", callback);
    body["BusinessShortCode"] = json!(174379);
    body["Amount"] = json!(1);
    body["PartyA"] = json!(254708374149u64);
    body["PartyB"] = json!(174379);
    body["PhoneNumber"] = json!(254708374149u64);
    body.as_object_mut().expect("object").remove("TransactionDesc");
    let (status, answer) = api.push(&token, &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(emulator.prompts()[0].amount_kes, 1);

    // Query: the same credential checks, then a CheckoutRequestID.
    let timestamp = daraja_timestamp(now_unix());
    let bad_password = json!({"BusinessShortCode": "174379", "Password": "eA==", "Timestamp": timestamp, "CheckoutRequestID": "ws_CO_1"});
    assert_daraja_error(&api.post("/mpesa/stkpushquery/v1/query", &token, &bad_password).await, 500, "500.001.1001", "Wrong credentials");
    let no_id = json!({"BusinessShortCode": "174379", "Password": password("174379", &timestamp), "Timestamp": timestamp});
    assert_daraja_error(
        &api.post("/mpesa/stkpushquery/v1/query", &token, &no_id).await,
        400,
        "400.002.02",
        "Bad Request - Invalid CheckoutRequestID",
    );
    assert_daraja_error(&api.query(&token, "ws_CO_unknown").await, 500, "500.001.1001", "The transaction does not Exist");
}

#[tokio::test]
async fn daraja_till_accounts_want_buy_goods_and_the_till_as_party_b() {
    let accounts = EmulatorAccounts {
        daraja: DarajaAccount { till: Some("5555555".into()), ..DarajaAccount::default() },
        ..EmulatorAccounts::default()
    };
    let emulator = PaymentEmulator::start(accounts).await;
    let api = Api::new(&emulator);
    let token = api.token().await;
    let mut body = push_body("254708374149", "http://127.0.0.1:9/cb");
    assert_daraja_error(&api.push(&token, &body).await, 400, "400.002.02", "Bad Request - Invalid TransactionType");
    body["TransactionType"] = json!("CustomerBuyGoodsOnline");
    assert_daraja_error(&api.push(&token, &body).await, 400, "400.002.02", "Bad Request - Invalid PartyB");
    body["PartyB"] = json!("5555555");
    let (status, answer) = api.push(&token, &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

#[tokio::test]
async fn daraja_push_query_resolve_and_callback_for_every_resolution() {
    let emulator = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let api = Api::new(&emulator);
    let mut hook = Hook::start().await;
    let token = api.token().await;
    for (i, resolution) in Resolution::ALL.into_iter().enumerate() {
        let phone = format!("25471100000{i}");
        let target = format!("/mpesa/callback/tok{i}?payment={i}");
        let (status, accepted) = api.push(&token, &push_body(&phone, &hook.url(&target))).await;
        assert_eq!(status, StatusCode::OK, "{accepted}");
        assert_eq!(accepted["ResponseCode"], json!("0"));
        assert_eq!(accepted["CustomerMessage"], json!("Success. Request accepted for processing"));
        let checkout_id = accepted["CheckoutRequestID"].as_str().expect("CheckoutRequestID").to_string();
        assert!(checkout_id.starts_with("ws_CO_"), "{checkout_id}");

        let prompt = emulator.wait_for_prompt(&format!("0{}", &phone[3..]), WAIT).await.expect("prompt on the handset");
        assert_eq!(
            (prompt.provider, prompt.provider_ref.as_str(), prompt.msisdn.as_str()),
            (Provider::Daraja, checkout_id.as_str(), phone.as_str())
        );
        assert_eq!((prompt.amount_kes, prompt.state, prompt.account_reference.as_deref()), (10, PromptState::Pending, Some("JASIYO1")));
        assert_eq!(prompt.callback_url, Some(hook.url(&target)));
        assert_daraja_error(&api.query(&token, &checkout_id).await, 500, "500.001.1001", "The transaction is being processed");

        emulator.resolve(&checkout_id, resolution, Delivery::Normal).await.expect("resolve");
        assert!(emulator.resolve(&checkout_id, resolution, Delivery::Normal).await.is_err(), "a prompt resolves once");
        let callback = hook.next().await;
        assert_eq!(callback.target, target, "the per-payment path and query arrive intact");
        assert!(callback.header("content-type").starts_with("application/json"));
        assert_eq!(callback.header("BusinessShortCode"), "174379");
        let body = callback.json();
        let stk = &body["Body"]["stkCallback"];
        assert_eq!(stk["CheckoutRequestID"], json!(checkout_id));
        assert_eq!(stk["MerchantRequestID"], accepted["MerchantRequestID"]);
        assert_eq!(stk["ResultCode"], json!(resolution.result_code()), "a number in callbacks");
        assert_eq!(stk["ResultDesc"], json!(resolution.result_desc()));
        let prompt = emulator.prompt(&checkout_id).expect("prompt");
        assert_eq!(prompt.state, PromptState::Resolved(resolution));
        if resolution == Resolution::Approve {
            let raw = String::from_utf8_lossy(&callback.body);
            assert!(raw.contains(r#"{"Name":"Amount","Value":10.00}"#), "Amount as a decimal: {raw}");
            let items = stk["CallbackMetadata"]["Item"].as_array().expect("items");
            let item = |name: &str| items.iter().find(|i| i["Name"] == json!(name)).unwrap_or_else(|| panic!("item {name}"));
            let receipt = prompt.receipt.clone().expect("receipt");
            assert!(is_receipt(&receipt), "{receipt}");
            assert_eq!(item("MpesaReceiptNumber")["Value"], json!(receipt));
            assert!(item("Balance").get("Value").is_none(), "Balance comes without a Value");
            let date = item("TransactionDate")["Value"].as_u64().expect("TransactionDate is an integer");
            assert_eq!(date.to_string().len(), 14);
            assert_eq!(item("PhoneNumber")["Value"], json!(phone.parse::<u64>().expect("digits")));
        } else {
            assert!(stk.get("CallbackMetadata").is_none(), "{body}");
            assert_eq!(prompt.receipt, None);
        }
        let (status, result) = api.query(&token, &checkout_id).await;
        assert_eq!(status, StatusCode::OK, "{result}");
        assert_eq!(
            (&result["ResponseCode"], &result["ResultCode"]),
            (&json!("0"), &json!(resolution.result_code().to_string())),
            "a string in queries"
        );
        assert_eq!(result["CheckoutRequestID"], json!(checkout_id));
    }
    assert_eq!(emulator.callbacks_sent(), Resolution::ALL.len());
    assert!(emulator.callbacks().iter().all(|c| c.status == Some(200) && c.provider == Provider::Daraja));
    hook.assert_quiet();
}

#[tokio::test]
async fn duplicate_lost_and_late_deliveries() {
    let emulator = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let api = Api::new(&emulator);
    let mut hook = Hook::start().await;
    let token = api.token().await;

    let duplicated = api.push_ok(&token, "254722000001", &hook.url("/cb/dup")).await;
    emulator.resolve(&duplicated, Resolution::Approve, Delivery::Duplicate(3)).await.expect("resolve");
    let copies = [hook.next().await, hook.next().await, hook.next().await];
    assert!(copies.iter().all(|c| c.body == copies[0].body && c.target == "/cb/dup"), "identical copies");
    assert_eq!(emulator.callbacks_sent(), 3);

    let lost = api.push_ok(&token, "254722000002", &hook.url("/cb/lost")).await;
    emulator.resolve(&lost, Resolution::Cancel, Delivery::Lost).await.expect("resolve");
    assert_eq!(emulator.callbacks_sent(), 3, "a lost callback is never sent");
    let (status, result) = api.query(&token, &lost).await;
    assert_eq!((status, &result["ResultCode"]), (StatusCode::OK, &json!("1032")), "the query still knows");

    let late = api.push_ok(&token, "254722000003", &hook.url("/cb/late")).await;
    let delay = Duration::from_millis(300);
    let resolved_at = Instant::now();
    emulator.resolve(&late, Resolution::Timeout, Delivery::Late(delay)).await.expect("resolve");
    assert_eq!(emulator.prompt(&late).expect("prompt").state, PromptState::Resolved(Resolution::Timeout), "resolved at once");
    let callback = hook.next().await;
    assert!(resolved_at.elapsed() >= delay, "arrived after {:?}", resolved_at.elapsed());
    assert_eq!(callback.target, "/cb/late", "the lost one never came before it");
    assert_eq!(callback.json()["Body"]["stkCallback"]["ResultCode"], json!(1037));
    assert!(emulator.wait_until(WAIT, |e| e.callbacks_sent() == 4).await);
    hook.assert_quiet();
}

#[tokio::test]
async fn a_second_push_to_a_busy_phone_cannot_lock_the_subscriber() {
    let emulator = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let api = Api::new(&emulator);
    let token = api.token().await;
    let lock = "Unable to lock subscriber, a transaction is already in process for the current subscriber";
    let first = api.push_ok(&token, "254733000001", "http://127.0.0.1:9/cb").await;
    assert_daraja_error(&api.push(&token, &push_body("254733000001", "http://127.0.0.1:9/cb")).await, 500, "500.001.1001", lock);
    api.push_ok(&token, "254733000002", "http://127.0.0.1:9/cb").await;
    emulator.resolve(&first, Resolution::Cancel, Delivery::Lost).await.expect("resolve");
    api.push_ok(&token, "254733000001", "http://127.0.0.1:9/cb").await;

    emulator.fail_next(InjectedFailure::DarajaLockSubscriber);
    assert_daraja_error(&api.push(&token, &push_body("254733000003", "http://127.0.0.1:9/cb")).await, 500, "500.001.1001", lock);
    api.push_ok(&token, "254733000003", "http://127.0.0.1:9/cb").await;
}

#[tokio::test]
async fn payhero_push_status_and_callbacks() {
    let emulator = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let api = Api::new(&emulator);
    let mut hook = Hook::start().await;
    let good = payhero_body("0712345678", Some(&hook.url("/payhero/cb?t=1")));

    let anonymous = api.http.post(api.url("/api/v2/payments")).json(&good).send().await.expect("push");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let wrong = api.http.post(api.url("/api/v2/payments")).basic_auth("ph_user", Some("nope")).json(&good).send().await.expect("push");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let bad_fields = [
        ("amount", json!("20")),
        ("amount", json!(20.5)),
        ("amount", json!(0)),
        ("phone_number", json!("+254712345678")),
        ("phone_number", json!("0612345678")),
        ("channel_id", json!(1)),
        ("channel_id", json!("911")),
        ("provider", json!("mpesa")),
        ("callback_url", json!("nope")),
    ];
    for (field, value) in bad_fields {
        let mut body = good.clone();
        body[field] = value;
        let (status, answer) = api.payhero_push(&body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {answer}");
        assert_eq!(answer["success"], json!(false));
    }

    let (status, queued) = api.payhero_push(&good).await;
    assert_eq!(status, StatusCode::CREATED, "{queued}");
    assert_eq!((&queued["success"], &queued["status"]), (&json!(true), &json!("QUEUED")));
    let reference = queued["reference"].as_str().expect("reference").to_string();
    let checkout_id = queued["CheckoutRequestID"].as_str().expect("CheckoutRequestID").to_string();
    assert!(checkout_id.starts_with("ws_CO_"));
    let prompt = emulator.wait_for_prompt("254712345678", WAIT).await.expect("prompt");
    assert_eq!((prompt.provider, prompt.provider_ref.as_str(), prompt.amount_kes), (Provider::PayHero, reference.as_str(), 20));
    assert_eq!((prompt.account_reference.as_deref(), prompt.checkout_request_id.as_deref()), (Some("INV-1"), Some(checkout_id.as_str())));
    let (status, queued_status) = api.payhero_status(&reference).await;
    assert_eq!((status, &queued_status["status"]), (StatusCode::OK, &json!("QUEUED")), "{queued_status}");

    emulator.resolve(&reference, Resolution::Approve, Delivery::Normal).await.expect("resolve");
    let callback = hook.next().await;
    assert_eq!(callback.target, "/payhero/cb?t=1");
    let receipt = emulator.prompt(&reference).and_then(|p| p.receipt).expect("receipt");
    let body = callback.json();
    assert_eq!(body["status"], json!(true));
    let response = &body["response"];
    assert_eq!(
        (&response["Status"], &response["ResultCode"], &response["MpesaReceiptNumber"]),
        (&json!("Success"), &json!(0), &json!(receipt))
    );
    assert_eq!(
        (&response["Amount"], &response["ExternalReference"], &response["CheckoutRequestID"]),
        (&json!(20), &json!("INV-1"), &json!(checkout_id))
    );
    assert_eq!(response["Phone"], json!("+254712345678"));
    let (_, paid) = api.payhero_status(&reference).await;
    assert_eq!(
        (&paid["status"], &paid["provider_reference"], &paid["third_party_reference"]),
        (&json!("SUCCESS"), &json!(receipt), &json!(receipt))
    );

    let (_, queued) = api.payhero_push(&payhero_body("254712345679", Some(&hook.url("/payhero/cb?t=2")))).await;
    let failing = queued["reference"].as_str().expect("reference").to_string();
    emulator.resolve(&failing, Resolution::InsufficientFunds, Delivery::Normal).await.expect("resolve");
    let body = hook.next().await.json();
    assert_eq!((&body["status"], &body["response"]["Status"]), (&json!(false), &json!("Failed")));
    assert_eq!((&body["response"]["ResultCode"], &body["response"]["MpesaReceiptNumber"]), (&json!(1), &json!("")));
    assert_eq!(api.payhero_status(&failing).await.1["status"], json!("FAILED"));

    // Without a callback_url nothing is sent; the status endpoint still knows.
    let (_, queued) = api.payhero_push(&payhero_body("254712345670", None)).await;
    let silent = queued["reference"].as_str().expect("reference").to_string();
    emulator.resolve(&silent, Resolution::Approve, Delivery::Normal).await.expect("resolve");
    assert_eq!(emulator.callbacks_sent(), 2);
    assert_eq!(api.payhero_status(&silent).await.1["status"], json!("SUCCESS"));
    assert_eq!(api.payhero_status("NOSUCHREF0").await.0, StatusCode::NOT_FOUND);
    hook.assert_quiet();
}

#[tokio::test]
async fn paystack_charge_verify_and_a_signed_webhook_only_on_success() {
    let emulator = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let api = Api::new(&emulator);
    let mut hook = Hook::start().await;
    emulator.set_paystack_webhook(&hook.url("/paystack/webhook"));

    let (status, refused) = api.post("/charge", "sk_test_other", &paystack_body("+254710000000", 5000, "hs-1")).await;
    assert_eq!((status, &refused), (StatusCode::UNAUTHORIZED, &json!({"status": false, "message": "Invalid key"})));
    let bad: [(&str, Value); 9] = [
        ("amount", json!(299)),
        ("amount", json!(5050)),
        ("amount", json!(50.5)),
        ("currency", json!("NGN")),
        ("currency", Value::Null),
        ("email", json!("nobody")),
        ("mobile_money", json!({"phone": "+254710000000", "provider": "mtn"})),
        ("mobile_money", json!({"phone": "0710000000", "provider": "mpesa"})),
        ("reference", json!("has space")),
    ];
    for (field, value) in bad {
        let mut body = paystack_body("+254710000000", 5000, "hs-1");
        body[field] = value;
        let (status, answer) = api.paystack_charge(&body).await;
        assert_eq!((status, &answer["status"]), (StatusCode::BAD_REQUEST, &json!(false)), "{field}: {answer}");
    }

    let (status, attempted) = api.paystack_charge(&paystack_body("+254710000000", 5000, "hs-1")).await;
    assert_eq!(status, StatusCode::OK, "{attempted}");
    assert_eq!((&attempted["status"], &attempted["message"]), (&json!(true), &json!("Charge attempted")));
    let data = &attempted["data"];
    assert_eq!((&data["reference"], &data["status"]), (&json!("hs-1"), &json!("pay_offline")));
    assert_eq!(data["display_text"], json!("Please complete authorization process on your mobile phone"));
    let (status, duplicate) = api.paystack_charge(&paystack_body("+254710000009", 5000, "hs-1")).await;
    assert_eq!((status, &duplicate["message"]), (StatusCode::BAD_REQUEST, &json!("Duplicate Transaction Reference")));
    let prompt = emulator.wait_for_prompt("+254710000000", WAIT).await.expect("prompt");
    assert_eq!((prompt.provider, prompt.amount_kes, prompt.callback_url), (Provider::Paystack, 50, None));

    let (status, ongoing) = api.paystack_verify("hs-1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&ongoing["data"]["status"], &ongoing["data"]["amount"], &ongoing["data"]["currency"]),
        (&json!("ongoing"), &json!(5000), &json!("KES"))
    );

    // Failures: no webhook, Verify tells why.
    let failures = [
        (Resolution::Cancel, "Transaction cancelled by user"),
        (Resolution::WrongPin, "Declined"),
        (Resolution::InsufficientFunds, "Insufficient funds"),
        (Resolution::Timeout, "Transaction timed out"),
    ];
    for (i, (resolution, why)) in failures.into_iter().enumerate() {
        let reference = format!("hs-fail-{i}");
        assert_eq!(api.paystack_charge(&paystack_body(&format!("+25471000010{i}"), 300, &reference)).await.0, StatusCode::OK);
        emulator.resolve(&reference, resolution, Delivery::Normal).await.expect("resolve");
        let failed = api.paystack_verify(&reference).await.1;
        assert_eq!((&failed["data"]["status"], &failed["data"]["gateway_response"]), (&json!("failed"), &json!(why)), "{failed}");
    }
    assert_eq!(emulator.callbacks_sent(), 0, "Paystack sends no event for failures");

    emulator.resolve("hs-1", Resolution::Approve, Delivery::Normal).await.expect("resolve");
    let event = hook.next().await;
    assert_eq!(event.target, "/paystack/webhook");
    let mut mac = Hmac::<Sha512>::new_from_slice(b"sk_test_jasiyo").expect("key");
    mac.update(&event.body);
    mac.verify_slice(&hex::decode(event.header("x-paystack-signature")).expect("hex signature"))
        .expect("signature over the exact body bytes");
    let body = event.json();
    assert_eq!(body["event"], json!("charge.success"));
    let data = &body["data"];
    let receipt = emulator.prompt("hs-1").and_then(|p| p.receipt).expect("receipt");
    assert_eq!(
        (&data["reference"], &data["status"], &data["amount"], &data["currency"]),
        (&json!("hs-1"), &json!("success"), &json!(5000), &json!("KES"))
    );
    assert_eq!(
        (&data["channel"], &data["metadata"], &data["receipt_number"]),
        (&json!("mobile_money"), &json!({"plan": "1h"}), &json!(receipt))
    );
    let verified = api.paystack_verify("hs-1").await.1;
    assert_eq!((&verified["message"], &verified["data"]["status"]), (&json!("Verification successful"), &json!("success")));

    let mut unnamed = paystack_body("+254710000200", 1000, "x");
    unnamed.as_object_mut().expect("object").remove("reference");
    let generated = api.paystack_charge(&unnamed).await.1;
    assert!(generated["data"]["reference"].as_str().is_some_and(|r| !r.is_empty()), "{generated}");
    assert_eq!(api.paystack_verify("no-such-ref").await.0, StatusCode::BAD_REQUEST);
    hook.assert_quiet();
}

#[tokio::test]
async fn injected_failures_hit_the_next_matching_request_once() {
    let emulator = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let api = Api::new(&emulator);

    emulator.fail_next(InjectedFailure::ServerError);
    assert_daraja_error(&api.oauth("ck_test", "cs_test", "client_credentials").await, 500, "500.003.1001", "Internal Server Error");
    emulator.fail_next(InjectedFailure::Unauthorized);
    assert_daraja_error(&api.oauth("ck_test", "cs_test", "client_credentials").await, 400, "400.008.01", "Invalid Authentication passed");
    let token = api.token().await;

    emulator.fail_next(InjectedFailure::Unauthorized);
    assert_daraja_error(
        &api.push(&token, &push_body("254744000001", "http://127.0.0.1:9/cb")).await,
        404,
        "404.001.03",
        "Invalid Access Token",
    );
    let checkout_id = api.push_ok(&token, "254744000001", "http://127.0.0.1:9/cb").await;

    // Spike arrest waits for a Daraja push or query: PayHero and OAuth pass untouched.
    emulator.fail_next(InjectedFailure::DarajaSpikeArrest);
    assert_eq!(api.payhero_push(&payhero_body("0744000002", None)).await.0, StatusCode::CREATED);
    let token = api.token().await;
    assert_daraja_error(&api.query(&token, &checkout_id).await, 500, "500.003.02", "Error Occurred: Spike Arrest Violation");
    assert_daraja_error(&api.query(&token, &checkout_id).await, 500, "500.001.1001", "The transaction is being processed");

    emulator.fail_next(InjectedFailure::ServerError);
    let (status, body) = api.paystack_charge(&paystack_body("+254744000003", 500, "f-1")).await;
    assert_eq!((status, &body["status"]), (StatusCode::INTERNAL_SERVER_ERROR, &json!(false)));
    emulator.fail_next(InjectedFailure::Unauthorized);
    assert_eq!(api.payhero_status("X").await.0, StatusCode::UNAUTHORIZED);
    emulator.fail_next(InjectedFailure::Unauthorized);
    assert_eq!(api.paystack_verify("f-1").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(emulator.failures_pending(), 0);

    // Hang: the request that takes it is never answered while the emulator runs; the
    // next one is. Stopping the emulator lets it go.
    emulator.fail_next(InjectedFailure::Hang);
    let hung = tokio::spawn({
        let request = api.http.get(api.url("/transaction/verify/f-1")).bearer_auth("sk_test_jasiyo");
        async move { request.send().await.map(|r| r.status()) }
    });
    assert!(emulator.wait_until(WAIT, |e| e.failures_pending() == 0).await, "the hang was taken");
    assert_eq!(api.paystack_verify("f-1").await.0, StatusCode::BAD_REQUEST, "a later request is served");
    assert!(!hung.is_finished(), "the hung request got an answer");
    emulator.stop().await;
    let outcome = timeout(WAIT, hung).await.expect("the hung request ends when the emulator stops").expect("task");
    assert!(outcome.is_err() || outcome.is_ok_and(|s| s == StatusCode::SERVICE_UNAVAILABLE));
}

#[tokio::test]
async fn auto_mode_resolves_each_new_prompt_after_answering_the_push() {
    let emulator = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let api = Api::new(&emulator);
    let mut hook = Hook::start().await;
    let token = api.token().await;

    emulator.set_auto(Some((Resolution::Approve, Delivery::Normal)));
    let checkout_id = api.push_ok(&token, "254755000001", &hook.url("/auto")).await;
    let stk = hook.next().await.json()["Body"]["stkCallback"].clone();
    assert_eq!((&stk["CheckoutRequestID"], &stk["ResultCode"]), (&json!(checkout_id), &json!(0)));
    assert_eq!(api.query(&token, &checkout_id).await.1["ResultCode"], json!("0"));

    emulator.set_auto(Some((Resolution::Cancel, Delivery::Duplicate(2))));
    let (status, queued) = api.payhero_push(&payhero_body("0755000002", Some(&hook.url("/auto-ph")))).await;
    assert_eq!(status, StatusCode::CREATED, "{queued}");
    for _ in 0..2 {
        let body = hook.next().await.json();
        assert_eq!((&body["response"]["ResultCode"], &body["response"]["ExternalReference"]), (&json!(1032), &json!("INV-1")));
    }

    emulator.set_auto(None);
    let waiting = api.push_ok(&token, "254755000003", &hook.url("/manual")).await;
    let prompt = emulator.wait_for_prompt("254755000003", WAIT).await.expect("prompt");
    assert_eq!((prompt.provider_ref, prompt.state), (waiting, PromptState::Pending));
    hook.assert_quiet();
}

#[tokio::test]
async fn wait_for_prompt_wakes_on_a_push_and_gives_up_on_time() {
    let emulator = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let api = Api::new(&emulator);
    let token = api.token().await;
    let (prompt, checkout_id) = tokio::join!(emulator.wait_for_prompt("0766000001", WAIT), async {
        api.push_ok(&token, "254766000001", "http://127.0.0.1:9/cb").await
    });
    assert_eq!(prompt.expect("woken by the push").provider_ref, checkout_id);
    assert_eq!(emulator.wait_for_prompt("0766000002", Duration::from_millis(50)).await, None);
    emulator.resolve(&checkout_id, Resolution::Cancel, Delivery::Lost).await.expect("resolve");
    assert_eq!(emulator.wait_for_prompt("0766000001", Duration::from_millis(50)).await, None, "only pending prompts count");
}

#[tokio::test]
async fn receipts_are_ten_uppercase_characters_and_unique() {
    let emulator = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let api = Api::new(&emulator);
    let mut receipts = std::collections::HashSet::new();
    for i in 0..30 {
        let (_, queued) = api.payhero_push(&payhero_body(&format!("07770000{i:02}"), None)).await;
        let reference = queued["reference"].as_str().expect("reference").to_string();
        emulator.resolve(&reference, Resolution::Approve, Delivery::Normal).await.expect("resolve");
        let receipt = emulator.prompt(&reference).and_then(|p| p.receipt).expect("receipt");
        assert!(is_receipt(&receipt), "{receipt}");
        assert!(receipts.insert(receipt), "receipts repeat");
    }
}

#[tokio::test]
async fn the_phone_page_lists_pending_prompts_and_its_buttons_resolve_them() {
    let emulator = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let api = Api::new(&emulator);
    let mut hook = Hook::start().await;
    let token = api.token().await;
    let checkout_id = api.push_ok(&token, "254788000001", &hook.url("/phone-cb")).await;
    let (_, queued) = api.payhero_push(&payhero_body("0788000002", Some(&hook.url("/phone-ph")))).await;
    let reference = queued["reference"].as_str().expect("reference").to_string();

    let page = api.http.get(api.url("/phone")).send().await.expect("phone page");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-type"].to_str().expect("type").starts_with("text/html"));
    let html = page.text().await.expect("html");
    for action in ["approve", "cancel", "wrong-pin"] {
        for id in [&checkout_id, &reference] {
            assert!(html.contains(&format!(r#"action="/phone/{id}/{action}""#)), "{action} for {id} in {html}");
        }
    }
    assert!(html.contains("KES 10") && html.contains("254788000001"), "{html}");
    for external in ["<script", "<link", "src=", "http://", "https://"] {
        assert!(!html.contains(external), "self-contained page, found {external}");
    }

    let approved = api.http.post(api.url(&format!("/phone/{checkout_id}/approve"))).send().await.expect("approve");
    assert_eq!(approved.status(), StatusCode::SEE_OTHER);
    assert_eq!(approved.headers()["location"], "/phone");
    assert_eq!(hook.next().await.json()["Body"]["stkCallback"]["ResultCode"], json!(0));
    let wrong_pin = api.http.post(api.url(&format!("/phone/{reference}/wrong-pin"))).send().await.expect("wrong pin");
    assert_eq!(wrong_pin.status(), StatusCode::SEE_OTHER);
    assert_eq!(hook.next().await.json()["response"]["ResultCode"], json!(2001));
    assert_eq!(emulator.prompt(&reference).expect("prompt").state, PromptState::Resolved(Resolution::WrongPin));

    let html = api.http.get(api.url("/phone")).send().await.expect("page").text().await.expect("html");
    assert!(html.contains("No pending prompts") && !html.contains(&checkout_id), "{html}");
    assert_eq!(api.http.post(api.url("/phone/ws_CO_nope/approve")).send().await.expect("post").status(), StatusCode::NOT_FOUND);
    assert_eq!(api.http.post(api.url(&format!("/phone/{reference}/dance"))).send().await.expect("post").status(), StatusCode::NOT_FOUND);
    assert_eq!(api.http.post(api.url(&format!("/phone/{reference}/cancel"))).send().await.expect("post").status(), StatusCode::CONFLICT);
    hook.assert_quiet();
}

#[tokio::test]
async fn payhero_wallets_and_paystack_balance_answer_only_the_right_credentials() {
    use jasiyo_cloud::providers::payhero::PayHero;
    use jasiyo_cloud::providers::paystack::Paystack;
    use jasiyo_cloud::providers::{Provider, ProviderConfig, ProviderError, Secret};
    use jasiyo_tests::payment_emulator::{PAYHERO_SERVICE_WALLET_BALANCE, PAYSTACK_BALANCE_CENTS};

    let emulator = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let api = Api::new(&emulator);
    let wallet = api.url("/api/v2/wallets?wallet_type=service_wallet");
    let (status, body) = Api::read(api.http.get(&wallet).basic_auth("ph_user", Some("ph_pass")).send().await.expect("wallet")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["wallet_type"].clone(), body["currency"].clone()), (json!("service_wallet"), json!("KES")));
    assert_eq!(body["available_balance"], json!(PAYHERO_SERVICE_WALLET_BALANCE));
    let wrong = api.http.get(&wallet).basic_auth("ph_user", Some("nope")).send().await.expect("wallet");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = Api::read(api.http.get(api.url("/balance")).bearer_auth("sk_test_jasiyo").send().await.expect("balance")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"status": true, "message": "Balances retrieved", "data": [{"currency": "KES", "balance": PAYSTACK_BALANCE_CENTS}]})
    );
    let (status, body) = Api::read(api.http.get(api.url("/balance")).bearer_auth("sk_test_wrong").send().await.expect("balance")).await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, json!({"status": false, "message": "Invalid key"})));

    // The cloud's own clients, pointed at the emulator as the dashboard's "test connection" does.
    let base_url = Some(emulator.base_url());
    let payhero = |password: &str| {
        let config = ProviderConfig::Payhero {
            username: Secret("ph_user".into()),
            password: Secret(password.into()),
            channel_id: 911,
            channel: Default::default(),
            base_url: base_url.clone(),
        };
        PayHero::new(config, reqwest::Client::new())
    };
    let said = payhero("ph_pass").check().await.expect("PayHero has a check").expect("accepted");
    assert_eq!(said, "PayHero service wallet balance KES 15101.36");
    let refused = payhero("nope").check().await.expect("PayHero has a check");
    assert!(matches!(refused, Err(ProviderError::Auth(ref m)) if m.contains("invalid API credentials")), "{refused:?}");
    let paystack = |key: &str| {
        Paystack::new(ProviderConfig::Paystack { secret_key: Secret(key.into()), base_url: base_url.clone() }, reqwest::Client::new())
    };
    let said = paystack("sk_test_jasiyo").check().await.expect("Paystack has a check").expect("accepted");
    assert_eq!(said, "Paystack: Balances retrieved (KES 12345.00)");
    let refused = paystack("sk_test_wrong").check().await.expect("Paystack has a check");
    assert!(matches!(refused, Err(ProviderError::Auth(ref m)) if m.contains("Invalid key")), "{refused:?}");
}

/// A wallet channel wants `provider: "sasapay"` with network code 63902 (reference B.2): the
/// cloud's client with a wallet channel is taken, one sending `m-pesa` to it is refused.
#[tokio::test]
async fn payhero_wallet_channels_want_sasapay_and_its_network_code() {
    use jasiyo_cloud::providers::payhero::PayHero;
    use jasiyo_cloud::providers::{PayHeroChannel, Provider, ProviderConfig, ProviderError, PushRequest, Secret};
    use jasiyo_tests::payment_emulator::PayHeroAccount;

    let accounts = EmulatorAccounts { payhero: PayHeroAccount { wallet_channel: true, ..PayHeroAccount::default() }, ..Default::default() };
    let emulator = PaymentEmulator::start(accounts).await;
    let client = |channel| {
        let config = ProviderConfig::Payhero {
            username: Secret("ph_user".into()),
            password: Secret("ph_pass".into()),
            channel_id: 911,
            channel,
            base_url: Some(emulator.base_url()),
        };
        PayHero::new(config, reqwest::Client::new())
    };
    let request = |msisdn: &str| PushRequest {
        payment_id: uuid::Uuid::new_v4(),
        amount_kes: 10,
        msisdn: msisdn.into(),
        account_reference: "Hotspot".into(),
        description: "1 hour".into(),
        callback_url: "http://127.0.0.1:9/callbacks/payhero/t".into(),
    };
    let refused = client(PayHeroChannel::Mpesa).initiate(&request("254722000701")).await;
    assert!(matches!(refused, Err(ProviderError::Rejected { ref message, .. }) if message.contains("invalid provider")), "{refused:?}");
    let accepted = client(PayHeroChannel::Wallet).initiate(&request("254722000702")).await.expect("a wallet push is taken");
    assert_eq!(emulator.prompt(&accepted.provider_ref).map(|p| p.msisdn).as_deref(), Some("254722000702"));
}
