//! Rate-limit counters kept in the database, so that limits hold across every cloud
//! instance (see `payments::budgets`). On SQLite (one instance) they cost one write per
//! payment attempt and keep the same meaning.

use async_trait::async_trait;

use super::StoreResult;

/// One counter to bump: its key and fixed window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterHit {
    /// What is counted (`i:10.1.2.3`, `r:<router>`, ...), bounded in length by the caller.
    pub key: String,
    /// The window's start, Unix milliseconds (a multiple of its length).
    pub window_start: i64,
    /// When the row may be deleted, Unix milliseconds.
    pub expires_at: i64,
}

/// The counters.
#[async_trait]
pub trait RateCounters: Send + Sync {
    /// Adds one to each counter atomically (per counter: an upsert) and returns each
    /// counter's total in its window, in the order given.
    async fn bump_counters(&self, hits: &[CounterHit]) -> StoreResult<Vec<i64>>;
    /// Deletes counters whose windows have passed; returns how many.
    async fn forget_counters(&self, now_ms: i64) -> StoreResult<u64>;
    /// Prompts to `msisdn` started from `client_ip` since `since_ms` that the phone's owner
    /// cancelled: how many, and when the last was cancelled (Unix milliseconds).
    async fn cancelled_prompts(&self, msisdn: &str, client_ip: &str, since_ms: i64) -> StoreResult<(i64, Option<i64>)>;
}
