//! A tiny in-test cloud speaking the agent protocol over a real WebSocket on an ephemeral
//! port, an executor that counts what it is asked to do, and a way to run the agent.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use jasiyo_agent::{Agent, AgentConfig, ApplyFuture, ExecError, Executor, LinkState, ReconnectPolicy, Token};
use jasiyo_shared::{AgentMessage, CloudMessage, Command, CommandId, Delivery, Hello, Outcome, RouterId, Seq, Welcome, WelcomeAt, codec};
use tempfile::TempDir;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderMap, StatusCode};
use tokio_util::sync::CancellationToken;

/// How long any single expected event may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// The token every test agent uses.
pub const TOKEN: &str = "test-token-123";

/// A listening fake cloud.
pub struct FakeCloud {
    listener: TcpListener,
    /// Base URL to give the agent.
    pub url: String,
}

/// One accepted agent connection.
pub struct Conn {
    ws: WebSocketStream<TcpStream>,
    /// The upgrade request's path.
    pub path: String,
    /// The upgrade request's headers.
    pub headers: HeaderMap,
}

impl FakeCloud {
    /// Listens on an ephemeral port of 127.0.0.1.
    pub async fn start() -> FakeCloud {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        FakeCloud { listener, url }
    }

    /// Waits for the agent's next connection and completes the upgrade.
    #[allow(clippy::result_large_err)] // the callback's signature is tungstenite's
    pub async fn accept(&self) -> Conn {
        let (stream, _) = timeout(WAIT, self.listener.accept()).await.expect("agent connects").unwrap();
        let mut seen = None;
        let ws = tokio_tungstenite::accept_hdr_async(stream, |req: &Request, resp: Response| {
            seen = Some((req.uri().path().to_string(), req.headers().clone()));
            Ok(resp)
        })
        .await
        .expect("upgrade");
        let (path, headers) = seen.unwrap();
        Conn { ws, path, headers }
    }

    /// Waits for the agent's next connection and refuses the upgrade with `status`.
    pub async fn refuse(&self, status: StatusCode) {
        self.refuse_with(status, None).await;
    }

    /// Waits for the agent's next connection and answers it 503 with `Retry-After: secs`.
    pub async fn busy(&self, retry_after_secs: u64) {
        self.refuse_with(StatusCode::SERVICE_UNAVAILABLE, Some(retry_after_secs.to_string())).await;
    }

    #[allow(clippy::result_large_err)] // the callback's signature is tungstenite's
    async fn refuse_with(&self, status: StatusCode, retry_after: Option<String>) {
        let (stream, _) = timeout(WAIT, self.listener.accept()).await.expect("agent connects").unwrap();
        let refused = tokio_tungstenite::accept_hdr_async(stream, |_: &Request, _: Response| {
            let mut response = ErrorResponse::new(Some("refused".into()));
            *response.status_mut() = status;
            if let Some(retry_after) = retry_after {
                response.headers_mut().insert("retry-after", retry_after.parse().unwrap());
            }
            Err(response)
        })
        .await;
        assert!(refused.is_err());
    }
}

impl Conn {
    /// The next message, whatever it is.
    pub async fn recv(&mut self) -> AgentMessage {
        loop {
            let frame = timeout(WAIT, self.ws.next()).await.expect("a message from the agent");
            match frame.expect("connection open").expect("frame") {
                Message::Binary(bytes) => return codec::decode(&bytes).expect("agent frames decode"),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected frame from the agent: {other:?}"),
            }
        }
    }

    /// The next message that is not a heartbeat or a status report.
    pub async fn recv_skipping_chatter(&mut self) -> AgentMessage {
        loop {
            match self.recv().await {
                AgentMessage::Ping { .. } | AgentMessage::Status(_) => continue,
                other => return other,
            }
        }
    }

    /// Sends one protocol message.
    pub async fn send(&mut self, message: CloudMessage) {
        self.send_raw(Message::binary(codec::encode(&message).unwrap())).await;
    }

    /// Sends any WebSocket frame.
    pub async fn send_raw(&mut self, frame: Message) {
        self.ws.send(frame).await.expect("send to the agent");
    }

