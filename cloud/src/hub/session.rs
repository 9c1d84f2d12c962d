//! One agent's session: hello, then delivery of its outbox, acknowledgements and
//! heartbeats until the link ends.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures_util::{FutureExt, SinkExt};
use jasiyo_shared::codec::peek_hello_version;
use jasiyo_shared::{
    AgentMessage, CloudMessage, CodecError, Delivery, Hello, Outcome, PROTOCOL_VERSION, RejectReason, RouterId, Seq, Welcome, decode,
    encode,
};
use tokio::time::Instant;
use tracing::Instrument;

use super::registry::Registration;
use super::{Hub, HubEvent, OFFLINE_AFTER_HEARTBEATS};
use crate::model::ResultRecorded;
use crate::store::{StoreError, now_ms};

/// Frames handled together at most.
const MAX_BATCH: usize = 256;

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
enum End {
    #[error("agent closed the link")]
    Closed,
    #[error("replaced by a newer connection, or shutting down")]
    Cancelled,
    #[error("no word from the agent for {} heartbeats", OFFLINE_AFTER_HEARTBEATS)]
    Silent,
    #[error("protocol error: {0}")]
    Protocol(&'static str),
    #[error("bad frame: {0}")]
    Frame(#[from] CodecError),
    #[error("link error: {0}")]
    Link(#[from] axum::Error),
    #[error("store error: {0}")]
    Store(#[from] StoreError),
}

/// Serves one upgraded connection from an authenticated router.
pub async fn run(hub: Arc<Hub>, router: RouterId, mut socket: WebSocket) {
    let span = tracing::info_span!("agent", router = %router);
    async move {
        let hello = match read_hello(&mut socket, hub.config.hello_timeout).await {
            Ok(hello) => hello,
            Err(reason) => {
                tracing::warn!(%reason, "agent hello refused");
                hub.emit(HubEvent::Refused(Some(router)));
                let _ = send(&mut socket, &CloudMessage::Rejected(reason)).await;
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
        };
        hub.live.send_modify(|n| *n += 1);
        let registration = hub.registry.register(router, &hub.shutdown);
        let session = registration.session;
        let mut link = Session::new(hub.clone(), router, socket, registration);
        let end = link.serve(hello).await;
        let end = end.err().unwrap_or(End::Closed);
        match &end {
            End::Closed | End::Cancelled => tracing::info!(reason = %end, "agent session ended"),
            _ => tracing::warn!(reason = %end, "agent session ended"),
        }
        drop(link);
        if let Err(error) = hub.store.router_disconnected(router, session, now_ms()).await {
            tracing::warn!(%error, "could not record disconnect");
        }
        hub.emit(HubEvent::Disconnected(router));
        hub.live.send_modify(|n| *n -= 1);
    }
    .instrument(span)
    .await
}

async fn read_hello(socket: &mut WebSocket, timeout: Duration) -> Result<Hello, RejectReason> {
    let frame = match tokio::time::timeout(timeout, socket.recv()).await {
        Err(_) => return Err(RejectReason::BadHello(format!("no hello within {timeout:?}"))),
        Ok(Some(Ok(Message::Binary(frame)))) => frame,
        Ok(Some(Ok(other))) => return Err(RejectReason::BadHello(format!("expected a binary frame, got {}", kind(&other)))),
        Ok(Some(Err(error))) => return Err(RejectReason::BadHello(error.to_string())),
        Ok(None) => return Err(RejectReason::BadHello("closed before hello".into())),
    };
    match peek_hello_version(&frame) {
        Some(PROTOCOL_VERSION) => {}
        Some(agent) => return Err(RejectReason::UnsupportedVersion { agent, cloud: PROTOCOL_VERSION }),
        None => return Err(RejectReason::BadHello("first message is not a hello".into())),
    }
    match decode::<AgentMessage>(&frame) {
        Ok(AgentMessage::Hello(hello)) => Ok(hello),
        Ok(_) => Err(RejectReason::BadHello("first message is not a hello".into())),
        Err(error) => Err(RejectReason::BadHello(error.to_string())),
    }
}

fn kind(message: &Message) -> &'static str {
    match message {
        Message::Text(_) => "text",
        Message::Binary(_) => "binary",
        Message::Ping(_) => "ping",
        Message::Pong(_) => "pong",
        Message::Close(_) => "close",
    }
}

async fn send(socket: &mut WebSocket, message: &CloudMessage) -> Result<(), End> {
    let frame = encode(message).map_err(End::Frame)?;
    socket.send(Message::Binary(frame.into())).await.map_err(End::Link)
}

struct Session<'a> {
    hub: Arc<Hub>,
    router: RouterId,
    socket: WebSocket,
    registration: Registration<'a>,
    /// Highest sequence number sent in this session.
    cursor: Option<Seq>,
    /// Sent but not yet confirmed durable.
    in_flight: BTreeSet<Seq>,
    last_heard: Instant,
    nonce: u64,
}

impl<'a> Session<'a> {
    fn new(hub: Arc<Hub>, router: RouterId, socket: WebSocket, registration: Registration<'a>) -> Self {
        Session { hub, router, socket, registration, cursor: None, in_flight: BTreeSet::new(), last_heard: Instant::now(), nonce: 0 }
    }

    async fn serve(&mut self, hello: Hello) -> Result<(), End> {
        if hello.journal_reset {
            tracing::warn!(journal_high = ?hello.journal_high, "agent started a fresh journal; re-delivering every open command");
        }
        let store = self.hub.store.clone();
        store.router_connected(self.router, self.registration.session, &hello.agent_version, now_ms()).await?;
        let heartbeat = self.hub.config.heartbeat;
        let welcome = Welcome { router_id: self.router, heartbeat_ms: heartbeat.as_millis().min(u32::MAX as u128) as u32 };
        self.send(&CloudMessage::Welcome(welcome)).await?;
        tracing::info!(agent_version = %hello.agent_version, journal_high = ?hello.journal_high, "agent connected");
        self.hub.emit(HubEvent::Connected(self.router));
        self.top_up().await?;

        let mut tick = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let wake = self.registration.wake.clone();
        let cancel = self.registration.cancel.clone();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return Err(End::Cancelled),
                frame = self.socket.recv() => self.on_frame(frame).await?,
                _ = wake.notified() => self.top_up().await?,
                _ = tick.tick() => self.on_tick().await?,
            }
        }
    }

    /// Handles a frame and every frame already waiting behind it, so that acknowledgements
    /// arriving together are recorded together (one statement for all the `Received`s).
    async fn on_frame(&mut self, frame: Option<Result<Message, axum::Error>>) -> Result<(), End> {
        let mut messages = Vec::new();
        if let Some(message) = self.read_frame(frame)? {
            messages.push(message);
        }
        while messages.len() < MAX_BATCH {
            // A frame already buffered; `recv` is cancel-safe, so a pending one stays queued.
            let Some(frame) = self.socket.recv().now_or_never() else { break };
            if let Some(message) = self.read_frame(frame)? {
                messages.push(message);
            }
        }
        self.on_messages(messages).await
    }

    fn read_frame(&mut self, frame: Option<Result<Message, axum::Error>>) -> Result<Option<AgentMessage>, End> {
        let frame = match frame {
            None | Some(Ok(Message::Close(_))) => return Err(End::Closed),
            Some(Err(error)) => return Err(End::Link(error)),
            Some(Ok(Message::Binary(frame))) => frame,
            // WebSocket-level pings are answered by the library; they still prove liveness.
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                self.last_heard = Instant::now();
                return Ok(None);
            }
            Some(Ok(Message::Text(_))) => return Err(End::Protocol("text frame")),
        };
        self.last_heard = Instant::now();
        decode::<AgentMessage>(&frame).map(Some).map_err(End::Frame)
    }

