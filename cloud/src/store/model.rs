//! The records the store keeps, as the rest of the cloud sees them.

use std::fmt;
use std::str::FromStr;

use jasiyo_shared::{AgentEvent, Command, CommandId, Outcome, RouterId, RouterStatus, Seq};
use serde::Serialize;
use uuid::Uuid;

/// Identifies a tenant (a router owner).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TenantId(pub Uuid);

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for TenantId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s.trim()).map(TenantId)
    }
}

/// A router owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// Its display name, unique across the cloud.
    pub name: String,
    /// When it was created (Unix ms).
    pub created_at: i64,
}

/// A router as the cloud knows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Router {
    /// Its id, which its agent presents with its token.
    pub id: RouterId,
    /// Its owner.
    pub tenant_id: TenantId,
    /// The owner's name for it, unique per tenant.
    pub name: String,
    /// SHA-256 of the agent token (hex). The token itself is never stored.
    #[serde(skip)]
    pub token_hash: String,
    /// When it was added (Unix ms).
    pub created_at: i64,
    /// When its token was revoked, if it was.
    pub revoked_at: Option<i64>,
    /// The live session id of its agent, if an agent is (or was last seen) connected.
    #[serde(skip)]
    pub online_session: Option<Uuid>,
    /// The last time its agent was heard from (Unix ms).
    pub last_seen_at: Option<i64>,
    /// The agent's version, from its last hello.
    pub agent_version: Option<String>,
    /// The last status the agent reported.
    pub status: Option<RouterStatus>,
    /// When that status arrived.
    pub status_at: Option<i64>,
}

impl Router {
    /// Whether the agent is connected: a session is registered and it was heard from
    /// recently. The second half keeps this true even if a cloud instance died without
    /// closing its sessions.
    pub fn is_online(&self, now_ms: i64, stale_after_ms: i64) -> bool {
        self.online_session.is_some() && self.last_seen_at.is_some_and(|seen| now_ms - seen <= stale_after_ms)
    }
}

/// Where a command is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandState {
    /// Waiting in the outbox.
    Queued,
    /// Sent to the agent, not yet confirmed durable there.
    Delivered,
    /// Durable in the agent's journal.
    Received,
    /// Applied on the router.
    Applied,
    /// Refused by the router for good.
    Failed,
}

impl CommandState {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandState::Queued => "queued",
            CommandState::Delivered => "delivered",
            CommandState::Received => "received",
            CommandState::Applied => "applied",
            CommandState::Failed => "failed",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => CommandState::Queued,
            "delivered" => CommandState::Delivered,
            "received" => CommandState::Received,
            "applied" => CommandState::Applied,
            "failed" => CommandState::Failed,
            _ => return None,
        })
    }
}

/// A command in a router's outbox.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StoredCommand {
    /// The router it is for.
    pub router_id: RouterId,
    /// Its place in that router's order.
    pub seq: Seq,
    /// Its global id.
    pub id: CommandId,
    /// What it asks for.
    pub command: Command,
    /// Where it is.
    pub state: CommandState,
    /// When it was enqueued (Unix ms).
    pub created_at: i64,
    /// When it was last sent to the agent.
    pub delivered_at: Option<i64>,
    /// When the agent confirmed it durable.
    pub received_at: Option<i64>,
    /// When its result arrived.
    pub finished_at: Option<i64>,
    /// Its result, once known.
    pub outcome: Option<Outcome>,
}

/// What became of a result the agent sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultRecorded {
    /// Stored now.
    New,
    /// A result was already stored; nothing changed.
    Duplicate,
    /// The router has no command with that sequence number.
    UnknownCommand,
}

/// Something an agent did on its own, as it reported it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RouterEvent {
    /// The router.
    pub router_id: RouterId,
    /// The agent's id for the report.
    pub report_id: u64,
    /// When it happened on the router (Unix seconds).
    pub happened_at: i64,
    /// When the cloud heard of it (Unix ms).
    pub received_at: i64,
    /// What happened.
    pub event: AgentEvent,
}
