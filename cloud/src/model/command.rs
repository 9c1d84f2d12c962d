//! Commands in a router's outbox and where each is in its life.

use jasiyo_shared::{Command, CommandId, Outcome, RouterId, Seq};
use serde::Serialize;

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
