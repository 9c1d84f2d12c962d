//! Each payment provider client against a small in-test HTTP server on 127.0.0.1:0 that
//! checks the exact request (path, auth, body) and answers with the provider's real shapes:
//! successes, each error shape, token expiry and refusal, in-flight queries, and a server
//! that never answers.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use jasiyo_cloud::providers::{
    self, CallbackError, DarajaAccount, FailureReason, PaymentStatus, Provider, ProviderConfig, ProviderError, PushRequest, Secret,
    TokenCache, daraja, paystack,
};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// The scripted server.

/// What the server answers to one request.
#[derive(Clone)]
enum Answer {
    Json(u16, Value),
    Text(u16, &'static str),
    /// Never answers (the client's timeout must fire).
    Hang,
}

/// One request the server received.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    /// Path and query.
    uri: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

#[derive(Default)]
struct Script {
    /// Answers by path (without query), in order.
    answers: HashMap<String, VecDeque<Answer>>,
    seen: Vec<(String, Seen)>,
}

type Shared = Arc<Mutex<Script>>;

struct Mock {
    base: String,
    script: Shared,
}

impl Mock {
    async fn start() -> Mock {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let script = Shared::default();
        let router = axum::Router::new().fallback(handle).with_state(script.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Mock { base, script }
    }

    fn answer(&self, path: &str, answer: Answer) -> &Mock {
        self.script.lock().unwrap().answers.entry(path.to_owned()).or_default().push_back(answer);
        self
    }

    fn json(&self, path: &str, status: u16, body: Value) -> &Mock {
        self.answer(path, Answer::Json(status, body))
    }

    /// The requests received on `path`, in order.
    fn seen(&self, path: &str) -> Vec<Seen> {
        let script = self.script.lock().unwrap();
        script.seen.iter().filter(|(p, _)| p == path).map(|(_, seen)| seen.clone()).collect()
    }
}

async fn handle(State(script): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap().to_vec();
    let path = parts.uri.path().to_owned();
    let seen = Seen { method: parts.method.to_string(), uri: parts.uri.to_string(), headers: parts.headers, body };
    let answer = {
        let mut script = script.lock().unwrap();
        script.seen.push((path.clone(), seen));
        script.answers.get_mut(&path).and_then(VecDeque::pop_front)
    };
    match answer {
        Some(Answer::Json(status, body)) => (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response(),
        Some(Answer::Text(status, text)) => (StatusCode::from_u16(status).unwrap(), Body::from(text)).into_response(),
        Some(Answer::Hang) => std::future::pending().await,
        None => (StatusCode::IM_A_TEAPOT, format!("no answer scripted for {path}")).into_response(),
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap()
}

fn impatient_http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_millis(300)).build().unwrap()
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn push_request() -> PushRequest {
    PushRequest {
        payment_id: uuid::Uuid::from_u128(0x6b71_0000_0000_4000_8000_0000_0000_0001),
        amount_kes: 20,
        msisdn: "254708374149".into(),
        account_reference: "KAHAWA-WEST-HOTSPOT".into(),
        description: "Internet 1 hour access".into(),
        callback_url: "https://cloud.example/callbacks/daraja/tok123".into(),
    }
}

// ---------------------------------------------------------------------------------------
// Daraja.

/// A token cache in memory, as the store would keep it, counting what it is asked.
#[derive(Default)]
struct MemoryTokens {
    tokens: Mutex<HashMap<String, (String, i64)>>,
}

impl MemoryTokens {
    fn entry(&self) -> Option<(String, String, i64)> {
        let tokens = self.tokens.lock().unwrap();
        assert!(tokens.len() <= 1, "one entry per short code and app");
        tokens.iter().next().map(|(key, (token, expires))| (key.clone(), token.clone(), *expires))
    }
}

#[async_trait]
impl TokenCache for MemoryTokens {
    async fn get_token(&self, key: &str, valid_until_ms: i64) -> Option<String> {
        let tokens = self.tokens.lock().unwrap();
        tokens.get(key).filter(|(_, expires)| *expires >= valid_until_ms).map(|(token, _)| token.clone())
    }

    async fn put_token(&self, key: &str, token: &str, expires_at_ms: i64) {
        self.tokens.lock().unwrap().insert(key.to_owned(), (token.to_owned(), expires_at_ms));
    }

    async fn drop_token(&self, key: &str, token: &str) {
        let mut tokens = self.tokens.lock().unwrap();
        if tokens.get(key).is_some_and(|(cached, _)| cached == token) {
            tokens.remove(key);
        }
    }
}

const PASSKEY: &str = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919";
const OAUTH: &str = "/oauth/v1/generate";
const PUSH: &str = "/mpesa/stkpush/v1/processrequest";
const QUERY: &str = "/mpesa/stkpushquery/v1/query";

fn daraja_config(mock: &Mock, short_code: &str, account: DarajaAccount) -> ProviderConfig {
    ProviderConfig::Daraja {
        consumer_key: Secret("ck_Gv8sQm2x".into()),
        consumer_secret: Secret("cs_9hT3pLw".into()),
        short_code: short_code.into(),
        passkey: Secret(PASSKEY.into()),
        account,
        base_url: Some(format!("{}/", mock.base)),
    }
}

fn daraja(mock: &Mock, tokens: &Arc<MemoryTokens>) -> Arc<dyn Provider> {
    providers::build(&daraja_config(mock, "174379", DarajaAccount::Paybill), &http(), tokens.clone())
}

/// Puts a token in the cache as if another instance had fetched it.
async fn cached_token(tokens: &MemoryTokens, token: &str, valid_for_ms: i64) {
    let key = daraja::token_cache_key("174379", &Secret("ck_Gv8sQm2x".into()));
    tokens.put_token(&key, token, now_ms() + valid_for_ms).await;
}

fn oauth_ok(mock: &Mock, token: &str, expires_in: Value) {
    mock.json(OAUTH, 200, json!({"access_token": token, "expires_in": expires_in}));
}

fn accepted(mock: &Mock, checkout: &str) {
    mock.json(
        PUSH,
        200,
        json!({"MerchantRequestID": "2654-4b64-97ff-b827b542881d3130", "CheckoutRequestID": checkout, "ResponseCode": "0",
            "ResponseDescription": "Success. Request accepted for processing",
            "CustomerMessage": "Success. Request accepted for processing"}),
    );
}

fn daraja_error(mock: &Mock, path: &str, status: u16, code: &str, message: &str) {
    mock.json(path, status, json!({"requestId": "11728-2929992-1", "errorCode": code, "errorMessage": message}));
}

/// Days from 1970-01-01 to a civil date (H. Hinnant's `days_from_civil`), to read a
/// Daraja timestamp back independently of the client's own conversion.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Checks a Daraja `Timestamp` is `YYYYMMDDHHmmss`, Nairobi time (UTC+3), within a minute of
/// now, and that `Password` is base64(short code + passkey + that timestamp).
fn check_credentials(body: &Value, short_code: &str) {
    let timestamp = body["Timestamp"].as_str().unwrap();
    assert_eq!(timestamp.len(), 14, "{timestamp}");
    assert!(timestamp.bytes().all(|b| b.is_ascii_digit()), "{timestamp}");
    let field = |range: std::ops::Range<usize>| timestamp[range].parse::<i64>().unwrap();
    let local_secs =
        days_from_civil(field(0..4), field(4..6), field(6..8)) * 86_400 + field(8..10) * 3600 + field(10..12) * 60 + field(12..14);
    let utc_secs = local_secs - 3 * 3600;
    let skew = (utc_secs - now_ms() / 1000).abs();
    assert!(skew <= 60, "timestamp {timestamp} is {skew} s away from Nairobi time");
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{short_code}{PASSKEY}{timestamp}"));
    assert_eq!(body["Password"], expected.as_str());
}

#[tokio::test]
async fn daraja_paybill_push_sends_the_documented_request() {
    let mock = Mock::start().await;
    let tokens = Arc::new(MemoryTokens::default());
    // expires_in as a string, as older answers have it.
    oauth_ok(&mock, "c9SQxWWhmdVRlyh0zh8gZDTkubVF", json!("3599"));
    accepted(&mock, "ws_CO_1007202409152617172396192");

    let accepted = daraja(&mock, &tokens).initiate(&push_request()).await.unwrap();
    assert_eq!(accepted.provider_ref, "ws_CO_1007202409152617172396192");

    let [oauth] = mock.seen(OAUTH).try_into().unwrap();
    assert_eq!((oauth.method.as_str(), oauth.uri.as_str()), ("GET", "/oauth/v1/generate?grant_type=client_credentials"));
    assert_eq!(oauth.header("authorization"), basic("ck_Gv8sQm2x", "cs_9hT3pLw"));

    let [push] = mock.seen(PUSH).try_into().unwrap();
    assert_eq!(push.method, "POST");
    assert_eq!(push.header("authorization"), "Bearer c9SQxWWhmdVRlyh0zh8gZDTkubVF");
    assert_eq!(push.header("content-type"), "application/json");
    let body = push.json();
    check_credentials(&body, "174379");
    let expected = json!({
        "BusinessShortCode": 174379, "Password": body["Password"], "Timestamp": body["Timestamp"],
        "TransactionType": "CustomerPayBillOnline", "Amount": 20, "PartyA": 254708374149_u64, "PartyB": 174379,
        "PhoneNumber": 254708374149_u64, "CallBackURL": "https://cloud.example/callbacks/daraja/tok123",
        "AccountReference": "KAHAWA-WEST-", "TransactionDesc": "Internet 1 ho",
    });
    assert_eq!(body, expected);

    // The token is cached for its lifetime, under a key that names neither key nor secret.
    let (key, token, expires) = tokens.entry().unwrap();
    assert_eq!(token, "c9SQxWWhmdVRlyh0zh8gZDTkubVF");
    assert!(key.contains("174379") && !key.contains("ck_Gv8sQm2x") && !key.contains("cs_9hT3pLw"), "{key}");
    assert!((expires - (now_ms() + 3_599_000)).abs() < 60_000);
}

#[tokio::test]
async fn daraja_till_push_uses_the_store_number_and_the_till() {
    let mock = Mock::start().await;
    let tokens = Arc::new(MemoryTokens::default());
    oauth_ok(&mock, "tok-till", json!(3599));
    accepted(&mock, "ws_CO_till");
    let config = daraja_config(&mock, "7654321", DarajaAccount::Till { till_number: "5123456".into() });
    let client = daraja::Daraja::new(config, http(), tokens.clone());
    client.initiate(&push_request()).await.unwrap();

    let body = mock.seen(PUSH)[0].json();
    check_credentials(&body, "7654321");
    assert_eq!(body["TransactionType"], "CustomerBuyGoodsOnline");
    assert_eq!(body["BusinessShortCode"], 7_654_321);
    assert_eq!(body["PartyB"], 5_123_456);
    assert_eq!(body["PartyA"], 254_708_374_149_u64);
}

#[tokio::test]
async fn daraja_instances_share_one_token() {
    let mock = Mock::start().await;
    let tokens = Arc::new(MemoryTokens::default());
    oauth_ok(&mock, "shared-token", json!(3599));
    accepted(&mock, "ws_CO_a");
    accepted(&mock, "ws_CO_b");

    let first = daraja(&mock, &tokens);
    let second = daraja(&mock, &tokens);
    first.initiate(&push_request()).await.unwrap();
    second.initiate(&push_request()).await.unwrap();

    assert_eq!(mock.seen(OAUTH).len(), 1, "the second instance must not mint its own token");
    let bearers: Vec<_> = mock.seen(PUSH).iter().map(|seen| seen.header("authorization").to_owned()).collect();
    assert_eq!(bearers, ["Bearer shared-token", "Bearer shared-token"]);
}

#[tokio::test]
async fn daraja_token_close_to_expiry_is_replaced() {
    let mock = Mock::start().await;
    let tokens = Arc::new(MemoryTokens::default());
    // Ten minutes left: still used.
    cached_token(&tokens, "ten-minutes-left", 10 * 60 * 1000).await;
    accepted(&mock, "ws_CO_1");
    let client = daraja(&mock, &tokens);
    client.initiate(&push_request()).await.unwrap();
    assert!(mock.seen(OAUTH).is_empty());

    // Two minutes left: inside the 5-minute margin, so a new one is fetched and cached.
    cached_token(&tokens, "two-minutes-left", 2 * 60 * 1000).await;
    oauth_ok(&mock, "renewed", json!(3599));
    accepted(&mock, "ws_CO_2");
    client.initiate(&push_request()).await.unwrap();
    assert_eq!(mock.seen(OAUTH).len(), 1);
    let bearers: Vec<_> = mock.seen(PUSH).iter().map(|seen| seen.header("authorization").to_owned()).collect();
    assert_eq!(bearers, ["Bearer ten-minutes-left", "Bearer renewed"]);
    assert_eq!(tokens.entry().unwrap().1, "renewed");
}

#[tokio::test]
async fn daraja_refused_token_is_replaced_and_the_call_retried_once() {
    let mock = Mock::start().await;
    let tokens = Arc::new(MemoryTokens::default());
    // A token that looks valid but was invalidated (another app instance minted a new one).
    cached_token(&tokens, "invalidated", 50 * 60 * 1000).await;
    daraja_error(&mock, PUSH, 404, "404.001.03", "Invalid Access Token");
    oauth_ok(&mock, "fresh", json!(3599));
    accepted(&mock, "ws_CO_retry");

    let client = daraja(&mock, &tokens);
    let accepted = client.initiate(&push_request()).await.unwrap();
    assert_eq!(accepted.provider_ref, "ws_CO_retry");
    let pushes = mock.seen(PUSH);
    assert_eq!(pushes.len(), 2);
    assert_eq!(pushes[0].header("authorization"), "Bearer invalidated");
    assert_eq!(pushes[1].header("authorization"), "Bearer fresh");
    assert_eq!(pushes[0].body, pushes[1].body, "the same push is retried");
    assert_eq!(tokens.entry().unwrap().1, "fresh");

    // Refused again after the fresh one (401.003.01 this time): one retry only, then Auth.
    daraja_error(&mock, QUERY, 401, "401.003.01", "Error Occurred - Invalid Access Token");
    oauth_ok(&mock, "fresher", json!(3599));
    daraja_error(&mock, QUERY, 404, "404.001.03", "Invalid Access Token");
    let error = client.query("ws_CO_retry").await.unwrap_err();
    assert!(matches!(error, ProviderError::Auth(_)), "{error:?}");
    assert_eq!(mock.seen(QUERY).len(), 2);
    assert_eq!(mock.seen(OAUTH).len(), 2);
}

#[tokio::test]
async fn daraja_refused_credentials_are_auth_errors() {
    let mock = Mock::start().await;
    let tokens = Arc::new(MemoryTokens::default());
    daraja_error(&mock, OAUTH, 400, "400.008.01", "Invalid Authentication passed");
    let error = daraja(&mock, &tokens).initiate(&push_request()).await.unwrap_err();
    assert!(matches!(error, ProviderError::Auth(_)), "{error:?}");
    assert!(mock.seen(PUSH).is_empty());
    assert!(tokens.entry().is_none());
}

#[tokio::test]
async fn daraja_push_error_shapes() {
    type Check = fn(&ProviderError) -> bool;
    let cases: [(u16, &str, &str, Check); 8] = [
        (
            400,
            "400.002.02",
            "Bad Request - Invalid PhoneNumber",
            |e| matches!(e, ProviderError::Rejected { code, message } if code == "400.002.02" && message.contains("Invalid PhoneNumber")),
        ),
        (500, "500.001.1001", "Unable to lock subscriber, a transaction is already in process for the current subscriber", |e| {
            matches!(e, ProviderError::Busy(_))
        }),
        (500, "500.001.1001", "[MerchantValidate] - Wrong credentials", |e| matches!(e, ProviderError::Auth(m) if m.contains("passkey"))),
        (
            500,
            "500.001.1001",
            "Merchant does not exist",
            |e| matches!(e, ProviderError::Rejected { message, .. } if message.contains("174379")),
        ),
        (500, "500.003.02", "Error Occurred: Spike Arrest Violation", |e| matches!(e, ProviderError::Busy(_))),
        (500, "500.003.03", "Error Occurred: Quota Violation", |e| matches!(e, ProviderError::Busy(_))),
        (500, "500.003.1001", "Internal Server Error", |e| matches!(e, ProviderError::Unavailable(_))),
        (404, "404.001.01", "Resource not found", |e| matches!(e, ProviderError::Rejected { .. })),
    ];
    let mock = Mock::start().await;
    let tokens = Arc::new(MemoryTokens::default());
    cached_token(&tokens, "valid", 50 * 60 * 1000).await;
    let client = daraja(&mock, &tokens);
    for (status, code, message, check) in cases {
        daraja_error(&mock, PUSH, status, code, message);
        let error = client.initiate(&push_request()).await.unwrap_err();
        assert!(check(&error), "{code} {message}: {error:?}");
    }
    // A gateway page that is not JSON, and a 200 that is not an acceptance.
    mock.answer(PUSH, Answer::Text(503, "<html>Service Unavailable</html>"));
    assert!(matches!(client.initiate(&push_request()).await, Err(ProviderError::Unavailable(_))));
    mock.json(PUSH, 200, json!({"ResponseCode": "1", "ResponseDescription": "Rejected"}));
    assert!(matches!(client.initiate(&push_request()).await, Err(ProviderError::Rejected { code, .. }) if code == "1"));
    assert!(mock.seen(OAUTH).is_empty(), "none of these is a token problem");
}

#[tokio::test]
async fn daraja_query_reads_pending_answers_and_result_codes() {
    let mock = Mock::start().await;
    let tokens = Arc::new(MemoryTokens::default());
    cached_token(&tokens, "valid", 50 * 60 * 1000).await;
    let client = daraja(&mock, &tokens);
    let result = |code: &str, desc: &str| {
        json!({"ResponseCode": "0", "ResponseDescription": "The service request has been accepted successsfully",
            "MerchantRequestID": "22205-34066-1", "CheckoutRequestID": "ws_CO_q", "ResultCode": code, "ResultDesc": desc})
    };

    daraja_error(&mock, QUERY, 500, "500.001.1001", "The transaction is being processed");
    daraja_error(&mock, QUERY, 500, "500.001.1001", "The transaction does not Exist");
    mock.json(QUERY, 200, result("4999", "The transaction is still under processing"));
    mock.json(QUERY, 200, result("1032", "Request cancelled by user"));
    mock.json(QUERY, 200, result("1037", "DS timeout user cannot be reached"));
    mock.json(QUERY, 200, result("0", "The service request is processed successfully."));
    let expected = [
        PaymentStatus::Pending,
        PaymentStatus::Pending,
        PaymentStatus::Pending,
        PaymentStatus::Failed(FailureReason::Cancelled),
        PaymentStatus::Failed(FailureReason::Timeout),
        PaymentStatus::Paid,
    ];
    for status in expected {
        let event = client.query("ws_CO_q").await.unwrap();
        assert_eq!(event.status, status, "{event:?}");
        assert_eq!(event.provider_ref, "ws_CO_q");
        assert_eq!((event.amount_kes, event.receipt), (None, None), "the query never tells these");
    }
    daraja_error(&mock, QUERY, 500, "500.003.02", "Error Occurred: Spike Arrest Violation");
    assert!(matches!(client.query("ws_CO_q").await, Err(ProviderError::Busy(_))));

    let seen = mock.seen(QUERY);
    let body = seen[0].json();
    check_credentials(&body, "174379");
    assert_eq!(body["BusinessShortCode"], "174379");
    assert_eq!(body["CheckoutRequestID"], "ws_CO_q");
    assert_eq!(seen[0].header("authorization"), "Bearer valid");
}

#[tokio::test]
async fn daraja_timeouts_and_refused_connections_are_unavailable() {
    let mock = Mock::start().await;
    let tokens = Arc::new(MemoryTokens::default());
    cached_token(&tokens, "valid", 50 * 60 * 1000).await;
    let config = daraja_config(&mock, "174379", DarajaAccount::Paybill);
    let client = providers::build(&config, &impatient_http(), tokens.clone());
    mock.answer(PUSH, Answer::Hang);
    let error = client.initiate(&push_request()).await.unwrap_err();
    assert!(matches!(&error, ProviderError::Unavailable(m) if m.contains("timed out")), "{error:?}");

    // OAuth hanging too.
    let fresh_tokens = Arc::new(MemoryTokens::default());
    mock.answer(OAUTH, Answer::Hang);
    let client = providers::build(&config, &impatient_http(), fresh_tokens);
    assert!(matches!(client.query("ws_CO_x").await, Err(ProviderError::Unavailable(_))));

    // Nobody listening.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let ProviderConfig::Daraja { consumer_key, consumer_secret, short_code, passkey, account, .. } = config else { unreachable!() };
    let config = ProviderConfig::Daraja { consumer_key, consumer_secret, short_code, passkey, account, base_url: Some(closed_base) };
    let client = providers::build(&config, &impatient_http(), tokens);
    assert!(matches!(client.initiate(&push_request()).await, Err(ProviderError::Unavailable(_))));
}

#[tokio::test]
async fn daraja_callback_and_ack() {
    let mock = Mock::start().await;
    let client = daraja(&mock, &Arc::new(MemoryTokens::default()));
    let body = br#"{"Body":{"stkCallback":{"MerchantRequestID":"29115-34620561-1","CheckoutRequestID":"ws_CO_191220191020363925",
        "ResultCode":0,"ResultDesc":"The service request is processed successfully.","CallbackMetadata":{"Item":[
        {"Name":"Amount","Value":1.00},{"Name":"MpesaReceiptNumber","Value":"NLJ7RT61SV"},{"Name":"Balance"},
        {"Name":"TransactionDate","Value":20191219102115},{"Name":"PhoneNumber","Value":254708374149}]}}}}"#;
    let event = client.parse_callback(&HeaderMap::new(), body).unwrap();
    assert_eq!((event.status, event.amount_kes, event.receipt.as_deref()), (PaymentStatus::Paid, Some(1), Some("NLJ7RT61SV")));
    assert_eq!(client.callback_ack(), json!({"ResultCode": 0, "ResultDesc": "Accepted"}));
}

