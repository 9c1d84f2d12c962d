//! The phone-home link: dials the cloud, runs one [`session`] at a time over the WebSocket,
//! and reconnects forever with backoff when it ends.

pub mod backoff;
pub mod session;
pub mod tls;

use std::sync::Arc;
use std::time::Duration;

use jasiyo_shared::{MAX_FRAME_BYTES, RejectReason, RouterId, RouterStatus};
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream, tungstenite};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, error, info, info_span, warn};

use crate::config::{ReconnectPolicy, Token};
use crate::journal::{Journal, JournalError};
use backoff::Backoff;

/// How long dialling (TCP, TLS and the WebSocket upgrade) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Welcomed sessions in a row shorter than [`ReconnectPolicy::stable_after`] that still
/// start the backoff again; after more, the cloud counts as flapping and the delays grow.
const SHORT_SESSIONS_FORGIVEN: u32 = 5;

/// The longest step of the reconnect delay while connections are refused (nothing listens
/// at the cloud's address: it is restarting): a fleet is back within about this long of
/// the cloud listening again, spread over it. Refused connections cost the cloud nothing.
pub const REFUSED_STEP_MAX: Duration = Duration::from_secs(2);

/// The longest step while connections have been refused for less than
/// [`REFUSED_FAST_FOR`]: a restarted cloud listens again within a second or two, and a
/// fleet whose retries were 2 s apart left it idle for about a second before the first
/// agents came back.
pub const REFUSED_STEP_FAST: Duration = Duration::from_millis(500);

/// How long refusals in a row keep the fast step ([`REFUSED_STEP_FAST`]); past it (a cloud
/// down for longer, or a wrong address) the step grows to [`REFUSED_STEP_MAX`].
pub const REFUSED_FAST_FOR: Duration = Duration::from_secs(10);

/// The longest reconnect step after connections have been refused for `refused_for` in a
/// row.
pub fn refused_step_max(refused_for: Duration) -> Duration {
    if refused_for < REFUSED_FAST_FOR { REFUSED_STEP_FAST } else { REFUSED_STEP_MAX }
}

/// The longest `Retry-After` honoured (a larger one is taken as this).
const MAX_RETRY_HINT: Duration = Duration::from_secs(300);

/// Where the link to the cloud stands, as published on [`crate::Agent::link_state`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// Dialling, or waiting for the cloud's welcome (also the state before the first attempt).
    Connecting,
    /// Welcomed by the cloud; commands flow.
    Connected,
    /// Between connections (or stopped), with the reason the last one ended.
    Disconnected {
        /// Why the link is down, for people.
        reason: String,
    },
}

