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