// ---------------------------------------------------------------------------------------
// PayHero.

const PAYMENTS: &str = "/api/v2/payments";
const STATUS: &str = "/api/v2/transaction-status";

fn payhero(mock: &Mock, http: reqwest::Client) -> Arc<dyn Provider> {
    let config = ProviderConfig::Payhero {
        username: Secret("ph_user".into()),
        password: Secret("ph_pass".into()),
        channel_id: 911,
        channel: Default::default(),
        base_url: Some(mock.base.clone()),
    };
    providers::build(&config, &http, Arc::new(MemoryTokens::default()))
}

#[tokio::test]
async fn payhero_push_sends_the_documented_request() {
    let mock = Mock::start().await;
    mock.json(
        PAYMENTS,
        201,
        json!({"success": true, "status": "QUEUED", "reference": "E8UWT7CLUW", "CheckoutRequestID": "ws_CO_15012024164321519708344109"}),
    );
    let accepted = payhero(&mock, http()).initiate(&push_request()).await.unwrap();
    assert_eq!(accepted.provider_ref, "E8UWT7CLUW");
    assert_eq!(accepted.secondary_ref.as_deref(), Some("ws_CO_15012024164321519708344109"));

    let [seen] = mock.seen(PAYMENTS).try_into().unwrap();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.header("authorization"), basic("ph_user", "ph_pass"));
    assert_eq!(seen.header("content-type"), "application/json");
    assert_eq!(
        seen.json(),
        json!({"amount": 20, "phone_number": "0708374149", "channel_id": 911, "provider": "m-pesa",
            "external_reference": push_request().payment_id.to_string(),
            "callback_url": "https://cloud.example/callbacks/daraja/tok123"})
    );
}