/// Why a connection attempt or a session ended.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The cloud answered the upgrade with 401: the token is wrong or revoked.
    #[error("token refused by the cloud (HTTP 401): check the router token")]
    TokenRefused,
    /// The cloud answered the upgrade with another HTTP status.
    #[error("the cloud answered the WebSocket upgrade with HTTP {0}")]
    HttpStatus(StatusCode),
    /// The cloud is too busy for another connection now (HTTP 503, a restart's crowd of
    /// agents) and said when to come back (`Retry-After`), if it did.
    #[error("the cloud is busy (HTTP 503){}", come_back(.0))]
    Busy(Option<Duration>),
    /// Dialling took longer than allowed.
    #[error("could not connect within {0:?}")]
    ConnectTimeout(Duration),
    /// The WebSocket failed (network, TLS, framing).
    #[error("WebSocket: {0}")]
    WebSocket(#[from] tungstenite::Error),
    /// The cloud refused the hello.
    #[error("the cloud rejected the hello: {0}")]
    Rejected(RejectReason),
    /// No welcome arrived in time.
    #[error("no welcome from the cloud within {0:?}")]
    HandshakeTimeout(Duration),
    /// The cloud was silent for three heartbeats.
    #[error("nothing heard from the cloud for {0:?}; the link is dead")]
    DeadLink(Duration),
    /// The cloud sent something this agent cannot accept.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// The cloud closed the connection.
    #[error("the cloud closed the connection")]
    Closed,
    /// The cloud welcomed the connection as another router.
    #[error("the cloud welcomed this agent as router {welcomed}, but it is router {configured}")]
    WrongRouter {
        /// The router id in the welcome.
        welcomed: RouterId,
        /// The router id this agent was configured with.
        configured: RouterId,
    },
    /// The journal failed; the session ends so nothing is acknowledged that is not stored.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// The link's supervisor: owns what every session needs and reconnects forever.
pub(crate) struct Link {
    /// The request every connection starts with (URL and headers, token included).
    pub(crate) request: Request,
    pub(crate) router_id: RouterId,
    pub(crate) connector: Connector,
    pub(crate) policy: ReconnectPolicy,
    pub(crate) status_interval: Duration,
    pub(crate) journal: Journal,
    /// The journal is new or was reset and no welcome has been received since.
    pub(crate) journal_reset: bool,
    /// Wakes the apply loop when a command was journalled.
    pub(crate) work: Arc<Notify>,
    /// Woken by the apply loop when an outcome was stored.
    pub(crate) results: Arc<Notify>,
    /// The apply loop's latest unrecovered error, for status reports.
    pub(crate) last_error: watch::Receiver<Option<String>>,
    /// What the executor last learned about the router (identity, load, sessions).
    pub(crate) router_status: watch::Receiver<RouterStatus>,
    /// What keeps the edge from doing its job; a change is reported at once.
    pub(crate) problem: watch::Receiver<Option<String>>,
    pub(crate) state: watch::Sender<LinkState>,
    /// The protocol version said in the next hello: [`jasiyo_shared::PROTOCOL_VERSION`], or
    /// an older one an older cloud asked for (see [`Link::fall_back`]).
    pub(crate) protocol: u16,
    /// The fall-back to an older protocol has been logged (it is logged once).
    pub(crate) fallback_logged: bool,
    /// The router's clock and its skew to the cloud's, measured at each protocol-2 welcome.
    pub(crate) clock: Arc<crate::Clock>,
    /// The data counters of the users the edge manages, reported to a protocol-2 cloud as
    /// they change.
    pub(crate) usage: watch::Receiver<Vec<jasiyo_shared::UserUsage>>,
    /// The agent's own counters, sent to a protocol-3 cloud with each status.
    pub(crate) counters: Arc<crate::Counters>,
}

/// Builds the upgrade request: the endpoint URL, the bearer token and the router id.
pub(crate) fn build_request(endpoint: &str, router_id: RouterId, token: &Token) -> anyhow::Result<Request> {
    let mut request = endpoint.into_client_request()?;
    let mut bearer = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
        .map_err(|_| anyhow::anyhow!("the token holds characters not allowed in an HTTP header"))?;
    bearer.set_sensitive(true);
    let headers = request.headers_mut();
    headers.insert(header::AUTHORIZATION, bearer);
    headers.insert(jasiyo_shared::ROUTER_ID_HEADER, HeaderValue::from_str(&router_id.to_string())?);
    Ok(request)
}

impl Link {
    /// Connects, runs sessions and reconnects until `shutdown`.
    pub(crate) async fn run(mut self, shutdown: CancellationToken) {
        let mut backoff = Backoff::new(self.policy.initial, self.policy.max).spread_first();
        let mut attempt: u64 = 0;
        // Welcomed sessions in a row that ended before `stable_after`.
        let mut short_sessions: u32 = 0;
        // Since when every attempt has been refused (nothing listens: the cloud restarts).
        let mut refused_since: Option<Instant> = None;
        while !shutdown.is_cancelled() {
            attempt += 1;
            let span = info_span!("link", router = %self.router_id, attempt);
            let ended = self.connect_once(&shutdown).instrument(span).await;
            if shutdown.is_cancelled() {
                break;
            }
            // A welcome proves the cloud is back: the next try is at once (spread), unless
            // welcomed sessions keep dying young (a flapping cloud), when the delays grow.
            match ended.connected_for {
                Some(up) if up >= self.policy.stable_after => {
                    short_sessions = 0;
                    backoff.reset();
                }
                Some(_) => {
                    short_sessions += 1;
                    if short_sessions <= SHORT_SESSIONS_FORGIVEN {
                        backoff.reset();
                    }
                }
                None => {}
            }
            if ended.connected_for.is_some() {
                // The cloud may come back upgraded: say the newest version again.
                self.protocol = jasiyo_shared::PROTOCOL_VERSION;
            }
            if let Err(LinkError::Rejected(RejectReason::UnsupportedVersion { cloud, .. })) = &ended.result {
                if self.fall_back(*cloud) {
                    continue;
                }
            }
            let refused = matches!(&ended.result, Err(e) if e.is_refused());
            refused_since = if refused { Some(refused_since.unwrap_or_else(Instant::now)) } else { None };
            let delay = match (&ended.result, refused_since) {
                (Err(LinkError::Busy(Some(hint))), _) => backoff.next_delay_at_least(*hint),
                (_, Some(since)) => backoff.next_delay_capped(refused_step_max(since.elapsed())),
                _ => backoff.next_delay(),
            };
            let reason = match ended.result {
                Ok(()) => "session ended".to_string(),
                Err(e) => {
                    report(&e, self.router_id, delay);
                    e.to_string()
                }
            };
            self.state.send_replace(LinkState::Disconnected { reason });
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = shutdown.cancelled() => break,
            }
        }
        self.state.send_replace(LinkState::Disconnected { reason: "agent shutting down".into() });
        info!(router = %self.router_id, "link stopped");
    }

    /// An older cloud refused our protocol and speaks `cloud`: speak that from the next
    /// hello, if this build still can. Says whether it will (then reconnect at once).
    fn fall_back(&mut self, cloud: u16) -> bool {
        if cloud >= self.protocol || cloud < jasiyo_shared::MIN_PROTOCOL_VERSION {
            return false;
        }
        if self.fallback_logged {
            debug!(router = %self.router_id, from = self.protocol, to = cloud, "the cloud speaks an older protocol; speaking it");
        } else {
            warn!(
                router = %self.router_id,
                from = self.protocol,
                to = cloud,
                "the cloud speaks an older protocol: reconnecting in protocol {cloud}, without clock skew or data usage reports \
                 (expiries use the last skew measured, else this router's clock) until the cloud is upgraded"
            );
            self.fallback_logged = true;
        }
        self.protocol = cloud;
        true
    }

    /// One connection: dial, then run a session until it ends. The "one step" of the
    /// supervisor loop.
    pub(crate) async fn connect_once(&mut self, shutdown: &CancellationToken) -> session::Ended {
        self.state.send_replace(LinkState::Connecting);
        let ws = tokio::select! {
            dialled = self.dial() => dialled,
            _ = shutdown.cancelled() => return session::Ended { connected_for: None, result: Ok(()) },
        };
        match ws {
            Ok(ws) => session::run(self, ws, shutdown).await,
            Err(e) => session::Ended { connected_for: None, result: Err(e) },
        }
    }

    async fn dial(&self) -> Result<WebSocketStream<MaybeTlsStream<TcpStream>>, LinkError> {
        let config = WebSocketConfig::default().max_message_size(Some(MAX_FRAME_BYTES)).max_frame_size(Some(MAX_FRAME_BYTES));
        let connecting =
            tokio_tungstenite::connect_async_tls_with_config(self.request.clone(), Some(config), true, Some(self.connector.clone()));
        match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
            Err(_) => Err(LinkError::ConnectTimeout(CONNECT_TIMEOUT)),
            Ok(Ok((ws, _response))) => Ok(ws),
            Ok(Err(tungstenite::Error::Http(response))) if response.status() == StatusCode::UNAUTHORIZED => Err(LinkError::TokenRefused),
            Ok(Err(tungstenite::Error::Http(response))) if response.status() == StatusCode::SERVICE_UNAVAILABLE => {
                Err(LinkError::Busy(retry_after(response.headers())))
            }
            Ok(Err(tungstenite::Error::Http(response))) => Err(LinkError::HttpStatus(response.status())),
            Ok(Err(e)) => Err(LinkError::WebSocket(e)),
        }
    }
}

