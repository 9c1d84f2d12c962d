//! The agent over TLS: trusts a private CA given with `ca_file` (rustls, ring provider), and
//! refuses a server its roots do not vouch for.

use std::io::BufReader;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::support::{WAIT, observable, start};
use jasiyo_agent::{AgentConfig, LinkState, ReconnectPolicy, Token};
use jasiyo_shared::{AgentMessage, CloudMessage, RouterId, Welcome, codec};
use rustls::pki_types::PrivateKeyDer;
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::{self, Message};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn server_config() -> Arc<ServerConfig> {
    let certs = rustls_pemfile::certs(&mut BufReader::new(std::fs::File::open(fixture("localhost.pem")).unwrap()))
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key: PrivateKeyDer<'static> =
        rustls_pemfile::private_key(&mut BufReader::new(std::fs::File::open(fixture("localhost.key")).unwrap()))
            .unwrap()
            .expect("a private key");
    let config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    Arc::new(config)
}

/// Serves one TLS WebSocket connection on a plain thread (blocking rustls + tungstenite, so
/// the test needs no TLS server crate): reads the hello, welcomes, and reports the first
/// message after the welcome. Returns the port.
/// Serves one agent over TLS: hello, welcome, then the agent's next message goes to
/// `done`. The connection stays open until the returned sender is dropped, so the agent
/// stays connected while the test looks (a server gone at once raced the test's look).
fn serve_one(router_id: RouterId, done: oneshot::Sender<Result<AgentMessage, String>>) -> (u16, std::sync::mpsc::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (hold, released) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let mut kept = None;
        let outcome = (|| -> Result<AgentMessage, String> {
            let (tcp, _) = listener.accept().map_err(|e| e.to_string())?;
            let tls = StreamOwned::new(ServerConnection::new(server_config()).unwrap(), tcp);
            let ws = kept.insert(tungstenite::accept(tls).map_err(|e| e.to_string())?);
            match read(ws)? {
                AgentMessage::Hello(_) => {}
                other => return Err(format!("expected a hello, got {other:?}")),
            }
            let welcome = CloudMessage::Welcome(Welcome { router_id, heartbeat_ms: 60_000 });
            ws.send(Message::binary(codec::encode(&welcome).unwrap())).map_err(|e| e.to_string())?;
            read(ws)
        })();
        let _ = done.send(outcome);
        // Blocks until the test drops its end.
        let _ = released.recv();
        drop(kept);
    });
    (port, hold)
}

fn read<S: std::io::Read + std::io::Write>(ws: &mut tungstenite::WebSocket<S>) -> Result<AgentMessage, String> {
    match ws.read().map_err(|e| e.to_string())? {
        Message::Binary(bytes) => codec::decode(&bytes).map_err(|e| e.to_string()),
        other => Err(format!("unexpected frame {other:?}")),
    }
}

fn tls_config(port: u16, router_id: RouterId, data_dir: &TempDir, ca_file: Option<PathBuf>) -> AgentConfig {
    AgentConfig {
        // `https://` is taken to mean `wss://`.
        cloud_url: format!("https://localhost:{port}"),
        router_id,
        token: Token::new("t".into()),
        data_dir: data_dir.path().to_path_buf(),
        ca_file,
        reconnect: ReconnectPolicy::fast_for_tests(),
        status_interval: Duration::from_secs(3600),
        clock_offset_secs: 0,
    }
}

#[tokio::test]
async fn a_cloud_with_a_private_ca_is_trusted_through_the_ca_file() {
    let router = RouterId::new();
    let (done, result) = oneshot::channel();
    let (port, _hold) = serve_one(router, done);
    let dir = TempDir::new().unwrap();
    let mut agent = start(tls_config(port, router, &dir, Some(fixture("ca.pem"))));

    let first = tokio::time::timeout(WAIT, result).await.expect("the TLS server finishes").unwrap();
    assert!(matches!(first, Ok(AgentMessage::Status(_))), "{first:?}");
    agent.wait_state(|s| *s == LinkState::Connected).await;
    agent.stop().await;
}

#[tokio::test]
async fn a_cloud_whose_certificate_is_not_vouched_for_is_refused() {
    let router = RouterId::new();
    let (done, _result) = oneshot::channel();
    let (port, _hold) = serve_one(router, done);
    let dir = TempDir::new().unwrap();
    let mut agent = start(observable(tls_config(port, router, &dir, None)));

    let state = agent.wait_state(|s| matches!(s, LinkState::Disconnected { .. })).await;
    assert!(matches!(&state, LinkState::Disconnected { reason } if reason.contains("certificate")), "{state:?}");
    agent.stop().await;
}