#[tokio::test]
async fn payhero_wallet_channel_pushes_name_sasapay_and_its_network_code() {
    let mock = Mock::start().await;
    mock.json(PAYMENTS, 201, json!({"success": true, "status": "QUEUED", "reference": "E8UWT7CLUX", "CheckoutRequestID": "ws_CO_1"}));
    let config = ProviderConfig::Payhero {
        username: Secret("ph_user".into()),
        password: Secret("ph_pass".into()),
        channel_id: 912,
        channel: providers::PayHeroChannel::Wallet,
        base_url: Some(mock.base.clone()),
    };
    let client = providers::build(&config, &http(), Arc::new(MemoryTokens::default()));
    assert_eq!(client.initiate(&push_request()).await.unwrap().provider_ref, "E8UWT7CLUX");
    let [seen] = mock.seen(PAYMENTS).try_into().unwrap();
    let body = seen.json();
    assert_eq!(
        (&body["channel_id"], &body["provider"], &body["network_code"]),
        (&json!(912), &json!("sasapay"), &json!("63902")),
        "{body}"
    );
}

#[tokio::test]
async fn payhero_push_errors() {
    let mock = Mock::start().await;
    let client = payhero(&mock, http());
    mock.json(PAYMENTS, 401, json!({"error_message": "Unauthorized"}));
    mock.json(PAYMENTS, 400, json!({"error_message": "Invalid channel id", "status": "error"}));
    mock.answer(PAYMENTS, Answer::Text(502, "Bad Gateway"));
    mock.json(PAYMENTS, 200, json!({"success": false, "error_message": "insufficient service wallet balance"}));
    assert!(matches!(client.initiate(&push_request()).await, Err(ProviderError::Auth(_))));
    assert!(matches!(client.initiate(&push_request()).await,
        Err(ProviderError::Rejected { message, .. }) if message.contains("Invalid channel id")));
    assert!(matches!(client.initiate(&push_request()).await, Err(ProviderError::Unavailable(_))));
    assert!(matches!(client.initiate(&push_request()).await,
        Err(ProviderError::Rejected { message, .. }) if message.contains("wallet")));

    mock.answer(PAYMENTS, Answer::Hang);
    let impatient = payhero(&mock, impatient_http());
    assert!(matches!(impatient.initiate(&push_request()).await, Err(ProviderError::Unavailable(_))));
}

