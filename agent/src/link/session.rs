//! One connection's conversation with the cloud: hello, welcome, then deliveries in,
//! acknowledgements and results out, heartbeats both ways, status now and then (and at once
//! when a problem appears or clears).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use futures_util::{FutureExt, SinkExt, StreamExt};
use jasiyo_shared::{AgentMessage, CloudMessage, Delivery, Outcome, RouterStatus, Seq, codec};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::{Link, LinkError, LinkState};
use crate::journal::{Existing, Recorded};
use handshake::Welcomed;

mod handshake;
mod usage;

/// The note of the result sent for a command delivered again after the cloud acknowledged
/// its result (the journal keeps only that it was done, not how).
pub const DONE_BEFORE: &str = "done before; its result was acknowledged earlier (the cloud was restored or failed over?)";

/// Frames handled together at most.
const MAX_BATCH: usize = 256;

/// How long the cloud may take to answer the hello.
pub const WELCOME_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one frame may take to write before the link counts as dead.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// The shortest heartbeat (or status interval) honoured, whatever is asked (guards against
/// a zero).
const MIN_HEARTBEAT: Duration = Duration::from_millis(10);

/// The agent's version, as reported in hellos and status.
pub const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// How a session ended.
#[derive(Debug)]
pub struct Ended {
    /// How long the session was up after the welcome (`None`: never welcomed).
    pub connected_for: Option<Duration>,
    /// `Ok` when it ended because the agent is shutting down.
    pub result: Result<(), LinkError>,
}

/// Runs one session over an established WebSocket until it fails or `shutdown`.
pub(crate) async fn run<S>(link: &mut Link, ws: WebSocketStream<S>, shutdown: &CancellationToken) -> Ended
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut session = Session {
        link,
        ws,
        sent: HashSet::new(),
        reports_sent: HashSet::new(),
        nonce: 0,
        v2: false,
        v3: false,
        usage_sent: HashMap::new(),
    };
    let welcome = tokio::select! {
        welcome = session.handshake() => welcome,
        _ = shutdown.cancelled() => {
            session.close(CloseCode::Away, "agent shutting down").await;
            return Ended { connected_for: None, result: Ok(()) };
        }
    };
    let welcome = match welcome {
        Ok(welcome) => welcome,
        Err(e) => return Ended { connected_for: None, result: Err(e) },
    };
    let welcomed_at = Instant::now();
    let result = session.serve(welcome, shutdown).await;
    if let Err(LinkError::Protocol(reason)) = &result {
        session.close(CloseCode::Protocol, reason).await;
    } else if result.is_ok() {
        session.close(CloseCode::Away, "agent shutting down").await;
    }
    Ended { connected_for: Some(welcomed_at.elapsed()), result }
}

