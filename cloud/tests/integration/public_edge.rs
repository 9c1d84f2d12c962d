//! The public edge over a real socket: slow or stalled clients are cut off (header, request
//! and idle timeouts), held long polls are capped, and rate limits come
//! before anything is looked up.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use jasiyo_cloud::App;
use jasiyo_cloud::http::ServerTimeouts;
use jasiyo_cloud::hub::HubConfig;
use jasiyo_cloud::model::PaymentId;
use jasiyo_cloud::payments::sealer::Sealer;
use jasiyo_cloud::payments::{Payments, PaymentsConfig};
use jasiyo_cloud::store::testing::{Backend, fresh_store, paid_payment};
use jasiyo_cloud::store::{Store, now_ms};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

/// A running cloud on a fresh store, with these timeouts; stopped when dropped.
struct Running {
    _dir: tempfile::TempDir,
    addr: SocketAddr,
    stop: CancellationToken,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn running(backend: Backend, timeouts: ServerTimeouts) -> Option<Running> {
    let (dir, store) = fixture(backend).await?;
    Some(serve(dir, store, timeouts, |_| {}).await)
}

/// A fresh store (and the directory it may live in), or `None` when `backend` is not here.
async fn fixture(backend: Backend) -> Option<(tempfile::TempDir, Arc<dyn Store>)> {
    let dir = tempfile::TempDir::new().unwrap();
    let store = fresh_store(backend, dir.path()).await?;
    Some((dir, store))
}

/// Serves `store` on a fresh port with these timeouts and payment settings.
async fn serve(dir: tempfile::TempDir, store: Arc<dyn Store>, timeouts: ServerTimeouts, tune: impl FnOnce(&mut PaymentsConfig)) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = PaymentsConfig::new(format!("http://{addr}"));
    tune(&mut config);
    let app = App::with_options(store, HubConfig::default(), Sealer::new([7; 32]), config, listener).unwrap().with_timeouts(timeouts);
    let stop = CancellationToken::new();
    tokio::spawn(app.run(stop.clone()));
    Running { _dir: dir, addr, stop }
}

/// Reads until the server closes the connection (or resets it); what it sent before.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return seen,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let timeouts = ServerTimeouts { header_read: Duration::from_millis(300), ..ServerTimeouts::default() };
    let cloud = running(Backend::Sqlite, timeouts).await.unwrap();

    // A complete request is served as usual.
    let mut whole = TcpStream::connect(cloud.addr).await.unwrap();
    whole.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await.unwrap();
    let answer = timeout(Duration::from_secs(10), until_closed(&mut whole)).await.expect("answered");
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));

    // Half a request line, then silence: the server hangs up after the header timeout
    // (without one it would wait forever, and the outer timeout would fire).
    let mut slow = TcpStream::connect(cloud.addr).await.unwrap();
    slow.write_all(b"GET /heal").await.unwrap();
    timeout(Duration::from_secs(5), until_closed(&mut slow)).await.expect("the slow client was disconnected");

    // So does a connection that sends nothing at all.
    let mut silent = TcpStream::connect(cloud.addr).await.unwrap();
    timeout(Duration::from_secs(5), until_closed(&mut silent)).await.expect("the silent client was disconnected");
}