#[tokio::test]
async fn payhero_status_answers() {
    let mock = Mock::start().await;
    let client = payhero(&mock, http());
    mock.json(STATUS, 200, json!({"status": "QUEUED", "success": true, "reference": "E8UWT7CLUW"}));
    mock.json(
        STATUS,
        200,
        json!({"transaction_date": "2024-11-26T08:41:14.160604Z", "provider": "m-pesa", "success": true, "merchant": "Ron Doe",
            "payment_reference": "", "third_party_reference": "SKQ96C7K7H", "status": "SUCCESS", "reference": "E8UWT7CLUW",
            "CheckoutRequestID": "", "provider_reference": "SKQ96C7K7H"}),
    );
    mock.json(STATUS, 200, json!({"status": "FAILED", "success": true, "reference": "E8UWT7CLUW"}));
    mock.json(STATUS, 500, json!({"error_message": "server error"}));

    assert_eq!(client.query("E8UWT7CLUW").await.unwrap().status, PaymentStatus::Pending);
    let paid = client.query("E8UWT7CLUW").await.unwrap();
    assert_eq!((paid.status, paid.receipt.as_deref()), (PaymentStatus::Paid, Some("SKQ96C7K7H")));
    assert!(matches!(client.query("E8UWT7CLUW").await.unwrap().status, PaymentStatus::Failed(_)));
    assert!(matches!(client.query("E8UWT7CLUW").await, Err(ProviderError::Unavailable(_))));

    let seen = mock.seen(STATUS);
    assert_eq!((seen[0].method.as_str(), seen[0].uri.as_str()), ("GET", "/api/v2/transaction-status?reference=E8UWT7CLUW"));
    assert_eq!(seen[0].header("authorization"), basic("ph_user", "ph_pass"));
}