struct Session<'a, S> {
    link: &'a mut Link,
    ws: WebSocketStream<S>,
    /// Results sent on this connection and not yet acknowledged.
    sent: HashSet<Seq>,
    /// Reports sent on this connection and not yet acknowledged.
    reports_sent: HashSet<u64>,
    nonce: u64,
    /// The cloud welcomed this connection in protocol 2: it takes protocol-2 messages.
    v2: bool,
    /// The cloud welcomed a protocol-3 hello: it takes the agent's counters.
    v3: bool,
    /// The data counters sent on this connection, by user: only changes are sent again.
    usage_sent: HashMap<String, (u64, u64)>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<'_, S> {
    /// After the welcome: catch up on results, then serve until the link fails or shutdown.
    async fn serve(&mut self, welcomed: Welcomed, shutdown: &CancellationToken) -> Result<(), LinkError> {
        let Welcomed { welcome, skew_ms } = welcomed;
        if welcome.router_id != self.link.router_id {
            return Err(LinkError::WrongRouter { welcomed: welcome.router_id, configured: self.link.router_id });
        }
        let heartbeat = Duration::from_millis(u64::from(welcome.heartbeat_ms)).max(MIN_HEARTBEAT);
        let silence_limit = heartbeat * 3;
        self.link.journal_reset = false;
        self.link.state.send_replace(LinkState::Connected);
        self.v2 = skew_ms.is_some();
        // A cloud that took our hello speaks the version it said (an older one refuses it).
        self.v3 = self.v2 && self.link.protocol >= 3;
        self.link.counters.cloud_connected();
        if let Some(skew_ms) = skew_ms {
            self.on_skew(skew_ms).await?;
        }
        info!(heartbeat_ms = heartbeat.as_millis() as u64, protocol = self.link.protocol, "connected to the cloud");
        // Problems that change after this mark are sent as they change; the status below
        // carries the current one.
        let mut problem = self.link.problem.clone();
        problem.mark_unchanged();
        self.send_new_results().await?;
        self.send_new_reports().await?;
        self.send_status().await?;
        let mut usage = self.link.usage.clone();
        usage.mark_unchanged();
        if self.v2 {
            self.send_usage().await?;
        }

        let start = tokio::time::Instant::now();
        let every = self.link.status_interval.max(MIN_HEARTBEAT); // a zero period would panic
        let mut ping = tokio::time::interval_at(start + heartbeat, heartbeat);
        let mut status = tokio::time::interval_at(start + every, every);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        status.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let dead = tokio::time::sleep(silence_limit);
        tokio::pin!(dead);
        let results = self.link.results.clone();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                frame = self.ws.next() => {
                    dead.as_mut().reset(tokio::time::Instant::now() + silence_limit);
                    let frame = frame.ok_or(LinkError::Closed)??;
                    let mut messages: Vec<CloudMessage> = decode_frame(frame)?.into_iter().collect();
                    // Frames already here are handled with it: their deliveries share one
                    // journal flush and their answers one write to the socket.
                    while messages.len() < MAX_BATCH {
                        match self.ws.next().now_or_never() {
                            Some(frame) => messages.extend(decode_frame(frame.ok_or(LinkError::Closed)??)?),
                            None => break,
                        }
                    }
                    self.on_messages(messages).await?;
                }
                _ = results.notified() => {
                    self.send_new_results().await?;
                    self.send_new_reports().await?;
                }
                _ = ping.tick() => {
                    self.nonce = self.nonce.wrapping_add(1);
                    self.send(&AgentMessage::Ping { nonce: self.nonce }).await?;
                }
                _ = status.tick() => self.send_status().await?,
                // A closed channel (no edge) disables this branch for the round.
                Ok(()) = problem.changed() => self.send_status().await?,
                Ok(()) = usage.changed(), if self.v2 => self.send_usage().await?,
                _ = &mut dead => return Err(LinkError::DeadLink(silence_limit)),
            }
        }
    }

    /// Handles messages that arrived together: the deliveries first (one journal flush),
    /// then the rest in order; the answers go out in one write.
    async fn on_messages(&mut self, messages: Vec<CloudMessage>) -> Result<(), LinkError> {
        let (deliveries, others): (Vec<_>, Vec<_>) = messages.into_iter().partition(|m| matches!(m, CloudMessage::Deliver(_)));
        let deliveries: Vec<Delivery> =
            deliveries.into_iter().filter_map(|m| if let CloudMessage::Deliver(d) = m { Some(d) } else { None }).collect();
        if !deliveries.is_empty() {
            self.on_deliveries(deliveries).await?;
        }
        for message in others {
            self.on_message(message).await?;
        }
        self.flush().await
    }

    async fn on_message(&mut self, message: CloudMessage) -> Result<(), LinkError> {
        match message {
            CloudMessage::Deliver(delivery) => self.on_deliveries(vec![delivery]).await,
            CloudMessage::ResultAck { seq } => {
                self.sent.remove(&seq);
                let forgotten = self.link.journal.off_thread(move |j| j.ack_result(seq)).await?;
                debug!(seq = seq.0, forgotten, "result acknowledged");
                Ok(())
            }
            CloudMessage::ReportAck { id } => {
                self.reports_sent.remove(&id);
                self.link.journal.off_thread(move |j| j.ack_report(id)).await?;
                debug!(report = id, "report acknowledged");
                Ok(())
            }
            CloudMessage::Ping { nonce } => self.send(&AgentMessage::Pong { nonce }).await,
            CloudMessage::Pong { .. } => Ok(()),
            CloudMessage::Rejected(reason) => Err(LinkError::Rejected(reason)),
            CloudMessage::Welcome(_) | CloudMessage::WelcomeAt(_) => {
                warn!("second welcome on one connection; ignored");
                Ok(())
            }
        }
    }

    /// Journals a delivery durably, then acknowledges it; a command seen before is not
    /// applied again, but its result is repeated if the cloud has not acknowledged it.
    /// Journals deliveries (one flush for all of them), then confirms each.
    async fn on_deliveries(&mut self, deliveries: Vec<Delivery>) -> Result<(), LinkError> {
        let (deliveries, recorded) = self.link.journal.off_thread(move |j| j.record_all(&deliveries).map(|r| (deliveries, r))).await?;
        let mut work = false;
        for (delivery, recorded) in deliveries.into_iter().zip(recorded) {
            let (seq, id, kind) = (delivery.seq, delivery.id, delivery.command.kind());
            self.feed(&AgentMessage::Received { seq }).await?;
            match recorded {
                Recorded::New => {
                    info!(seq = seq.0, %id, kind, "command received");
                    work = true;
                }
                Recorded::Duplicate(Existing::Pending) => {
                    debug!(seq = seq.0, %id, "delivered again; already journalled");
                    work = true;
                }
                Recorded::Duplicate(Existing::Done(outcome)) => {
                    debug!(seq = seq.0, %id, "delivered again; repeating its result");
                    self.sent.insert(seq);
                    self.feed(&AgentMessage::Result { seq, outcome }).await?;
                }
                // Only a cloud that lost the result it acknowledged (restored from a backup,
                // failed over) asks again: without an answer the command would stay open
                // there forever. Its outcome is no longer kept, only that it was carried out.
                Recorded::Duplicate(Existing::Acknowledged) => {
                    debug!(seq = seq.0, %id, "delivered again after its result was acknowledged; answering that it was done");
                    self.sent.insert(seq);
                    self.feed(&AgentMessage::Result { seq, outcome: Outcome::Applied { note: Some(DONE_BEFORE.into()) } }).await?;
                }
                // Never the journalled command's outcome as this one's: this one is refused,
                // and the cloud records why.
                Recorded::Conflict { journalled } => {
                    self.feed(&AgentMessage::Result { seq, outcome: Outcome::sequence_conflict(seq, journalled, id) }).await?;
                }
            }
        }
        if work {
            self.link.work.notify_one();
        }
        Ok(())
    }

    /// Sends every unacknowledged result not yet sent on this connection.
    async fn send_new_results(&mut self) -> Result<(), LinkError> {
        for (seq, outcome) in self.link.journal.unacked_results()? {
            if self.sent.insert(seq) {
                self.feed(&AgentMessage::Result { seq, outcome }).await?;
            }
        }
        self.flush().await
    }

    /// Sends every unacknowledged report not yet sent on this connection.
    async fn send_new_reports(&mut self) -> Result<(), LinkError> {
        for report in self.link.journal.unacked_reports()? {
            if self.reports_sent.insert(report.id) {
                self.feed(&AgentMessage::Report(report)).await?;
            }
        }
        self.flush().await
    }

    async fn send_status(&mut self) -> Result<(), LinkError> {
        let router = self.link.router_status.borrow().clone();
        let errors = [self.link.last_error.borrow().clone(), self.link.problem.borrow().clone(), router.last_error.clone()];
        let errors: Vec<String> = errors.into_iter().flatten().collect();
        let status = RouterStatus {
            journal_depth: u32::try_from(self.link.journal.depth()).unwrap_or(u32::MAX),
            agent_version: AGENT_VERSION.to_string(),
            last_error: (!errors.is_empty()).then(|| errors.join("; ")),
            ..router
        };
        // Before the status: the cloud writes them together.
        if self.v3 {
            self.feed(&AgentMessage::Counters(self.link.counters.snapshot())).await?;
        }
        self.feed(&AgentMessage::Status(status)).await?;
        if self.v2 {
            self.feed(&AgentMessage::Clock { skew_ms: self.link.clock.skew_ms() }).await?;
        }
        self.flush().await
    }

    async fn send(&mut self, message: &AgentMessage) -> Result<(), LinkError> {
        self.feed(message).await?;
        self.flush().await
    }

    /// Queues a message; it goes out at the next [`Session::flush`] (or when the buffer fills).
    async fn feed(&mut self, message: &AgentMessage) -> Result<(), LinkError> {
        let frame = codec::encode(message).map_err(|e| LinkError::Protocol(format!("cannot encode: {e}")))?;
        match tokio::time::timeout(WRITE_TIMEOUT, self.ws.feed(Message::binary(frame))).await {
            Ok(fed) => Ok(fed?),
            Err(_) => Err(LinkError::DeadLink(WRITE_TIMEOUT)),
        }
    }

    async fn flush(&mut self) -> Result<(), LinkError> {
        match tokio::time::timeout(WRITE_TIMEOUT, self.ws.flush()).await {
            Ok(flushed) => Ok(flushed?),
            Err(_) => Err(LinkError::DeadLink(WRITE_TIMEOUT)),
        }
    }

    /// Waits for the next protocol message, skipping WebSocket control frames.
    async fn recv(&mut self) -> Result<CloudMessage, LinkError> {
        loop {
            let frame = self.ws.next().await.ok_or(LinkError::Closed)??;
            if let Some(message) = decode_frame(frame)? {
                return Ok(message);
            }
        }
    }

    /// Says goodbye politely, without waiting long for a peer that may be gone.
    async fn close(&mut self, code: CloseCode, reason: &str) {
        let frame = CloseFrame { code, reason: truncate(reason, 120).into() };
        let _ = tokio::time::timeout(Duration::from_secs(1), self.ws.close(Some(frame))).await;
    }
}