    /// Reads the hello.
    pub async fn hello(&mut self) -> Hello {
        match self.recv().await {
            AgentMessage::Hello(hello) => hello,
            other => panic!("expected a hello first, got {other:?}"),
        }
    }

    /// Reads the hello and welcomes the agent with a long heartbeat.
    pub async fn welcome(&mut self, router_id: RouterId) -> Hello {
        self.welcome_with_heartbeat(router_id, 60_000).await
    }

    /// Reads the hello and welcomes the agent.
    pub async fn welcome_with_heartbeat(&mut self, router_id: RouterId, heartbeat_ms: u32) -> Hello {
        let hello = self.hello().await;
        self.send(CloudMessage::Welcome(Welcome { router_id, heartbeat_ms })).await;
        hello
    }

    /// Reads the hello and welcomes the agent as a protocol-2 cloud whose clock reads
    /// `now_ms`.
    pub async fn welcome_at(&mut self, router_id: RouterId, now_ms: i64) -> Hello {
        let hello = self.hello().await;
        self.send(CloudMessage::WelcomeAt(WelcomeAt { router_id, heartbeat_ms: 60_000, now_ms })).await;
        hello
    }

    /// Delivers a command.
    pub async fn deliver(&mut self, delivery: &Delivery) {
        self.send(CloudMessage::Deliver(delivery.clone())).await;
    }

    /// Delivers [`remove`]`(seq)` and expects it acknowledged, then reported applied.
    pub async fn deliver_and_expect_applied(&mut self, seq: u64) {
        self.deliver(&remove(seq)).await;
        assert_eq!(self.recv_skipping_chatter().await, AgentMessage::Received { seq: Seq(seq) });
        assert_eq!(self.recv_skipping_chatter().await, AgentMessage::Result { seq: Seq(seq), outcome: applied() });
    }

    /// Proves nothing else was sent in between: pings and expects the matching pong as the
    /// next message that is not chatter.
    pub async fn expect_nothing_pending(&mut self, nonce: u64) {
        self.send(CloudMessage::Ping { nonce }).await;
        assert_eq!(self.recv_skipping_chatter().await, AgentMessage::Pong { nonce });
    }