#[tokio::test]
async fn payhero_callback_and_ack() {
    let mock = Mock::start().await;
    let client = payhero(&mock, http());
    let failed = br#"{"forward_url":"","response":{"Amount":20,"CheckoutRequestID":"ws_CO_15012024164321519708344109",
        "ExternalReference":"6b710000-0000-4000-8000-000000000001","MerchantRequestID":"3202-70921557-1",
        "MpesaReceiptNumber":"","Phone":"254708374149","ResultCode":1032,"ResultDesc":"Request cancelled by user.",
        "Status":"Failed","ChannelID":911},"status":false}"#;
    let event = client.parse_callback(&HeaderMap::new(), failed).unwrap();
    assert_eq!(event.provider_ref, "ws_CO_15012024164321519708344109");
    assert_eq!(event.status, PaymentStatus::Failed(FailureReason::Cancelled));
    assert_eq!(client.callback_ack(), json!({"status": "ok"}));
}

// ---------------------------------------------------------------------------------------
// Paystack.

const SECRET_KEY: &str = "sk_test_b7c1d2e3f4";

fn paystack_client(mock: &Mock, http: reqwest::Client) -> Arc<dyn Provider> {
    let config = ProviderConfig::Paystack { secret_key: Secret(SECRET_KEY.into()), base_url: Some(mock.base.clone()) };
    providers::build(&config, &http, Arc::new(MemoryTokens::default()))
}

