//! A cloud serving agents on an ephemeral port, over a database other processes can open
//! too, and a raw agent speaking the protocol over a real WebSocket: for the hub's tests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use jasiyo_cloud::http::{AppState, router};
use jasiyo_cloud::hub::{AgentLimits, Hub, HubConfig, HubEvent};
use jasiyo_cloud::payments::sealer::Sealer;
use jasiyo_cloud::payments::{Payments, PaymentsConfig};
use jasiyo_cloud::store::testing::{Backend, fresh_database_url};
use jasiyo_cloud::store::{Store, now_ms};
use jasiyo_cloud::token::AgentToken;
use jasiyo_shared::{
    AGENT_WS_PATH, AgentMessage, CloudMessage, Hello, PROTOCOL_VERSION, ROUTER_ID_HEADER, RouterId, Seq, Welcome, WelcomeAt, decode, encode,
};
use tokio::net::TcpStream;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

/// How long any expected event may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// A database, its URL (for a second process's store) and a store on it.
pub struct World {
    /// Holds the SQLite file.
    pub dir: tempfile::TempDir,
    /// The database's URL.
    pub url: String,
    /// The cloud's store.
    pub store: Arc<dyn Store>,
}

impl World {
    /// A fresh database on `backend`, or `None` when that backend is not available.
    pub async fn new(backend: Backend) -> Option<World> {
        let dir = tempfile::TempDir::new().unwrap();
        let url = fresh_database_url(backend, dir.path()).await?;
        let store = jasiyo_cloud::store::connect(Some(&url), dir.path()).await.unwrap();
        Some(World { dir, url, store })
    }

    /// Another connection to the same database, as the CLI or another instance opens it.
    pub async fn other_process(&self) -> Arc<dyn Store> {
        jasiyo_cloud::store::connect(Some(&self.url), self.dir.path()).await.unwrap()
    }

    /// Revokes the router behind every instance's back: straight in the database, with no
    /// announcement (as a hand-edit or a lost notification would leave it).
    pub async fn revoke_unannounced(&self, router: RouterId) {
        use sqlx::Connection;
        let sql = "UPDATE routers SET revoked_at = 1 WHERE id = $1";
        if self.url.starts_with("sqlite:") {
            let mut db = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
            sqlx::query(sql).bind(router.to_string()).execute(&mut db).await.unwrap();
        } else {
            let mut db = sqlx::PgConnection::connect(&self.url).await.unwrap();
            sqlx::query(sql).bind(router.to_string()).execute(&mut db).await.unwrap();
        }
    }

    /// A router with its token.
    pub async fn router(&self, name: &str) -> (RouterId, AgentToken) {
        let tenant = match self.store.find_tenant("t").await.unwrap() {
            Some(tenant) => tenant,
            None => self.store.create_tenant("t", now_ms()).await.unwrap(),
        };
        let token = AgentToken::generate();
        let router = self.store.create_router(tenant.id, name, &token.hash(), now_ms()).await.unwrap();
        (router.id, token)
    }
}

/// A cloud's HTTP service with its hub.
pub struct Cloud {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its hub.
    pub hub: Arc<Hub>,
    shutdown: CancellationToken,
}

impl Cloud {
    /// Serves `store` on an ephemeral port with these agent limits.
    pub async fn start(store: Arc<dyn Store>, limits: AgentLimits) -> Cloud {
        Cloud::start_with(store, HubConfig { heartbeat: Duration::from_secs(5), ..HubConfig::default() }, limits).await
    }

    /// [`Cloud::start`] with this hub configuration.
    pub async fn start_with(store: Arc<dyn Store>, config: HubConfig, limits: AgentLimits) -> Cloud {
        let shutdown = CancellationToken::new();
        let hub = Hub::start_with_limits(store.clone(), config, limits, shutdown.clone());
        let payments = Payments::new(store, hub.clone(), Sealer::new([7; 32]), PaymentsConfig::new("http://127.0.0.1")).unwrap();
        let app = router(AppState::new(hub.clone(), payments));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, service).with_graceful_shutdown(stop.cancelled_owned()).await
        });
        Cloud { addr, hub, shutdown }
    }

    /// Stops serving and ends the sessions.
    pub fn stop(&self) {
        self.shutdown.cancel();
    }
}

