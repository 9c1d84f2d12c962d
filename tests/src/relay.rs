//! A TCP relay that stands between an agent and the cloud, so tests can break the link in
//! the ways networks do: cut every connection (RST-like close), freeze them (bytes stop
//! flowing but nothing closes, like a dead NAT mapping), and re-point the relay at a
//! restarted cloud on another port.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
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
        tokio::spawn(async move {
            let Ok(outbound) = TcpStream::connect(target).await else { return };
            let (ri, wi) = inbound.into_split();
            let (ro, wo) = outbound.into_split();
            tokio::select! {
                _ = cut.cancelled() => {}
                _ = pump(ri, wo, frozen.clone()) => {}
                _ = pump(ro, wi, frozen) => {}
            }
        });
    }
}

async fn pump(mut from: tokio::net::tcp::OwnedReadHalf, mut to: tokio::net::tcp::OwnedWriteHalf, mut frozen: watch::Receiver<bool>) {
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
    }
}
