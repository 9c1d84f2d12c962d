//! The messages on the phone-home link, named by their sender.
//!
//! The conversation: the agent opens with [`AgentMessage::Hello`]; the cloud answers
//! [`CloudMessage::Welcome`] (or [`CloudMessage::Rejected`] and closes), then streams
//! [`CloudMessage::Deliver`] in sequence order. The agent answers each with
//! [`AgentMessage::Received`] once the command is durable in its journal, and later with
//! [`AgentMessage::Result`]; the cloud confirms a stored result with
//! [`CloudMessage::ResultAck`] so the agent may forget it. Both sides send `Ping` and expect
//! `Pong` to notice dead links.
//!
//! Protocol 2 adds, as variants appended at the end (postcard numbers variants by position
//! and has no field names, so nothing is ever inserted or changed in place):
//! [`CloudMessage::WelcomeAt`] (the welcome with the cloud's clock, sent instead of
//! `Welcome` to an agent speaking 2), [`AgentMessage::Clock`] (the agent's clock skew, sent
//! with each `Status`) and [`AgentMessage::Usage`] (data used per hotspot user). A cloud
//! never sends a protocol-2 message to an agent that said 1, and an agent never sends one to
//! a cloud that welcomed it with a plain `Welcome`.
//!
//! Protocol 3 appends [`AgentMessage::Counters`]; an agent sends it only to a cloud that
//! welcomed a protocol-3 hello (an older cloud refuses the hello and the agent falls back).
//!
//! Protocol 4 adds no message: it appends [`crate::Command::UpsertHotspotUsers`], which a
//! cloud delivers only to an agent that said 4 (an older one gets one command per user).

use serde::{Deserialize, Serialize};

use crate::{Command, CommandId, Outcome, RouterId, Seq};

/// Sent by the agent.
///
/// `Hello` must stay the first variant and `protocol` its first field for ever: that is
/// how a cloud recognises the version of an agent it cannot otherwise understand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgentMessage {
    /// First message of every connection.
    Hello(Hello),
    /// The command with this sequence number is durable in the agent's journal.
    Received {
        /// The command's sequence number.
        seq: Seq,
    },
    /// The command's final outcome on the router. Repeated until the cloud acknowledges it.
    Result {
        /// The command's sequence number.
        seq: Seq,
        /// What happened.
        outcome: Outcome,
    },
    /// Liveness probe; the cloud answers `Pong` with the same nonce.
    Ping {
        /// Echoed back.
        nonce: u64,
    },
    /// Answer to the cloud's `Ping`.
    Pong {
        /// The nonce of the `Ping`.
        nonce: u64,
    },
    /// What the agent knows about itself and its router.
    Status(RouterStatus),
    /// Something the agent did on its own (expiry, repairs). Repeated until acknowledged.
    Report(Report),
    /// Protocol 2: how far the agent's clock is from the cloud's, measured at the last
    /// welcome. Sent with each `Status`.
    Clock {
        /// The agent's clock minus the cloud's, in milliseconds (positive: the router is
        /// fast).
        skew_ms: i64,
    },
    /// Protocol 2: bytes counted by the router for the hotspot users the agent manages,
    /// only those whose totals changed since the last report; at most
    /// [`MAX_USAGE_PER_MESSAGE`] per message.
    Usage(Vec<UserUsage>),
    /// Protocol 3: the agent's own counters since it started, sent just before each
    /// `Status` (see [`crate::counters`]).
    Counters(crate::AgentCounters),
}

/// The most [`UserUsage`] entries one [`AgentMessage::Usage`] carries; more go in several
/// messages. Keeps a message well under [`crate::MAX_FRAME_BYTES`] (a name is at most a few
/// dozen bytes).
pub const MAX_USAGE_PER_MESSAGE: usize = 200;

/// A hotspot user's data totals as the router counts them (RouterOS `bytes-in`/`bytes-out`
/// of `/ip/hotspot/user`, which reset when the user is removed or the counters reset).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserUsage {
    /// The hotspot user's name.
    pub name: String,
    /// Bytes received from the user's devices (upload).
    pub bytes_in: u64,
    /// Bytes sent to the user's devices (download).
    pub bytes_out: u64,
}

/// Something the agent did without being asked, kept in its journal until the cloud
/// acknowledges it (it may have happened while the cloud was unreachable).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Unique per agent journal; the cloud acknowledges by it and ignores repeats.
    pub id: u64,
    /// When it happened.
    pub at: crate::UnixTime,
    /// What happened.
    pub event: AgentEvent,
}