    async fn on_messages(&mut self, messages: Vec<AgentMessage>) -> Result<(), End> {
        // A result implies receipt: only commands without one in this batch are marked.
        let finished: BTreeSet<Seq> =
            messages.iter().filter_map(|m| if let AgentMessage::Result { seq, .. } = m { Some(*seq) } else { None }).collect();
        let received: Vec<Seq> = messages
            .iter()
            .filter_map(|m| if let AgentMessage::Received { seq } = m { Some(*seq) } else { None })
            .filter(|seq| !finished.contains(seq))
            .collect();
        let store = self.hub.store.clone();
        store.mark_received(self.router, &received, now_ms()).await?;
        // Results are recorded together too, before any is acknowledged.
        let results: Vec<(Seq, &Outcome)> = messages
            .iter()
            .filter_map(|m| if let AgentMessage::Result { seq, outcome } = m { Some((*seq, outcome)) } else { None })
            .collect();
        let mut recorded =
            if results.is_empty() { Vec::new() } else { store.record_results(self.router, &results, now_ms()).await? }.into_iter();
        let window_was_full = self.in_flight.len() as u32 >= self.hub.config.window;
        for message in messages {
            match message {
                AgentMessage::Result { seq, outcome } => {
                    let what = recorded.next().ok_or_else(|| End::Store(StoreError::Corrupt("a result went unrecorded".into())))?;
                    self.on_result(seq, outcome, what).await?;
                }
                other => self.on_message(other).await?,
            }
        }
        self.flush().await?;
        // Freed room in a full window may let queued commands go; otherwise any new
        // command arrives with a wake.
        if window_was_full {
            self.top_up().await?;
        }
        Ok(())
    }

