//! The agent's own counters since it started (commands applied and their times, RouterOS
//! errors by kind, reconnections), shared by the apply loop, the RouterOS client and the
//! link, and sent to a protocol-3 cloud with each status as [`AgentCounters`].

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use jasiyo_shared::{APPLY_BUCKETS_MS, AgentCounters, RECENT_APPLIES};

use crate::routeros::ApiError;

/// The counters (cheap to update from any task).
#[derive(Debug)]
pub struct Counters {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    counts: AgentCounters,
    /// The latest apply times (ms), newest last.
    recent: VecDeque<u32>,
    /// Links to the cloud established so far.
    welcomes: u64,
    /// RouterOS API connections opened so far.
    logins: u64,
}

impl Counters {
    /// Counting from now: `since_ms` is the agent's clock at its start (Unix ms).
    pub fn new(since_ms: i64) -> Counters {
        let counts = AgentCounters { since_ms, apply_buckets: vec![0; APPLY_BUCKETS_MS.len() + 1], ..AgentCounters::default() };
        Counters { inner: Mutex::new(Inner { counts, recent: VecDeque::new(), welcomes: 0, logins: 0 }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A command got its final outcome (`failed`: refused) after `took` on the router.
    pub fn applied(&self, failed: bool, took: Duration) {
        let ms = u32::try_from(took.as_millis()).unwrap_or(u32::MAX);
        let mut inner = self.lock();
        let counts = &mut inner.counts;
        if failed {
            counts.commands_failed += 1;
        } else {
            counts.commands_applied += 1;
        }
        let bucket = APPLY_BUCKETS_MS.iter().position(|bound| ms <= *bound).unwrap_or(APPLY_BUCKETS_MS.len());
        counts.apply_buckets[bucket] += 1;
        counts.apply_sum_ms += u64::from(ms);
        counts.last_apply_ms = Some(ms);
        inner.recent.push_back(ms);
        if inner.recent.len() > RECENT_APPLIES {
            inner.recent.pop_front();
        }
    }

    /// A RouterOS API call failed.
    pub fn routeros_error(&self, error: &ApiError) {
        let mut inner = self.lock();
        let errors = &mut inner.counts.routeros_errors;
        let kind = match error {
            ApiError::Trap { .. } => &mut errors.refused,
            ApiError::Fatal(_) => &mut errors.fatal,
            ApiError::Timeout(_) => &mut errors.timeout,
            ApiError::Io(_) => &mut errors.connection,
            ApiError::Protocol(_) => &mut errors.protocol,
            ApiError::Login(_) => &mut errors.login,
            ApiError::Tls(_) => &mut errors.tls,
        };
        *kind += 1;
    }

    /// The RouterOS API connection was opened (and logged in).
    pub fn router_connected(&self) {
        let mut inner = self.lock();
        inner.logins += 1;
        inner.counts.router_reconnects = inner.logins - 1;
    }

    /// The cloud welcomed the link.
    pub fn cloud_connected(&self) {
        let mut inner = self.lock();
        inner.welcomes += 1;
        inner.counts.cloud_reconnects = inner.welcomes - 1;
    }

    /// The counts now, with the recent median and maximum.
    pub fn snapshot(&self) -> AgentCounters {
        let inner = self.lock();
        let mut recent: Vec<u32> = inner.recent.iter().copied().collect();
        recent.sort_unstable();
        AgentCounters {
            recent_p50_ms: recent.get(recent.len().saturating_sub(1) / 2).copied(),
            recent_max_ms: recent.last().copied(),
            ..inner.counts.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_applies_errors_and_reconnects() {
        let counters = Counters::new(1_000);
        for ms in [3, 7, 40, 20_000] {
            counters.applied(false, Duration::from_millis(ms));
        }
        counters.applied(true, Duration::from_millis(30));
        counters.routeros_error(&ApiError::Io("refused".into()));
        counters.routeros_error(&ApiError::Io("refused".into()));
        counters.routeros_error(&ApiError::Trap { category: None, message: "no".into() });
        counters.cloud_connected();
        counters.router_connected();
        counters.router_connected();
        let c = counters.snapshot();
        assert_eq!((c.since_ms, c.commands_applied, c.commands_failed), (1_000, 4, 1));
        assert_eq!(c.apply_buckets, vec![1, 1, 0, 2, 0, 0, 0, 0, 0, 0, 1]);
        assert!(c.well_formed());
        assert_eq!(c.apply_sum_ms, 20_080);
        assert_eq!((c.last_apply_ms, c.recent_p50_ms, c.recent_max_ms), (Some(30), Some(30), Some(20_000)));
        assert_eq!((c.routeros_errors.connection, c.routeros_errors.refused, c.routeros_errors.total()), (2, 1, 3));
        assert_eq!((c.cloud_reconnects, c.router_reconnects), (0, 1));
    }
}