    /// Waits until the agent ends the connection (close frame, reset or end of stream).
    pub async fn closed_by_agent(&mut self) {
        timeout(WAIT, async {
            loop {
                match self.ws.next().await {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await
        .expect("the agent ends the connection");
    }
}

/// A command for tests.
pub fn remove(seq: u64) -> Delivery {
    Delivery { seq: Seq(seq), id: command_id(seq), command: Command::RemoveHotspotUser { name: format!("user{seq}") } }
}

/// The same command id for the same number every time: a command delivered again is the
/// same command.
pub fn command_id(seq: u64) -> CommandId {
    format!("00000000-0000-4000-8000-{seq:012x}").parse().expect("a well-formed id")
}

/// The outcome the counting executor reports.
pub fn applied() -> Outcome {
    Outcome::Applied { note: None }
}

/// Counts calls per sequence number; can be told to fail some calls transiently first.
#[derive(Default)]
pub struct Counting {
    calls: Mutex<Vec<Seq>>,
    failures: Mutex<HashMap<Seq, VecDeque<ExecError>>>,
    holds: Mutex<HashMap<Seq, Arc<Notify>>>,
    called: Notify,
}

impl Counting {
    /// Makes the next `times` attempts at `seq` fail transiently.
    pub fn fail(&self, seq: u64, times: usize) {
        let errors = (0..times).map(|i| ExecError::Transient(format!("router away ({i})"))).collect();
        self.failures.lock().unwrap().insert(Seq(seq), errors);
    }

    /// Makes applying `seq` hang until [`Counting::release`].
    pub fn hold(&self, seq: u64) {
        self.holds.lock().unwrap().insert(Seq(seq), Arc::new(Notify::new()));
    }

    /// Lets a held `seq` finish applying.
    pub fn release(&self, seq: u64) {
        if let Some(gate) = self.holds.lock().unwrap().remove(&Seq(seq)) {
            gate.notify_one();
        }
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Seq> {
        self.calls.lock().unwrap().clone()
    }

    /// How many times `seq` was applied (or attempted).
    pub fn count(&self, seq: u64) -> usize {
        self.calls().iter().filter(|s| s.0 == seq).count()
    }

    /// Waits until at least `n` calls were made.
    pub async fn wait_for_calls(&self, n: usize) {
        timeout(WAIT, async {
            loop {
                let called = self.called.notified();
                if self.calls.lock().unwrap().len() >= n {
                    return;
                }
                called.await;
            }
        })
        .await
        .expect("the executor is called");
    }
}

impl Executor for Counting {
    fn apply<'a>(&'a self, seq: Seq, _command: &'a Command) -> ApplyFuture<'a> {
        self.calls.lock().unwrap().push(seq);
        self.called.notify_waiters();
        let failure = self.failures.lock().unwrap().get_mut(&seq).and_then(VecDeque::pop_front);
        let gate = self.holds.lock().unwrap().get(&seq).cloned();
        Box::pin(async move {
            if let Some(gate) = gate {
                gate.notified().await;
            }
            match failure {
                Some(error) => Err(error),
                None => Ok(applied()),
            }
        })
    }
}

/// A running agent.
pub struct Running {
    pub executor: Arc<Counting>,
    pub state: watch::Receiver<LinkState>,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

/// Where most tests start: a fake cloud, and one router whose agent keeps its journal in a
/// temporary directory that lasts as long as this does.
pub struct Rig {
    /// The cloud the agent dials.
    pub cloud: FakeCloud,
    /// The router the agent speaks for.
    pub router: RouterId,
    dir: TempDir,
}

impl Rig {
    /// A listening fake cloud, a fresh router id and an empty journal directory.
    pub async fn new() -> Rig {
        Rig { cloud: FakeCloud::start().await, router: RouterId::new(), dir: TempDir::new().unwrap() }
    }

    /// The agent's configuration (see [`config`]); the same journal every time.
    pub fn config(&self) -> AgentConfig {
        config(&self.cloud, self.router, self.dir.path())
    }

    /// Starts the agent with [`Rig::config`] and welcomes its first connection.
    pub async fn start_welcomed(&self) -> (Running, Conn) {
        let agent = start(self.config());
        (agent, self.welcomed().await)
    }

    /// Accepts the agent's next connection and welcomes it as this router.
    pub async fn welcomed(&self) -> Conn {
        let mut conn = self.cloud.accept().await;
        conn.welcome(self.router).await;
        conn
    }
}

/// A configuration for an agent of router `router_id` keeping its journal in `data_dir`.
pub fn config(cloud: &FakeCloud, router_id: RouterId, data_dir: &Path) -> AgentConfig {
    AgentConfig {
        cloud_url: cloud.url.clone(),
        router_id,
        token: Token::new(TOKEN.into()),
        data_dir: data_dir.to_path_buf(),
        ca_file: None,
        reconnect: ReconnectPolicy::fast_for_tests(),
        status_interval: Duration::from_secs(3600),
        clock_offset_secs: 0,
    }
}

/// `config` with retries slow enough that a test reliably sees the `Disconnected` state
/// (and its reason) before the next attempt replaces it.
pub fn observable(mut config: AgentConfig) -> AgentConfig {
    config.reconnect =
        ReconnectPolicy { initial: Duration::from_millis(400), max: Duration::from_secs(1), stable_after: Duration::from_secs(60) };
    config
}

/// Starts an agent with `config`.
pub fn start(config: AgentConfig) -> Running {
    let executor = Arc::new(Counting::default());
    let agent = Agent::open(config, executor.clone()).expect("agent opens");
    let state = agent.link_state();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(agent.run(shutdown.clone()));
    Running { executor, state, shutdown, task }
}

impl Running {
    /// Waits until the link state satisfies `pred`.
    pub async fn wait_state(&mut self, pred: impl FnMut(&LinkState) -> bool) -> LinkState {
        timeout(WAIT, self.state.wait_for(pred)).await.expect("link state reached").expect("agent alive").clone()
    }

    /// Stops the agent and waits for it to finish.
    pub async fn stop(self) {
        self.shutdown.cancel();
        timeout(WAIT, self.task).await.expect("agent stops").expect("no panic").expect("clean exit");
    }
}
