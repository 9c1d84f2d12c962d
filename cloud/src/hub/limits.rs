//! What one agent may make the cloud write, so a compromised router cannot starve the
//! database for every tenant.
//!
//! - A status is written at most once per [`AgentLimits::status_every`]; one arriving
//!   sooner waits (replacing any other waiting) and is written when the period is up, so
//!   the latest state is never lost, only delayed.
//! - Reports are written at most [`AgentLimits::reports_per_minute`] (as a burst, then at
//!   that rate); one beyond is dropped unacknowledged: an honest agent keeps it in its
//!   journal and sends it again on its next connection.
//! - Data usage messages (protocol 2) are written at most
//!   [`AgentLimits::usage_per_minute`] (as a burst, then at that rate), each of at most
//!   [`jasiyo_shared::MAX_USAGE_PER_MESSAGE`] users; one beyond is dropped (a strike).
//! - Results for commands the cloud has are bounded by the commands it sent. What an agent
//!   could repeat at will counts as a strike: a result for a command the router does not
//!   have, a result already stored sent again on the same connection (once is the protocol:
//!   an acknowledgement was lost), a receipt for a command not in flight, and every message
//!   dropped (a status kept back to be written later is not one: nothing is written).
//! - A status's free texts are cut to [`STATUS_TEXT_CHARS`] first (a long router error
//!   makes a shorter status, not a dropped one). Statuses still larger than
//!   [`AgentLimits::max_status_bytes`] and reports larger than
//!   [`AgentLimits::max_report_bytes`] are dropped; a result's text is cut to
//!   [`AgentLimits::max_outcome_chars`] (the command's fate is still recorded).
//! - More than [`AgentLimits::strikes_per_minute`] strikes (as a burst, then at that rate)
//!   is gross abuse: the session is closed.
//!
//! The counters belong to the router, not the connection, so reconnecting does not refill
//! them.

use std::time::Duration;

use jasiyo_shared::{Outcome, Report, RouterStatus};
use tokio::time::Instant;

/// Per-agent write limits (see the module documentation).
#[derive(Clone, Debug)]
pub struct AgentLimits {
    /// Statuses are written at most this often.
    pub status_every: Duration,
    /// Reports written per minute, at most (and as a burst).
    pub reports_per_minute: u32,
    /// Dropped or useless messages tolerated per minute (and as a burst) before
    /// the session is closed.
    pub strikes_per_minute: u32,
    /// The largest status written (its stored JSON, bytes).
    pub max_status_bytes: usize,
    /// The largest report written (its stored JSON, bytes).
    pub max_report_bytes: usize,
    /// A result's message or note is cut to this many characters.
    pub max_outcome_chars: usize,
    /// Data usage messages written per minute, at most (and as a burst). An honest agent
    /// sends a few per reconciliation (every few minutes) and on each connection.
    pub usage_per_minute: u32,
}

impl Default for AgentLimits {
    fn default() -> Self {
        Self {
            status_every: Duration::from_secs(3),
            reports_per_minute: 300,
            strikes_per_minute: 300,
            max_status_bytes: 4 * 1024,
            max_report_bytes: 48 * 1024,
            max_outcome_chars: 2 * 1024,
            usage_per_minute: 60,
        }
    }
}

/// A token bucket: `capacity` at most, refilled at `capacity` per minute.
#[derive(Clone, Debug)]
struct Bucket {
    tokens: f64,
    capacity: f64,
    at: Instant,
}

impl Bucket {
    fn full(per_minute: u32) -> Self {
        let capacity = f64::from(per_minute.max(1));
        Bucket { tokens: capacity, capacity, at: Instant::now() }
    }

    /// Takes one token if there is one.
    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * self.capacity / 60.0;
        self.tokens = (self.tokens + refill).min(self.capacity);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// One router's counters.
#[derive(Clone, Debug)]
pub(super) struct Limiter {
    reports: Bucket,
    usage: Bucket,
    strikes: Bucket,
    /// When the next status may be written.
    status_due: Instant,
}

/// What to do with a status.
pub(super) enum StatusVerdict {
    /// Write it now.
    Write,
    /// Keep it (replacing any kept) and write it at this time.
    Later(Instant),
    /// Drop it (too large).
    Drop,
}

/// The session has to end.
#[derive(Debug)]
pub(super) struct Abuse;

impl Limiter {
    pub(super) fn new(limits: &AgentLimits) -> Self {
        Limiter {
            reports: Bucket::full(limits.reports_per_minute),
            usage: Bucket::full(limits.usage_per_minute),
            strikes: Bucket::full(limits.strikes_per_minute),
            status_due: Instant::now(),
        }
    }

    /// Counts a strike; `Err` once there have been too many.
    pub(super) fn strike(&mut self) -> Result<(), Abuse> {
        if self.strikes.take() { Ok(()) } else { Err(Abuse) }
    }

    /// Whether `status` may be written now.
    pub(super) fn status(&mut self, limits: &AgentLimits, status: &RouterStatus) -> StatusVerdict {
        if json_len(status) > limits.max_status_bytes {
            return StatusVerdict::Drop;
        }
        let now = Instant::now();
        if now >= self.status_due {
            self.status_due = now + limits.status_every;
            StatusVerdict::Write
        } else {
            StatusVerdict::Later(self.status_due)
        }
    }

    /// A kept status is written now: the next may come a period later.
    pub(super) fn status_written(&mut self, limits: &AgentLimits) {
        self.status_due = Instant::now() + limits.status_every;
    }

    /// Whether a data usage message of `users` users may be written.
    pub(super) fn usage(&mut self, users: usize) -> bool {
        users <= jasiyo_shared::MAX_USAGE_PER_MESSAGE && self.usage.take()
    }

    /// Whether `report` may be written.
    pub(super) fn report(&mut self, limits: &AgentLimits, report: &Report) -> bool {
        json_len(report) <= limits.max_report_bytes && self.reports.take()
    }
}

/// The most characters of each free text of a status (a router error is a line or two).
pub const STATUS_TEXT_CHARS: usize = 512;

/// `text` cut to `chars` characters (on a character boundary).
fn cut(text: String, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => text[..at].to_string(),
        None => text,
    }
}

/// `status` with its free texts cut to the limit on outcome texts, so that a long router
/// error makes a shorter status, not one too large to write (the router's state would go
/// stale exactly while something is wrong).
pub(super) fn capped_status(mut status: RouterStatus) -> RouterStatus {
    let chars = STATUS_TEXT_CHARS;
    for text in [&mut status.identity, &mut status.routeros_version, &mut status.board, &mut status.last_error] {
        *text = text.take().map(|t| cut(t, chars));
    }
    status.agent_version = cut(std::mem::take(&mut status.agent_version), chars);
    status
}

/// `outcome` with its text cut to the limit (on a character boundary).
pub(super) fn capped(limits: &AgentLimits, outcome: Outcome) -> Outcome {
    let cut = |text: String| cut(text, limits.max_outcome_chars);
    match outcome {
        Outcome::Applied { note } => Outcome::Applied { note: note.map(cut) },
        Outcome::Failed { message } => Outcome::Failed { message: cut(message) },
    }
}

fn json_len(value: &impl serde::Serialize) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX, |v| v.len())
}
