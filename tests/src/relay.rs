//! A TCP relay that stands between an agent and the cloud, so tests can break the link in
//! the ways networks do: cut every connection (RST-like close), freeze them (bytes stop
//! flowing but nothing closes, like a dead NAT mapping), and re-point the relay at a
//! restarted cloud on another port. It also notes when each connection was welcomed (the
//! cloud's first binary WebSocket frame after its `101`), so a test can time reconnects.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A running relay. Dropping it stops it.
pub struct Relay {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

struct Shared {
    target: Mutex<SocketAddr>,
    /// Cancelled to cut every live connection; replaced by a fresh token afterwards.
    generation: Mutex<CancellationToken>,
    frozen: watch::Sender<bool>,
    /// When each connection's first binary frame from the cloud reached the agent.
    welcomes: Mutex<Vec<Instant>>,
}

impl Relay {
    /// Starts a relay on an ephemeral port forwarding to `target`.
    pub async fn start(target: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            target: Mutex::new(target),
            generation: Mutex::new(CancellationToken::new()),
            frozen: watch::channel(false).0,
            welcomes: Mutex::new(Vec::new()),
        });
        let stop = CancellationToken::new();
        tokio::spawn(accept_loop(listener, shared.clone(), stop.clone()));
        Relay { addr, shared, stop }
    }

    /// Where agents should connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://` URL of the relay.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Closes every connection now; new ones are accepted as before.
    pub fn cut(&self) {
        let mut generation = self.shared.generation.lock().unwrap();
        generation.cancel();
        *generation = CancellationToken::new();
    }

    /// While frozen, no byte moves in either direction and nothing is closed.
    pub fn set_frozen(&self, frozen: bool) {
        self.shared.frozen.send_replace(frozen);
    }

    /// When each connection so far was welcomed: the moment the cloud's first binary
    /// WebSocket frame after its `101 Switching Protocols` reached the agent, in order.
    pub fn welcomes(&self) -> Vec<Instant> {
        self.shared.welcomes.lock().unwrap().clone()
    }

    /// Sends new connections to `target` from now on.
    pub fn retarget(&self, target: SocketAddr) {
        *self.shared.target.lock().unwrap() = target;
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.cancel();
        self.cut();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, stop: CancellationToken) {
    loop {
        let (inbound, _) = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => continue,
            },
        };
        let target = *shared.target.lock().unwrap();
        let cut = shared.generation.lock().unwrap().clone();
        let frozen = shared.frozen.subscribe();
        let shared = shared.clone();
        tokio::spawn(async move {
            let Ok(outbound) = TcpStream::connect(target).await else { return };
            let (ri, wi) = inbound.into_split();
            let (ro, wo) = outbound.into_split();
            let mut welcome = Welcome::default();
            let mut to_agent = |bytes: &[u8]| {
                if welcome.sees(bytes) {
                    shared.welcomes.lock().unwrap().push(Instant::now());
                }
            };
            tokio::select! {
                _ = cut.cancelled() => {}
                _ = pump(ri, wo, frozen.clone(), |_| {}) => {}
                _ = pump(ro, wi, frozen, &mut to_agent) => {}
            }
        });
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut frozen: watch::Receiver<bool>,
    mut passed: impl FnMut(&[u8]),
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if frozen.wait_for(|f| !*f).await.is_err() {
            return;
        }
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        // Bytes read just before a freeze are held until it thaws, like a stalled path.
        if frozen.wait_for(|f| !*f).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
        passed(&buf[..n]);
    }
}

/// Watches the bytes a connection's cloud side sends for the welcome: an HTTP `101`
/// response, then a binary WebSocket frame (a refusal would be a close frame, an overloaded
/// cloud a `503`).
#[derive(Default)]
struct Welcome {
    head: Vec<u8>,
    done: bool,
}

impl Welcome {
    /// Takes the next bytes; true once, when they hold the welcome's first byte.
    fn sees(&mut self, bytes: &[u8]) -> bool {
        if self.done {
            return false;
        }
        self.head.extend_from_slice(bytes);
        let Some(end) = self.head.windows(4).position(|w| w == b"\r\n\r\n") else {
            self.done = self.head.len() > 4096;
            return false;
        };
        if !self.head.starts_with(b"HTTP/1.1 101") {
            self.done = true;
            return false;
        }
        let Some(&first) = self.head.get(end + 4) else { return false };
        self.done = true;
        // FIN and opcode 2 (binary).
        first == 0x82
    }
}