#[tokio::test]
async fn paystack_charge_sends_cents_and_a_synthetic_email() {
    let mock = Mock::start().await;
    let reference = push_request().payment_id.to_string();
    mock.json(
        "/charge",
        200,
        json!({"status": true, "message": "Charge attempted", "data": {"reference": reference, "status": "pay_offline",
            "display_text": "Please complete authorization process on your mobile phone"}}),
    );
    let accepted = paystack_client(&mock, http()).initiate(&push_request()).await.unwrap();
    assert_eq!(accepted.provider_ref, reference);

    let [seen] = mock.seen("/charge").try_into().unwrap();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.header("authorization"), format!("Bearer {SECRET_KEY}"));
    let body = seen.json();
    assert_eq!(body["email"], "254708374149@hotspot.localhost", "the default domain");
    assert_eq!(body["amount"], 2000);
    assert_eq!(body["currency"], "KES");
    assert_eq!(body["mobile_money"], json!({"phone": "+254708374149", "provider": "mpesa"}));
    assert_eq!(body["reference"], reference.as_str());
}

#[tokio::test]
async fn paystack_customer_emails_are_on_the_operators_domain() {
    let mock = Mock::start().await;
    let reference = push_request().payment_id.to_string();
    mock.json("/charge", 200, json!({"status": true, "data": {"reference": reference, "status": "pay_offline"}}));
    let config = ProviderConfig::Paystack { secret_key: Secret(SECRET_KEY.into()), base_url: Some(mock.base.clone()) };
    let domain = paystack::EmailDomain::parse("customers.kibanda.co.ke").unwrap();
    let options = providers::ProviderOptions { paystack_email_domain: domain };
    let client = providers::build_with(&config, &http(), Arc::new(MemoryTokens::default()), &options);
    client.initiate(&push_request()).await.unwrap();
    let [seen] = mock.seen("/charge").try_into().unwrap();
    assert_eq!(seen.json()["email"], "254708374149@customers.kibanda.co.ke");
    assert!(paystack::EmailDomain::parse("hotspot.jasiyo.invalid").is_err(), "a reserved name is refused");
}