    async fn on_message(&mut self, message: AgentMessage) -> Result<(), End> {
        let store = self.hub.store.clone();
        match message {
            AgentMessage::Hello(_) => return Err(End::Protocol("second hello")),
            AgentMessage::Received { seq } => {
                // Recorded with the rest of its batch (see `on_messages`).
                self.in_flight.remove(&seq);
                self.hub.emit(HubEvent::Received(self.router, seq));
            }
            AgentMessage::Result { .. } => unreachable!("results are handled with their batch"),
            AgentMessage::Ping { nonce } => self.send(&CloudMessage::Pong { nonce }).await?,
            AgentMessage::Pong { .. } => {}
            AgentMessage::Status(status) => {
                store.record_status(self.router, &status, now_ms()).await?;
                self.hub.emit(HubEvent::Status(self.router));
            }
            AgentMessage::Report(report) => {
                let id = report.id;
                if store.record_report(self.router, &report, now_ms()).await? {
                    tracing::info!(report = id, event = ?report.event, "agent report");
                }
                self.send(&CloudMessage::ReportAck { id }).await?;
                self.hub.emit(HubEvent::Report(self.router, id));
            }
        }
        Ok(())
    }

    /// Logs a recorded result and acknowledges it.
    async fn on_result(&mut self, seq: Seq, outcome: Outcome, recorded: ResultRecorded) -> Result<(), End> {
        match recorded {
            ResultRecorded::New => match &outcome {
                Outcome::Applied { .. } => tracing::info!(seq = seq.0, "command applied"),
                Outcome::Failed { message } => tracing::warn!(seq = seq.0, %message, "command failed on the router"),
            },
            ResultRecorded::Duplicate => tracing::debug!(seq = seq.0, "duplicate result"),
            ResultRecorded::UnknownCommand => tracing::warn!(seq = seq.0, "result for a command this router does not have"),
        }
        // The command is finished either way; if it was still in flight, it no longer is.
        self.in_flight.remove(&seq);
        self.feed(&CloudMessage::ResultAck { seq }).await?;
        self.hub.emit(HubEvent::Result(self.router, seq));
        Ok(())
    }

    /// Sends open commands past the cursor until the window is full.
    async fn top_up(&mut self) -> Result<(), End> {
        let room = self.hub.config.window.saturating_sub(self.in_flight.len() as u32);
        if room == 0 {
            return Ok(());
        }
        let commands = self.hub.store.open_commands(self.router, self.cursor, room).await?;
        if commands.is_empty() {
            return Ok(());
        }
        let seqs: Vec<Seq> = commands.iter().map(|c| c.seq).collect();
        // Send first, record after: the state is for people, and the write must not delay
        // the delivery (delivery is at-least-once whatever the record says).
        for stored in commands {
            let delivery = Delivery { seq: stored.seq, id: stored.id, command: stored.command };
            self.cursor = Some(stored.seq);
            self.in_flight.insert(stored.seq);
            self.feed(&CloudMessage::Deliver(delivery)).await?;
        }
        self.flush().await?;
        self.hub.store.mark_delivered(self.router, &seqs, now_ms()).await?;
        Ok(())
    }

    async fn on_tick(&mut self) -> Result<(), End> {
        let silent = self.last_heard.elapsed();
        if silent >= self.hub.config.stale_after() {
            return Err(End::Silent);
        }
        if silent >= self.hub.config.heartbeat {
            // The agent pings every heartbeat; probe only when it has gone quiet.
            self.nonce += 1;
            self.send(&CloudMessage::Ping { nonce: self.nonce }).await?;
        }
        Ok(())
    }

    async fn send(&mut self, message: &CloudMessage) -> Result<(), End> {
        self.feed(message).await?;
        self.flush().await
    }

    /// Queues a message; it goes out at the next [`Session::flush`] (or when the buffer
    /// fills), so a batch of deliveries or acknowledgements is one write to the socket.
    async fn feed(&mut self, message: &CloudMessage) -> Result<(), End> {
        let frame = encode(message).map_err(End::Frame)?;
        let feed = self.socket.feed(Message::Binary(frame.into()));
        // A peer that stops reading must not hold the session for ever.
        match tokio::time::timeout(self.hub.config.stale_after(), feed).await {
            Ok(fed) => fed.map_err(End::Link),
            Err(_) => Err(End::Silent),
        }
    }

    async fn flush(&mut self) -> Result<(), End> {
        match tokio::time::timeout(self.hub.config.stale_after(), self.socket.flush()).await {
            Ok(flushed) => flushed.map_err(End::Link),
            Err(_) => Err(End::Silent),
        }
    }
}