/// What an agent did on its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentEvent {
    /// A hotspot user reached its expiry: removed from the router, sessions ended.
    UserExpired {
        /// The user.
        name: String,
        /// How many active sessions were ended. 0 also when the router would not end them:
        /// the user is reported as soon as it is off the router, the agent keeps trying to
        /// end its sessions, and the error shows in [`RouterStatus::last_error`] meanwhile.
        sessions_ended: u32,
    },
    /// Reconciliation found the router different from the journal and repaired it.
    Drift {
        /// Users that were missing or altered and were restored.
        restored: Vec<String>,
        /// Users carrying our marker that should not exist and were removed.
        removed: Vec<String>,
        /// Users carrying our marker that the journal did not know (after a journal reset)
        /// and that were adopted, to be enforced at their expiry.
        adopted: Vec<String>,
    },
}

/// The agent's opening message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// [`crate::PROTOCOL_VERSION`] of the agent's build. Must stay the first field.
    pub protocol: u16,
    /// The agent's own version (its crate version).
    pub agent_version: String,
    /// Highest sequence number in the agent's journal, if any. The cloud moves the router's
    /// counter past it, so that after a database restore (numbers gone back) new commands
    /// are not numbered like ones the agent holds. Part of protocol 1 from the start:
    /// fields are never added to a postcard struct in place (the encoding has no names or
    /// lengths), so anything new needs a new protocol version.
    pub journal_high: Option<Seq>,
    /// The journal was lost (damaged and quarantined, or new): the cloud must re-deliver
    /// every command that has no result yet. It always does; this makes it visible.
    pub journal_reset: bool,
}

/// Sent by the cloud.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CloudMessage {
    /// The hello was accepted.
    Welcome(Welcome),
    /// The hello was refused; the cloud closes the connection after this.
    Rejected(RejectReason),
    /// A command to journal and apply.
    Deliver(Delivery),
    /// The cloud stored the result for this sequence number; the agent may forget it.
    ResultAck {
        /// The command's sequence number.
        seq: Seq,
    },
    /// Liveness probe; the agent answers `Pong` with the same nonce.
    Ping {
        /// Echoed back.
        nonce: u64,
    },
    /// Answer to the agent's `Ping`.
    Pong {
        /// The nonce of the `Ping`.
        nonce: u64,
    },
    /// The cloud stored the report with this id; the agent may forget it.
    ReportAck {
        /// The report's id.
        id: u64,
    },
    /// Protocol 2: the hello was accepted; sent instead of `Welcome` to an agent speaking 2.
    WelcomeAt(WelcomeAt),
}

/// The cloud's answer to an accepted protocol-2 hello: a [`Welcome`] with the cloud's clock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WelcomeAt {
    /// The router this connection was authenticated as.
    pub router_id: RouterId,
    /// As [`Welcome::heartbeat_ms`].
    pub heartbeat_ms: u32,
    /// The cloud's clock when it sent this (Unix milliseconds).
    pub now_ms: i64,
}

impl WelcomeAt {
    /// The parts every welcome has.
    pub fn welcome(&self) -> Welcome {
        Welcome { router_id: self.router_id, heartbeat_ms: self.heartbeat_ms }
    }
}

/// The cloud's answer to an accepted hello.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The router this connection was authenticated as.
    pub router_id: RouterId,
    /// How often (milliseconds) each side should ping; a side that hears nothing for three of these
    /// considers the link dead.
    pub heartbeat_ms: u32,
}

/// Why the cloud refused a hello.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum RejectReason {
    /// The agent speaks a protocol version this cloud does not.
    #[error("protocol version {agent} is not supported (the cloud speaks {cloud})")]
    UnsupportedVersion {
        /// What the agent sent.
        agent: u16,
        /// What the cloud speaks.
        cloud: u16,
    },
    /// The first message was not a hello, or could not be read.
    #[error("bad hello: {0}")]
    BadHello(String),
}

/// One command on its way to the agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Position in the router's command order.
    pub seq: Seq,
    /// Global id, for logs and the owner's dashboard.
    pub id: CommandId,
    /// What to do.
    pub command: Command,
}

/// A router's state as its agent reports it. Every field is optional: the agent sends what
/// it knows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterStatus {
    /// RouterOS `/system/identity` name.
    pub identity: Option<String>,
    /// RouterOS version.
    pub routeros_version: Option<String>,
    /// Board name.
    pub board: Option<String>,
    /// Router uptime in seconds.
    pub uptime_secs: Option<u64>,
    /// CPU load in percent.
    pub cpu_load: Option<u8>,
    /// Free memory in bytes.
    pub free_memory: Option<u64>,
    /// Number of active hotspot sessions.
    pub active_sessions: Option<u32>,
    /// Commands in the agent's journal that are not yet finished with.
    pub journal_depth: u32,
    /// The agent's version.
    pub agent_version: String,
    /// The errors the agent has not recovered from, if any, joined by `; `: a command the
    /// router would not take yet, an expiry it keeps refusing, the router unreachable. The
    /// agent sends a status as soon as an expiry starts or stops failing, not on every retry.
    pub last_error: Option<String>,
}