#[tokio::test]
async fn paystack_charge_refusals() {
    let mock = Mock::start().await;
    let client = paystack_client(&mock, http());
    mock.json(
        "/charge",
        400,
        json!({"status": false, "message": "Charge attempted", "data": {"status": "failed",
            "message": "The balance is insufficient for the transaction", "gateway_response": "Declined"}}),
    );
    mock.json("/charge", 401, json!({"status": false, "message": "Invalid key"}));
    mock.answer("/charge", Answer::Text(500, "oops"));
    assert!(matches!(client.initiate(&push_request()).await,
        Err(ProviderError::Rejected { message, .. }) if message.contains("insufficient")));
    assert!(matches!(client.initiate(&push_request()).await, Err(ProviderError::Auth(_))));
    assert!(matches!(client.initiate(&push_request()).await, Err(ProviderError::Unavailable(_))));
}

#[tokio::test]
async fn paystack_verify_answers() {
    let mock = Mock::start().await;
    let client = paystack_client(&mock, http());
    let path = "/transaction/verify/hs_abc123";
    let verified = |data: Value| json!({"status": true, "message": "Verification successful", "data": data});
    mock.json(path, 200, verified(json!({"status": "ongoing", "reference": "hs_abc123", "amount": 2000, "currency": "KES"})));
    mock.json(
        path,
        200,
        verified(json!({"status": "success", "reference": "hs_abc123", "amount": 2000, "currency": "KES",
            "gateway_response": "Approved", "channel": "mobile_money"})),
    );
    mock.json(
        path,
        200,
        verified(json!({"status": "failed", "reference": "hs_abc123", "amount": 2000, "currency": "KES",
            "gateway_response": "Request cancelled by user"})),
    );
    mock.json(path, 200, verified(json!({"status": "abandoned", "reference": "hs_abc123", "amount": 2000, "currency": "KES"})));
    mock.json(path, 400, json!({"status": false, "message": "Transaction reference not found"}));

    assert_eq!(client.query("hs_abc123").await.unwrap().status, PaymentStatus::Pending);
    let paid = client.query("hs_abc123").await.unwrap();
    assert_eq!((paid.status, paid.amount_kes), (PaymentStatus::Paid, Some(20)));
    assert_eq!(client.query("hs_abc123").await.unwrap().status, PaymentStatus::Failed(FailureReason::Cancelled));
    assert_eq!(client.query("hs_abc123").await.unwrap().status, PaymentStatus::Failed(FailureReason::Timeout));
    assert_eq!(client.query("hs_abc123").await.unwrap().status, PaymentStatus::Pending);

    let seen = mock.seen(path);
    assert_eq!(seen.len(), 5);
    assert_eq!((seen[0].method.as_str(), seen[0].header("authorization")), ("GET", format!("Bearer {SECRET_KEY}").as_str()));

    mock.answer(path, Answer::Hang);
    assert!(matches!(paystack_client(&mock, impatient_http()).query("hs_abc123").await, Err(ProviderError::Unavailable(_))));
}

