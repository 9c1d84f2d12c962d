//! The request id over a real socket: every response carries one; a `X-Request-Id` is taken
//! only from a trusted proxy (`--trusted-proxies`) and only when it is short and plain.

use jasiyo_cloud::App;
use jasiyo_cloud::http::TrustedProxies;
use jasiyo_cloud::hub::HubConfig;
use jasiyo_cloud::store::testing::{Backend, fresh_store};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The id `/healthz` answers with, sending `sent` as `X-Request-Id`, from a cloud trusting
/// `proxies` (the request comes from 127.0.0.1).
async fn answered_id(proxies: &[&str], sent: Option<&str>) -> String {
    let dir = tempfile::TempDir::new().unwrap();
    let store = fresh_store(Backend::Sqlite, dir.path()).await.expect("SQLite is always here");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let proxies = TrustedProxies::new(proxies.iter().map(|p| p.parse().unwrap()).collect());
    let app = App::with_store(store, HubConfig::default(), listener).trusting(proxies);
    let stop = CancellationToken::new();
    let running = tokio::spawn(app.run(stop.clone()));
    let mut request = reqwest::Client::new().get(format!("http://{addr}/healthz"));
    if let Some(id) = sent {
        request = request.header("x-request-id", id);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let id = response.headers().get("x-request-id").expect("a request id on every response").to_str().unwrap().to_string();
    stop.cancel();
    running.await.unwrap().unwrap();
    id
}

fn generated(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

#[tokio::test]
async fn a_request_id_is_taken_only_from_a_trusted_proxy() {
    assert!(generated(&answered_id(&[], None).await));
    let untrusted = answered_id(&[], Some("edge-7f3a")).await;
    assert!(generated(&untrusted), "a client's own id is not believed: {untrusted}");
    assert_eq!(answered_id(&["127.0.0.1/32"], Some("edge-7f3a")).await, "edge-7f3a");
    let odd = answered_id(&["127.0.0.1/32"], Some("has spaces in it")).await;
    assert!(generated(&odd), "an id that is not plain is replaced: {odd}");
}
