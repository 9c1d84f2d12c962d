//! A worker process: holds its share of the simulated agents (hello, heartbeats,
//! acknowledgements) and reports each event to the bench, one line each.

use super::*;
use jasiyo_agent::link::backoff::Backoff;
use jasiyo_agent::link::refused_step_max;
use jasiyo_shared::{AgentMessage, CloudMessage, Hello, MAX_FRAME_BYTES, Outcome, PROTOCOL_VERSION, decode, encode};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Each step of setting up a link (TCP, WebSocket upgrade, hello) gets this long.
pub(crate) const STEP_TIMEOUT: Duration = Duration::from_secs(15);
/// The shortest heartbeat honoured, whatever the cloud says (as the real agent does).
pub(crate) const MIN_HEARTBEAT: Duration = Duration::from_secs(1);

type Ws = WebSocketStream<TcpStream>;

pub async fn run(args: WorkerArgs) -> anyhow::Result<()> {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut agents = Vec::new();
    while let Some(line) = lines.next_line().await? {
        if line == "connect" {
            break;
        }
        agents.push(AgentCred::parse(&line).with_context(|| format!("worker: unexpected line {line:?}"))?);
    }
    let (out, reports) = mpsc::unbounded_channel();
    tokio::spawn(write_reports(reports));
    let gate = Arc::new(Semaphore::new(args.connect_concurrency.max(1)));
    let (done_tx, mut done) = mpsc::unbounded_channel::<Option<i64>>();
    let total = agents.len();
    for agent in agents {
        let source = source_addr(agent.index, args.source_addrs);
        tokio::spawn(agent_task(agent, args.cloud, source, gate.clone(), done_tx.clone(), out.clone(), args.reconnect));
    }
    let (mut ok, mut last_us) = (0, 0);
    for _ in 0..total {
        if let Some(Some(at)) = done.recv().await {
            ok += 1;
            last_us = last_us.max(at);
        }
    }
    let _ = out.send(Report::Connected { ok, last_us });
    // Hold the links until the bench says stop (or goes away); exiting closes them all.
    while let Some(line) = lines.next_line().await? {
        if line == "stop" {
            break;
        }
    }
    std::process::exit(0)
}

/// Writes reports to stdout, flushing whenever the queue runs dry.
pub(crate) async fn write_reports(mut reports: mpsc::UnboundedReceiver<Report>) -> std::io::Result<()> {
    let mut stdout = tokio::io::BufWriter::new(tokio::io::stdout());
    while let Some(report) = reports.recv().await {
        stdout.write_all(report.to_line().as_bytes()).await?;
        while let Ok(more) = reports.try_recv() {
            stdout.write_all(more.to_line().as_bytes()).await?;
        }
        stdout.flush().await?;
    }
    Ok(())
}

pub(crate) async fn agent_task(
    agent: AgentCred,
    cloud: SocketAddr,
    source: Ipv4Addr,
    gate: Arc<Semaphore>,
    done: mpsc::UnboundedSender<Option<i64>>,
    out: mpsc::UnboundedSender<Report>,
    reconnect: bool,
) {
    let permit = gate.acquire_owned().await.expect("the gate is never closed");
    let link = connect(&agent, cloud, source).await;
    drop(permit);
    let (mut ws, mut heartbeat) = match link {
        Ok(link) => link,
        Err(error) => {
            let _ = out.send(Report::Failed { index: agent.index, reason: format!("{error:#}") });
            let _ = done.send(None);
            return;
        }
    };
    let _ = done.send(Some(unix_us()));
    loop {
        let reason = serve(&mut ws, heartbeat, &agent, &out).await;
        let _ = out.send(Report::Dropped { index: agent.index, reason });
        if !reconnect {
            return;
        }
        (ws, heartbeat) = come_back(&agent, cloud, source, &out).await;
    }
}

/// Dials again until welcomed, the way the real agent does: its reconnect policy (the
/// first try spread over `[0, initial]`, then doubling delays with jitter, growing only up
/// to [`refused_step_max`] while connections are refused) and a 503's `Retry-After`
/// honoured with jitter.
pub(crate) async fn come_back(
    agent: &AgentCred,
    cloud: SocketAddr,
    source: Ipv4Addr,
    out: &mpsc::UnboundedSender<Report>,
) -> (Ws, Duration) {
    let policy = jasiyo_agent::ReconnectPolicy::default();
    let mut backoff = Backoff::new(policy.initial, policy.max).spread_first();
    let (mut hint, mut busy, mut refused_since) = (None, 0, None::<Instant>);
    loop {
        let delay = match (hint.take(), refused_since) {
            (Some(hint), _) => backoff.next_delay_at_least(hint),
            (None, Some(since)) => backoff.next_delay_capped(refused_step_max(since.elapsed())),
            (None, None) => backoff.next_delay(),
        };
        tokio::time::sleep(delay).await;
        match connect(agent, cloud, source).await {
            Ok(link) => {
                let _ = out.send(Report::Back { index: agent.index, at_us: unix_us(), busy });
                return link;
            }
            Err(error) => {
                let refused = error.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused);
                refused_since = if refused { Some(refused_since.unwrap_or_else(Instant::now)) } else { None };
                if let Some(tungstenite::Error::Http(response)) = error.downcast_ref::<tungstenite::Error>()
                    && response.status() == tungstenite::http::StatusCode::SERVICE_UNAVAILABLE
                {
                    busy += 1;
                    let seconds = response.headers().get("retry-after").and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
                    hint = seconds.map(Duration::from_secs);
                }
            }
        }
    }
}