impl LinkError {
    /// Whether nothing listened at the cloud's address (the connection was refused).
    pub fn is_refused(&self) -> bool {
        matches!(self, LinkError::WebSocket(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused)
    }
}

/// How a 503's hint reads in a message.
fn come_back(hint: &Option<Duration>) -> String {
    hint.map(|hint| format!("; asked to come back in {} s", hint.as_secs())).unwrap_or_default()
}

/// The `Retry-After` of a 503, in its delay-seconds form (the HTTP-date form is not used by
/// our cloud and is ignored), at most [`MAX_RETRY_HINT`].
fn retry_after(headers: &tungstenite::http::HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_HINT))
}

/// Logs why a connection ended (loudly where a person must act) and when the next try is.
fn report(error: &LinkError, router: RouterId, retry_in: Duration) {
    let retry_in_ms = u64::try_from(retry_in.as_millis()).unwrap_or(u64::MAX);
    match error {
        LinkError::TokenRefused => {
            error!(%router, retry_in_ms, "token refused: the cloud does not accept this router's token (HTTP 401)")
        }
        LinkError::Rejected(reason) => error!(%router, %reason, retry_in_ms, "the cloud rejected this agent"),
        LinkError::WrongRouter { .. } | LinkError::Journal(_) => error!(%router, %error, retry_in_ms, "link failed"),
        _ => warn!(%router, %error, retry_in_ms, "link down; reconnecting"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_retry_fast_at_first_then_slower() {
        assert_eq!(refused_step_max(Duration::ZERO), REFUSED_STEP_FAST);
        assert_eq!(refused_step_max(REFUSED_FAST_FOR - Duration::from_millis(1)), REFUSED_STEP_FAST);
        assert_eq!(refused_step_max(REFUSED_FAST_FOR), REFUSED_STEP_MAX);
        // The default policy's delays while the cloud restarts: never more than the fast step
        // apart, so an agent is back within half a second of the cloud listening.
        let policy = ReconnectPolicy::default();
        let mut backoff = Backoff::new(policy.initial, policy.max).spread_first();
        for _ in 0..50 {
            assert!(backoff.next_delay_capped(refused_step_max(Duration::ZERO)) <= REFUSED_STEP_FAST);
        }
    }
}
