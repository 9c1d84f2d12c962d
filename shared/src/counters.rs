//! Protocol 3: the agent's own counters ([`AgentCounters`]), sent with each status so the
//! operator sees how each agent is doing: commands applied and how long RouterOS took,
//! RouterOS errors by kind, and reconnections to the cloud and to the router.
//!
//! Counters count from the agent's start ([`AgentCounters::since_ms`] says when) and go
//! back to zero when it restarts: a reader that sums them across reports (the cloud's
//! metrics) adds the difference between two reports of the same start, and the whole
//! report after a restart.

use serde::{Deserialize, Serialize};

/// Upper bounds (milliseconds) of the apply-time buckets; one more bucket counts everything
/// slower than the last.
pub const APPLY_BUCKETS_MS: [u32; 10] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10_000];

/// How many of the latest commands [`AgentCounters::recent_p50_ms`] and
/// [`AgentCounters::recent_max_ms`] look at.
pub const RECENT_APPLIES: usize = 64;

/// An agent's counters since it started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentCounters {
    /// When the agent started counting (Unix ms, its own clock): a new value means it
    /// restarted and the counters began again from zero.
    pub since_ms: i64,
    /// Commands the router carried out.
    pub commands_applied: u64,
    /// Commands refused for good (by the router, or invalid).
    pub commands_failed: u64,
    /// How long the router took for each command applied or refused, in the buckets of
    /// [`APPLY_BUCKETS_MS`] (not cumulative: one count per bucket, then one for slower).
    pub apply_buckets: Vec<u64>,
    /// The sum of those times, in milliseconds.
    pub apply_sum_ms: u64,
    /// The latest command's time.
    pub last_apply_ms: Option<u32>,
    /// The median time of the latest [`RECENT_APPLIES`] commands.
    pub recent_p50_ms: Option<u32>,
    /// The longest time among the latest [`RECENT_APPLIES`] commands.
    pub recent_max_ms: Option<u32>,
    /// Failed calls to the RouterOS API, by kind.
    pub routeros_errors: RouterOsErrors,
    /// Times the link to the cloud was established again after the first.
    pub cloud_reconnects: u64,
    /// Times the RouterOS API connection was opened again after the first (it died, or
    /// the router went away and came back).
    pub router_reconnects: u64,
}

/// Failed RouterOS API calls since the agent started, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterOsErrors {
    /// The router refused a command (`!trap`).
    pub refused: u64,
    /// The router closed the API connection (`!fatal`).
    pub fatal: u64,
    /// No answer in time.
    pub timeout: u64,
    /// The connection could not be made or broke.
    pub connection: u64,
    /// The router sent something that is not the RouterOS API.
    pub protocol: u64,
    /// Login was refused.
    pub login: u64,
    /// TLS could not be set up.
    pub tls: u64,
}

impl RouterOsErrors {
    /// Each kind's name (as the cloud's metrics label it) and count.
    pub fn by_kind(&self) -> [(&'static str, u64); 7] {
        [
            ("refused", self.refused),
            ("fatal", self.fatal),
            ("timeout", self.timeout),
            ("connection", self.connection),
            ("protocol", self.protocol),
            ("login", self.login),
            ("tls", self.tls),
        ]
    }

    /// All kinds together.
    pub fn total(&self) -> u64 {
        self.by_kind().iter().map(|(_, n)| n).sum()
    }
}

impl AgentCounters {
    /// Whether the counts hold together: one count per apply bucket.
    pub fn well_formed(&self) -> bool {
        self.apply_buckets.len() == APPLY_BUCKETS_MS.len() + 1
    }

    /// Commands timed (applied or refused).
    pub fn applies(&self) -> u64 {
        self.apply_buckets.iter().sum()
    }
}
