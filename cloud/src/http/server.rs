//! The HTTP server loop: accepts connections and serves the [`router`](super::router) on
//! each with hyper, under three timeouts so that a slow or silent client cannot hold a
//! connection (and its memory and file descriptor) forever:
//!
//! - **header read**: the request line and headers must arrive within it. hyper's timer
//!   runs whenever the connection waits for a request's head, so it also closes a
//!   keep-alive connection that stays silent between requests.
//! - **request**: a handler (including reading the body) must answer within it, or the
//!   client gets `408` and the connection is closed. Long polls hold for less than this.
//! - **idle**: a connection that moves no byte either way for this long is dropped (a
//!   client that stops reading a response, a body that stops mid-way).
//!
//! A WebSocket (an agent's link) leaves this loop once upgraded: its heartbeat watches it.
//! Only HTTP/1.1 is served (agents, providers, browsers behind the hotspot and proxies all
//! speak it); an HTTP/2 preface is refused like any other malformed request.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// The server's timeouts (see the module's documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerTimeouts {
    /// For a request's line and headers, and for silence between keep-alive requests.
    pub header_read: Duration,
    /// For a handler's answer.
    pub request: Duration,
    /// For a connection on which no byte moves.
    pub idle: Duration,
}

impl Default for ServerTimeouts {
    fn default() -> Self {
        ServerTimeouts { header_read: Duration::from_secs(10), request: Duration::from_secs(30), idle: Duration::from_secs(60) }
    }
}

/// Serves `app` on `listener` until `shutdown` is cancelled, then stops accepting, calls
/// `on_shutdown` (which tells long-lived sessions to end) and waits for open connections
/// to finish their requests.
pub async fn serve(listener: TcpListener, app: Router, timeouts: ServerTimeouts, shutdown: CancellationToken, on_shutdown: impl FnOnce()) {
    let (open, mut all_closed) = tokio::sync::mpsc::channel::<()>(1);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait for some to be released
                    // rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            },
        };
        // Frames to agents are small and latency matters: no Nagle.
        let _ = tcp.set_nodelay(true);
        tokio::spawn(connection(tcp, peer, app.clone(), timeouts, shutdown.clone(), open.clone()));
    }
    on_shutdown();
    drop(open);
    // Every connection task holds a sender: none left means all are closed.
    let _ = all_closed.recv().await;
}

/// One connection, until it closes, upgrades, idles out or the server shuts down.
async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    app: Router,
    timeouts: ServerTimeouts,
    shutdown: CancellationToken,
    _open: tokio::sync::mpsc::Sender<()>,
) {
    let activity = Activity::new();
    let io = TokioIo::new(Watched { inner: tcp, activity: activity.clone() });
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        // The socket's address is the client's unless a trusted proxy says otherwise.
        request.extensions_mut().insert(ConnectInfo(peer));
        let answer = app.clone().oneshot(request.map(Body::new));
        async move {
            match tokio::time::timeout(timeouts.request, answer).await {
                Ok(Ok(response)) => Ok::<_, std::convert::Infallible>(response),
                Ok(Err(never)) => match never {},
                Err(_) => Ok(timed_out()),
            }
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(timeouts.header_read);
    let conn = builder.serve_connection(io, service).with_upgrades();
    tokio::pin!(conn);
    let mut shutting_down = false;
    loop {
        let idle_until = activity.last() + timeouts.idle;
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "connection ended");
                }
                return;
            }
            _ = shutdown.cancelled(), if !shutting_down => {
                shutting_down = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tokio::time::sleep_until(idle_until) => {
                if activity.last() + timeouts.idle <= Instant::now() {
                    tracing::debug!(%peer, "idle connection closed");
                    return;
                }
            }
        }
    }
}

/// The answer to a request its handler did not finish in time.
fn timed_out() -> Response<Body> {
    let mut response = Response::new(Body::from("request timed out"));
    *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
    response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    response
}

/// When a connection last moved a byte.
#[derive(Clone)]
struct Activity {
    start: Instant,
    /// Milliseconds after `start`.
    last_ms: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Activity {
        Activity { start: Instant::now(), last_ms: Arc::default() }
    }

    fn touch(&self) {
        self.last_ms.store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// A socket that records when bytes move.
struct Watched {
    inner: TcpStream,
    activity: Activity,
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