/// Turns a WebSocket frame into a message: `None` for control frames, an error for anything
/// that is not exactly one binary-encoded `CloudMessage`.
fn decode_frame(frame: Message) -> Result<Option<CloudMessage>, LinkError> {
    match frame {
        Message::Binary(bytes) => codec::decode(&bytes).map(Some).map_err(|e| {
            warn!(error = %e, len = bytes.len(), "undecodable frame from the cloud");
            LinkError::Protocol(format!("undecodable frame: {e}"))
        }),
        Message::Text(_) => {
            warn!("text frame from the cloud; the protocol is binary");
            Err(LinkError::Protocol("text frame".into()))
        }
        Message::Close(_) => Err(LinkError::Closed),
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Ok(None),
    }
}

/// A message's name for logs (never its contents).
fn name(message: &CloudMessage) -> &'static str {
    match message {
        CloudMessage::Welcome(_) => "welcome",
        CloudMessage::Rejected(_) => "rejected",
        CloudMessage::Deliver(_) => "deliver",
        CloudMessage::ResultAck { .. } => "result_ack",
        CloudMessage::Ping { .. } => "ping",
        CloudMessage::Pong { .. } => "pong",
        CloudMessage::ReportAck { .. } => "report_ack",
        CloudMessage::WelcomeAt(_) => "welcome_at",
    }
}

fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