#[tokio::test]
async fn paystack_webhook_signature_and_ack() {
    let mock = Mock::start().await;
    let client = paystack_client(&mock, http());
    let body = br#"{"event":"charge.success","data":{"id":4099260516,"domain":"live","status":"success","reference":"hs_abc123",
        "amount":2000,"currency":"KES","channel":"mobile_money","gateway_response":"Approved","receipt_number":"TAB1CD2EF3"}}"#;
    let mut headers = HeaderMap::new();
    let signature = paystack::sign(&Secret(SECRET_KEY.into()), body);
    headers.insert(paystack::SIGNATURE_HEADER, HeaderValue::from_str(&signature).unwrap());
    let event = client.parse_callback(&headers, body).unwrap();
    assert_eq!((event.provider_ref.as_str(), event.amount_kes, event.status), ("hs_abc123", Some(20), PaymentStatus::Paid));

    assert_eq!(client.parse_callback(&HeaderMap::new(), body), Err(CallbackError::BadSignature));
    let mut wrong = HeaderMap::new();
    wrong.insert(paystack::SIGNATURE_HEADER, HeaderValue::from_str(&"0".repeat(128)).unwrap());
    assert_eq!(client.parse_callback(&wrong, body), Err(CallbackError::BadSignature));
    assert_eq!(client.callback_ack(), json!({"status": "ok"}));
}
