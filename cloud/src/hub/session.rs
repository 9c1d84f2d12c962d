//! One agent's session: hello, then delivery of its outbox, acknowledgements and
//! heartbeats until the link ends.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures_util::FutureExt;
use jasiyo_shared::{AgentMessage, CloudMessage, Hello, Outcome, RouterId, RouterStatus, Seq, decode};
use tokio::time::Instant;
use tracing::Instrument;

use super::SharedLimiter;
use super::limits::capped;
use super::registry::Registration;
use super::{Hub, HubEvent};
use crate::model::{ResultRecorded, Router};
use crate::store::{Connect, StoreError, now_ms};

mod counters;
mod deliver;
mod end;
mod hello;
mod limited;
mod split;
mod too_new;
mod v2;
mod wire;

use end::End;
use hello::{read_hello, send};

/// Frames handled together at most.
const MAX_BATCH: usize = 256;

/// Serves one upgraded connection from an authenticated router (as it was read when its
/// token was checked).
/// `handshake` is its place under the cap on handshakes, freed as the welcome goes out.
pub async fn run(hub: Arc<Hub>, authenticated: Router, mut socket: WebSocket, handshake: super::HandshakeSlot) {
    let router = authenticated.id;
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
        let limiter = hub.limiter(router);
        let mut link = Session::new(hub.clone(), router, socket, registration, authenticated.token_hash, limiter);
        link.counters = counters::Reported::from_store(authenticated.counters);
        let end = link.serve(hello, handshake).await;
        let end = end.err().unwrap_or(End::Closed);
        match &end {
            End::Closed | End::Cancelled => tracing::info!(reason = %end, "agent session ended"),
            _ => tracing::warn!(router = %router, reason = %end, "agent session ended"),
        }
        if matches!(end, End::TokenChanged | End::Abuse) {
            // Said plainly, so the agent does not take it for a network fault.
            let close = link.socket.send(Message::Close(None));
            let _ = tokio::time::timeout(hub.config.heartbeat, close).await;
        }
        if matches!(end, End::TokenChanged) {
            hub.emit(HubEvent::TokenChanged(router));
        }
        if !matches!(end, End::TokenChanged | End::Abuse) {
            // A status kept back is the router's latest: written, not lost with the link.
            if let Err(error) = link.write_pending_status().await {
                tracing::warn!(router = %router, %error, "could not record the last status");
            }
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

struct Session<'a> {
    hub: Arc<Hub>,
    router: RouterId,
    socket: WebSocket,
    registration: Registration<'a>,
    /// Highest sequence number sent in this session.
    cursor: Option<Seq>,
    /// Sent but not yet confirmed durable.
    in_flight: BTreeSet<Seq>,
    /// When each command sent in this session and still without a result was enqueued
    /// (Unix ms), for the enqueue-to-result latency.
    enqueued: HashMap<Seq, i64>,
    last_heard: Instant,
    nonce: u64,
    /// The hash of the token this session was opened with: a different one in the store
    /// (rotated) ends the session, as does a revocation.
    token_hash: String,
    limiter: SharedLimiter,
    /// A status that came too soon after the last one written, and when to write it.
    pending_status: Option<(RouterStatus, Instant)>,
    /// Commands whose result came again on this connection, already stored.
    duplicates: BTreeSet<Seq>,
    /// The protocol version the agent said in its hello: nothing newer is sent to it.
    protocol: u16,
    /// The clock skew last written for this router in this session.
    skew_written: Option<i64>,
    /// The agent's counters (protocol 3), waiting for their status and last written.
    counters: counters::Reported,
}

impl<'a> Session<'a> {
    fn new(
        hub: Arc<Hub>,
        router: RouterId,
        socket: WebSocket,
        registration: Registration<'a>,
        token_hash: String,
        limiter: SharedLimiter,
    ) -> Self {
        Session {
            hub,
            router,
            socket,
            registration,
            cursor: None,
            in_flight: BTreeSet::new(),
            enqueued: HashMap::new(),
            last_heard: Instant::now(),
            nonce: 0,
            token_hash,
            limiter,
            pending_status: None,
            duplicates: BTreeSet::new(),
            protocol: jasiyo_shared::MIN_PROTOCOL_VERSION,
            skew_written: None,
            counters: Default::default(),
        }
    }

    async fn serve(&mut self, hello: Hello, handshake: super::HandshakeSlot) -> Result<(), End> {
        if hello.journal_reset {
            tracing::warn!(journal_high = ?hello.journal_high, "agent started a fresh journal; re-delivering every open command");
        }
        let journal_high = super::rollback::believed(self.router, hello.journal_high);
        let start = Connect {
            router: self.router,
            session: self.registration.session,
            agent_version: hello.agent_version.clone(),
            token_hash: self.token_hash.clone(),
            journal_high,
            now_ms: now_ms(),
        };
        let started = self.hub.connects.ask(start).await?;
        if let (true, Some(high)) = (started.seq_moved, journal_high) {
            super::rollback::moved(self.router, high);
        }
        if !started.recorded {
            return Err(End::TokenChanged);
        }
        self.hub.registry.recorded(self.router, self.registration.session);
        let heartbeat = self.hub.config.heartbeat;
        self.protocol = hello.protocol;
        let heartbeat_ms = heartbeat.as_millis().min(u32::MAX as u128) as u32;
        // The costly part (token, rollback, the connect write) is done: the place is free
        // before the agent can hear it is welcome.
        drop(handshake);
        self.send(&hello::welcome(self.router, heartbeat_ms, hello.protocol, now_ms())).await?;
        tracing::info!(agent_version = %hello.agent_version, protocol = hello.protocol, journal_high = ?hello.journal_high, "agent connected");
        self.hub.emit(HubEvent::Connected(self.router));
        // The start's write checked the token and whether the outbox holds anything: with
        // nothing waiting there is nothing to read (a command enqueued since wakes the session).
        if started.pending {
            self.top_up().await?;
        }

        let mut tick = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let wake = self.registration.wake.clone();
        let cancel = self.registration.cancel.clone();
        loop {
            let status_due = self.pending_status.as_ref().map(|(_, due)| *due);
            tokio::select! {
                _ = cancel.cancelled() => return Err(End::Cancelled),
                frame = self.socket.recv() => self.on_frame(frame).await?,
                _ = wake.notified() => self.top_up().await?,
                _ = tick.tick() => self.on_tick().await?,
                _ = tokio::time::sleep_until(status_due.unwrap_or_else(Instant::now)), if status_due.is_some() => {
                    self.write_pending_status().await?;
                }
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
        let mut received: Vec<Seq> = messages
            .iter()
            .filter_map(|m| if let AgentMessage::Received { seq } = m { Some(*seq) } else { None })
            .filter(|seq| !finished.contains(seq))
            .collect();
        // Only what this session sent can be received: anything else would be a write for
        // nothing, and counts against the agent.
        let before = received.len();
        received.retain(|seq| self.in_flight.contains(seq));
        for _ in received.len()..before {
            self.strike()?;
        }
        let store = self.hub.store.clone();
        store.mark_received(self.router, &received, now_ms()).await?;
        // Results are recorded together too, before any is acknowledged.
        let limits = &self.hub.limits;
        let messages: Vec<AgentMessage> = messages
            .into_iter()
            .map(|m| match m {
                AgentMessage::Result { seq, outcome } => AgentMessage::Result { seq, outcome: capped(limits, outcome) },
                other => other,
            })
            .collect();
        // A conflict is not the command's result: it is numbered again (rollback.rs).
        let results: Vec<(Seq, &Outcome)> = messages
            .iter()
            .filter_map(|m| if let AgentMessage::Result { seq, outcome } = m { Some((*seq, outcome)) } else { None })
            .filter(|(_, outcome)| !outcome.is_sequence_conflict())
            .collect();
        let mut recorded =
            if results.is_empty() { Vec::new() } else { store.record_results(self.router, &results, now_ms()).await? }.into_iter();
        let window_was_full = self.in_flight.len() as u32 >= self.hub.config.window;
        for message in messages {
            match message {
                AgentMessage::Result { seq, outcome } if outcome.is_sequence_conflict() => {
                    super::rollback::renumber(&self.hub, self.router, seq).await?;
                    self.in_flight.remove(&seq);
                    self.feed(&CloudMessage::ResultAck { seq }).await?;
                    self.hub.wake(self.router);
                }
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
            AgentMessage::Status(status) => self.on_status(status).await?,
            AgentMessage::Report(report) => {
                let id = report.id;
                if !self.report_allowed(&report)? {
                    return Ok(());
                }
                if store.record_report(self.router, &report, now_ms()).await? {
                    tracing::info!(report = id, event = ?report.event, "agent report");
                }
                self.send(&CloudMessage::ReportAck { id }).await?;
                self.hub.emit(HubEvent::Report(self.router, id));
            }
            AgentMessage::Clock { skew_ms } => self.on_clock(skew_ms).await?,
            AgentMessage::Usage(usage) => self.on_usage(usage).await?,
            AgentMessage::Counters(counters) => self.on_counters(counters)?,
        }
        Ok(())
    }

    /// Logs a recorded result and acknowledges it.
    async fn on_result(&mut self, seq: Seq, outcome: Outcome, recorded: ResultRecorded) -> Result<(), End> {
        let metrics = self.hub.metrics().hub();
        metrics.command_result(result_label(&outcome, recorded));
        if let Some(at) = self.enqueued.remove(&seq).filter(|_| recorded == ResultRecorded::New) {
            metrics.command_latency(Duration::from_millis((now_ms() - at).max(0) as u64));
        }
        match recorded {
            ResultRecorded::New => match &outcome {
                Outcome::Applied { .. } => tracing::info!(seq = seq.0, "command applied"),
                Outcome::Failed { message } => tracing::warn!(seq = seq.0, %message, "command failed on the router"),
            },
            ResultRecorded::Duplicate => {
                tracing::debug!(seq = seq.0, "duplicate result");
                // Once per command and connection is the protocol (an acknowledgement was
                // lost); more is an agent repeating itself at the database's expense.
                if !self.duplicates.insert(seq) {
                    self.strike()?;
                }
            }
            ResultRecorded::UnknownCommand => {
                tracing::warn!(seq = seq.0, "result for a command this router does not have");
                self.strike()?;
            }
        }
        // The command is finished either way; if it was still in flight, it no longer is.
        self.in_flight.remove(&seq);
        self.feed(&CloudMessage::ResultAck { seq }).await?;
        self.hub.emit(HubEvent::Result(self.router, seq));
        Ok(())
    }
}

/// The word a result is counted under (`commands{result}`).
pub(super) fn result_label(outcome: &Outcome, recorded: ResultRecorded) -> &'static str {
    match (recorded, outcome) {
        (ResultRecorded::New, Outcome::Applied { .. }) => "applied",
        (ResultRecorded::New, Outcome::Failed { .. }) => "failed",
        (ResultRecorded::Duplicate, _) => "duplicate",
        (ResultRecorded::UnknownCommand, _) => "unknown",
    }
}
