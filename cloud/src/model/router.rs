//! Routers as the cloud knows them, and what their agents report doing on their own.

use jasiyo_shared::{AgentEvent, RouterId, RouterStatus};
use serde::Serialize;
use uuid::Uuid;

use super::TenantId;

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
    /// When its agent's latest session began (Unix ms).
    pub connected_at: Option<i64>,
    /// When its agent's latest session that ended, ended (Unix ms).
    pub disconnected_at: Option<i64>,
    /// The agent's version, from its last hello.
    pub agent_version: Option<String>,
    /// The last status the agent reported.
    pub status: Option<RouterStatus>,
    /// When that status arrived.
    pub status_at: Option<i64>,
    /// The router's clock minus the cloud's (ms), as its agent last measured it (agents of
    /// protocol 2 and later); positive: the router is fast.
    pub clock_skew_ms: Option<i64>,
    /// When that was reported (Unix ms).
    pub clock_skew_at: Option<i64>,
    /// The agent's own counters since it started, sent with its last status that had them
    /// (agents of protocol 3 and later).
    pub counters: Option<jasiyo_shared::AgentCounters>,
}

pub use jasiyo_shared::{CLOCK_IN_STEP_MS, describe_skew};

impl Router {
    /// Whether the router's clock is known to be off by more than [`CLOCK_IN_STEP_MS`].
    pub fn clock_off(&self) -> bool {
        self.clock_skew_ms.is_some_and(|skew| skew.abs() > CLOCK_IN_STEP_MS)
    }

    /// Whether the agent is connected: a session is registered and it was heard from
    /// recently. The second half keeps this true even if a cloud instance died without
    /// closing its sessions.
    pub fn is_online(&self, now_ms: i64, stale_after_ms: i64) -> bool {
        self.online_session.is_some() && self.last_seen_at.is_some_and(|seen| now_ms - seen <= stale_after_ms)
    }

    /// Whether the agent is connected ([`Router::is_online`]) and since when.
    pub fn link(&self, now_ms: i64, stale_after_ms: i64) -> Link {
        if self.is_online(now_ms, stale_after_ms) {
            // Connected before its connect time was recorded: its first word is all we know.
            return Link::Online { since: self.connected_at.or(self.last_seen_at).unwrap_or(now_ms) };
        }
        let since = match self.online_session {
            // A session never closed (its cloud instance died): gone since its last word.
            Some(_) => self.last_seen_at,
            None => self.disconnected_at.or(self.last_seen_at),
        };
        Link::Offline { since }
    }
}

/// A router's link to its agent, and since when (Unix ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Link {
    /// Its agent is connected, since its session began.
    Online {
        /// When the session began.
        since: i64,
    },
    /// Its agent is not connected.
    Offline {
        /// When it went away; `None` if it never connected.
        since: Option<i64>,
    },
}

impl Link {
    /// Whether the agent is connected.
    pub fn is_online(&self) -> bool {
        matches!(self, Link::Online { .. })
    }

    /// Since when it has been so (`None`: offline, never connected).
    pub fn since(&self) -> Option<i64> {
        match *self {
            Link::Online { since } => Some(since),
            Link::Offline { since } => since,
        }
    }
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