/// Waits for the first event matching `wanted`.
pub async fn next_event(events: &mut broadcast::Receiver<HubEvent>, what: &str, wanted: impl Fn(&HubEvent) -> bool) -> HubEvent {
    let found = async {
        loop {
            match events.recv().await {
                Ok(event) if wanted(&event) => return event,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("hub events closed waiting for {what}"),
            }
        }
    };
    tokio::time::timeout(WAIT, found).await.unwrap_or_else(|_| panic!("no {what} within {WAIT:?}"))
}

/// A raw agent connection.
pub struct RawAgent {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl RawAgent {
    /// Connects as `router` with `token`; `Err` carries the HTTP status of a refusal.
    pub async fn connect(cloud: &Cloud, router: RouterId, token: &str) -> Result<RawAgent, u16> {
        RawAgent::connect_to(cloud.addr, router, token).await
    }

    /// [`RawAgent::connect`] to a cloud serving at `addr`.
    pub async fn connect_to(addr: SocketAddr, router: RouterId, token: &str) -> Result<RawAgent, u16> {
        let mut request = format!("ws://{addr}{AGENT_WS_PATH}").into_client_request().unwrap();
        request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        request.headers_mut().insert(ROUTER_ID_HEADER, router.to_string().parse().unwrap());
        match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request)).await.expect("connects in time") {
            Ok((ws, _)) => Ok(RawAgent { ws }),
            Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
            Err(other) => panic!("connecting: {other}"),
        }
    }

    /// Connects and says hello in the newest protocol, reporting `journal_high`; returns
    /// once welcomed.
    pub async fn welcomed(cloud: &Cloud, router: RouterId, token: &str, journal_high: Option<Seq>) -> RawAgent {
        RawAgent::welcomed_in(cloud.addr, router, token, journal_high, PROTOCOL_VERSION).await.0
    }

    /// [`RawAgent::welcomed`] by a cloud serving at `addr`.
    pub async fn welcomed_at(addr: SocketAddr, router: RouterId, token: &str, journal_high: Option<Seq>) -> RawAgent {
        RawAgent::welcomed_in(addr, router, token, journal_high, PROTOCOL_VERSION).await.0
    }

    /// Connects to the cloud at `addr` and says hello in `protocol`; returns once welcomed,
    /// with the welcome.
    pub async fn welcomed_in(
        addr: SocketAddr,
        router: RouterId,
        token: &str,
        journal_high: Option<Seq>,
        protocol: u16,
    ) -> (RawAgent, CloudMessage) {
        let mut agent = RawAgent::connect_to(addr, router, token).await.expect("accepted");
        let hello = Hello { protocol, agent_version: "raw".into(), journal_high, journal_reset: false };
        agent.send(&AgentMessage::Hello(hello)).await;
        match agent.recv().await {
            Some(welcome @ CloudMessage::Welcome(Welcome { router_id, .. })) if router_id == router => (agent, welcome),
            Some(welcome @ CloudMessage::WelcomeAt(WelcomeAt { router_id, .. })) if router_id == router => (agent, welcome),
            other => panic!("expected a welcome, got {other:?}"),
        }
    }

    /// Sends a message.
    pub async fn send(&mut self, message: &AgentMessage) {
        self.ws.send(Message::binary(encode(message).unwrap())).await.unwrap();
    }

    /// Sends a message if the link is still up; false once the cloud has closed it.
    pub async fn try_send(&mut self, message: &AgentMessage) -> bool {
        self.ws.send(Message::binary(encode(message).unwrap())).await.is_ok()
    }

    /// The next protocol message, or `None` once the cloud closed the link.
    pub async fn recv(&mut self) -> Option<CloudMessage> {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next()).await.expect("a message or the end in time");
            match frame {
                Some(Ok(Message::Binary(bytes))) => return Some(decode(&bytes).unwrap()),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// Every message until the cloud answers `Ping { nonce }` (so all sent before it were
    /// handled), without the `Pong`.
    pub async fn until_pong(&mut self, nonce: u64) -> Vec<CloudMessage> {
        self.send(&AgentMessage::Ping { nonce }).await;
        let mut seen = Vec::new();
        loop {
            match self.recv().await {
                Some(CloudMessage::Pong { nonce: n }) if n == nonce => return seen,
                Some(other) => seen.push(other),
                None => panic!("closed before the pong; saw {seen:?}"),
            }
        }
    }

    /// Closes the link as an agent going away does.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }

    /// Waits until the cloud closes the link, failing on any command delivered meanwhile.
    pub async fn closed_without_deliveries(&mut self) {
        while let Some(message) = self.recv().await {
            assert!(!matches!(message, CloudMessage::Deliver(_)), "delivered after the end: {message:?}");
        }
    }
}