/// Starts a payment through the real socket: the status and the JSON answer.
async fn initiate(cloud: &Running, router: &str, phone: &str, key: &str) -> (u16, Value) {
    let body = json!({"plan_id": "nope", "phone": phone, "idempotency_key": key});
    let response =
        reqwest::Client::new().post(format!("http://{}/api/portal/{router}/payments", cloud.addr)).json(&body).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

async fn limits_come_before_any_lookup((dir, store): (tempfile::TempDir, Arc<dyn Store>)) {
    let cloud = serve(dir, store, ServerTimeouts::default(), |c| c.limits.per_ip = 2).await;
    // No such router: before the fix, every attempt was looked up (and got a 404), so a
    // flood cost a query each and the limits never counted it.
    let router = jasiyo_shared::RouterId::new().to_string();
    for n in 0..2 {
        let (status, body) = initiate(&cloud, &router, &format!("07123450{n:02}"), &format!("k{n}")).await;
        assert_eq!((status, body["error"].as_str()), (404, Some("router_not_found")), "{body}");
    }
    let (status, body) = initiate(&cloud, &router, "0712345099", "k9").await;
    assert_eq!((status, body["error"].as_str()), (429, Some("rate_limited_ip")), "{body}");
}

/// Serves a store holding one paid payment; the cloud, the payments service and its id.
async fn with_a_payment(
    dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    timeouts: ServerTimeouts,
    tune: impl FnOnce(&mut PaymentsConfig),
) -> (Running, Arc<Payments>, PaymentId) {
    let tenant = store.create_tenant("t", now_ms()).await.unwrap();
    let router = store.create_router(tenant.id, "r", "hash", now_ms()).await.unwrap().id;
    let payment = paid_payment(store.as_ref(), router, now_ms(), now_ms() / 1000 + 3600).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = PaymentsConfig::new(format!("http://{}", listener.local_addr().unwrap()));
    tune(&mut config);
    let app = App::with_options(store, HubConfig::default(), Sealer::new([7; 32]), config, listener).unwrap().with_timeouts(timeouts);
    let (addr, payments, stop) = (app.local_addr(), app.payments(), CancellationToken::new());
    tokio::spawn(app.run(stop.clone()));
    (Running { _dir: dir, addr, stop }, payments, payment)
}

async fn get(url: String) -> Value {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn held_long_polls_are_capped_per_client((dir, store): (tempfile::TempDir, Arc<dyn Store>)) {
    let (cloud, payments, id) = with_a_payment(dir, store, ServerTimeouts::default(), |c| c.holds.per_client = 1).await;
    let now = get(format!("http://{}/api/portal/payments/{id}", cloud.addr)).await;
    let seen = format!("{}/{}", now["status"].as_str().unwrap(), now["stage"].as_str().unwrap());
    let next = format!("http://{}/api/portal/payments/{id}/next?seen={seen}", cloud.addr);

    // The first long poll is held (nothing changes: it would answer after 8 s).
    let mut held = payments.held_polls().watch_held();
    let first = tokio::spawn(get(next.clone()));
    timeout(Duration::from_secs(10), held.wait_for(|n| *n == 1)).await.unwrap().unwrap();
    // A second one from the same address is over the cap: answered at once with the
    // payment as it is (not an error), while the first is still held. Before the cap it
    // was held too, and answered only after the first.
    let second = get(next.clone()).await;
    assert_eq!((&second["status"], &second["stage"]), (&now["status"], &now["stage"]));
    assert!(!first.is_finished(), "the first long poll is still held");
    assert_eq!(payments.held_polls().held(), 1, "the second was never held");
    first.abort();
}

#[tokio::test]
async fn a_connection_on_which_nothing_moves_is_dropped() {
    let timeouts = ServerTimeouts { idle: Duration::from_millis(300), ..ServerTimeouts::default() };
    let cloud = running(Backend::Sqlite, timeouts).await.unwrap();
    // Complete headers promising a body that never comes: the handler waits for it, no
    // byte moves, and the connection is dropped after the idle timeout.
    let mut stalled = TcpStream::connect(cloud.addr).await.unwrap();
    let head = format!(
        "POST /api/portal/{}/payments HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{",
        jasiyo_shared::RouterId::new()
    );
    stalled.write_all(head.as_bytes()).await.unwrap();
    timeout(Duration::from_secs(5), until_closed(&mut stalled)).await.expect("the stalled connection was dropped");
}

#[tokio::test]
async fn a_request_not_answered_in_time_gets_408() {
    let (dir, store) = fixture(Backend::Sqlite).await.unwrap();
    // A request timeout shorter than the long poll's hold (8 s): the held request is cut
    // off with 408 instead of holding on (without a request timeout it would answer 200
    // after 8 s, past the outer timeout).
    let timeouts = ServerTimeouts { request: Duration::from_millis(500), ..ServerTimeouts::default() };
    let (cloud, _, id) = with_a_payment(dir, store, timeouts, |_| {}).await;
    let now = get(format!("http://{}/api/portal/payments/{id}", cloud.addr)).await;
    let seen = format!("{}/{}", now["status"].as_str().unwrap(), now["stage"].as_str().unwrap());
    let next = format!("http://{}/api/portal/payments/{id}/next?seen={seen}", cloud.addr);
    let response = timeout(Duration::from_secs(5), reqwest::get(next)).await.expect("answered before the hold ended").unwrap();
    assert_eq!(response.status(), 408);
}

jasiyo_cloud::on_each_backend!(fixture; limits_come_before_any_lookup, held_long_polls_are_capped_per_client);
