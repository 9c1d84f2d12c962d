//! The public edge over a real socket: slow clients are cut off, and rate limits come
//! before anything is looked up.

use std::net::SocketAddr;
use std::time::Duration;

use jasiyo_cloud::App;
use jasiyo_cloud::http::ServerTimeouts;
use jasiyo_cloud::hub::HubConfig;
use jasiyo_cloud::store::testing::{Backend, fresh_store};
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
    let dir = tempfile::TempDir::new().unwrap();
    let store = fresh_store(backend, dir.path()).await?;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = App::with_store(store, HubConfig::default(), listener).with_timeouts(timeouts);
    let addr = app.local_addr();
    let stop = CancellationToken::new();
    tokio::spawn(app.run(stop.clone()));
    Some(Running { _dir: dir, addr, stop })
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