pub(crate) async fn step<T>(what: &str, work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    match tokio::time::timeout(STEP_TIMEOUT, work).await {
        Ok(result) => result.with_context(|| what.to_string()),
        Err(_) => bail!("{what}: timed out after {STEP_TIMEOUT:?}"),
    }
}

/// TCP from `source`, WebSocket upgrade with the agent's credentials, hello, welcome.
pub(crate) async fn connect(agent: &AgentCred, cloud: SocketAddr, source: Ipv4Addr) -> anyhow::Result<(Ws, Duration)> {
    let stream = step("TCP connect", async {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(source.into(), 0))?;
        let stream = socket.connect(cloud).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    })
    .await?;
    let mut request = format!("ws://{cloud}/agent/v1/ws").into_client_request()?;
    request.headers_mut().insert("authorization", HeaderValue::from_str(&format!("Bearer {}", agent.token))?);
    request.headers_mut().insert("x-jasiyo-router-id", HeaderValue::from_str(&agent.router.to_string())?);
    // Small buffers, as the cloud uses: 20,000 links with the 128 KiB defaults would need gigabytes.
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES));
    let mut ws = step("WebSocket handshake", async {
        let (ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await?;
        Ok(ws)
    })
    .await?;
    let hello = Hello { protocol: PROTOCOL_VERSION, agent_version: "bench-fleet".into(), journal_high: None, journal_reset: false };
    send(&mut ws, &AgentMessage::Hello(hello)).await.context("sending hello")?;
    let welcome = step("waiting for Welcome", async {
        match recv(&mut ws).await? {
            CloudMessage::Welcome(welcome) => Ok(welcome),
            CloudMessage::WelcomeAt(at) => Ok(at.welcome()),
            CloudMessage::Rejected(reason) => bail!("rejected: {reason}"),
            other => bail!("expected Welcome, got {other:?}"),
        }
    })
    .await?;
    Ok((ws, Duration::from_millis(u64::from(welcome.heartbeat_ms)).max(MIN_HEARTBEAT)))
}

pub(crate) async fn send(ws: &mut Ws, message: &AgentMessage) -> anyhow::Result<()> {
    use futures_util::SinkExt;
    ws.send(Message::Binary(encode(message)?.into())).await?;
    Ok(())
}

/// The next protocol message, skipping WebSocket-level control frames.
pub(crate) async fn recv(ws: &mut Ws) -> anyhow::Result<CloudMessage> {
    loop {
        match ws.next().await {
            None => bail!("the cloud closed the link"),
            Some(Err(error)) => return Err(error.into()),
            Some(Ok(Message::Binary(frame))) => return Ok(decode(&frame)?),
            Some(Ok(Message::Close(close))) => bail!("the cloud closed the link: {close:?}"),
            Some(Ok(_)) => {}
        }
    }
}

/// Heartbeats and deliveries until the link ends; returns why it ended.
pub(crate) async fn serve(ws: &mut Ws, heartbeat: Duration, agent: &AgentCred, out: &mpsc::UnboundedSender<Report>) -> String {
    let mut ping = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut nonce = 0;
    loop {
        let result = tokio::select! {
            _ = ping.tick() => {
                nonce += 1;
                send(ws, &AgentMessage::Ping { nonce }).await
            }
            message = recv(ws) => match message {
                Ok(message) => on_message(ws, message, agent, out).await,
                Err(error) => Err(error),
            },
        };
        if let Err(error) = result {
            return format!("{error:#}");
        }
    }
}

pub(crate) async fn on_message(
    ws: &mut Ws,
    message: CloudMessage,
    agent: &AgentCred,
    out: &mpsc::UnboundedSender<Report>,
) -> anyhow::Result<()> {
    match message {
        CloudMessage::Deliver(delivery) => {
            let at_us = unix_us();
            let _ = out.send(Report::Delivered { router: agent.router, seq: delivery.seq.0, at_us });
            send(ws, &AgentMessage::Received { seq: delivery.seq }).await?;
            send(ws, &AgentMessage::Result { seq: delivery.seq, outcome: Outcome::Applied { note: None } }).await
        }
        CloudMessage::Ping { nonce } => send(ws, &AgentMessage::Pong { nonce }).await,
        CloudMessage::Pong { .. } | CloudMessage::ResultAck { .. } | CloudMessage::ReportAck { .. } => Ok(()),
        CloudMessage::Welcome(_) | CloudMessage::WelcomeAt(_) => bail!("a second Welcome"),
        CloudMessage::Rejected(reason) => bail!("rejected mid-session: {reason}"),
    }
}
