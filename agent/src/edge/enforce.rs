//! Expiry enforcement at the edge: at its absolute expiry a user is removed from the
//! router and its sessions and cookies ended, whether or not the cloud is reachable; the
//! cloud hears of it afterwards through a report.
//!
//! An attempt that fails is tried again after a pause that doubles each time, kept per
//! expiry (see [`expiries`](super::expiries)). When the user is off the router but its
//! sessions cannot be ended, the expiry is reported at once (with no sessions ended) and only
//! the sessions are retried. The expiry failing the longest is the edge's
//! [problem](Edge::problem), which the link shows in the router's status.

use jasiyo_shared::{AgentEvent, UnixTime};
use tokio::time::Instant;
use tracing::{info, warn};

use super::Edge;
use super::expiries::Failure;

impl Edge {
    /// Enforces every expiry due at `now` that is not pausing after a failure: removes the
    /// user, ends its sessions, reports it. Returns the names fully enforced; the others are
    /// tried again after their pause.
    pub async fn expire_once(&self, now: UnixTime) -> Vec<String> {
        let due = self.expiries().due(now, Instant::now());
        let mut expired = Vec::new();
        for name in due {
            let _turn = self.turn.write().await;
            let retrying_sessions = self.expiries().removal_reported(&name);
            match self.expire(&name).await {
                Ok(sessions_ended) => {
                    self.expiries().remove(&name);
                    if retrying_sessions {
                        info!(user = %name, sessions_ended, "the expired user's sessions ended at last");
                    } else {
                        info!(user = %name, sessions_ended, "user expired: removed from the router");
                    }
                    expired.push(name);
                }
                Err(failure) => self.retry_later(&name, now, failure),
            }
        }
        expired
    }

    /// Publishes the expiry failing the longest as the edge's problem, if that changed.
    pub(super) fn publish_problem(&self) {
        let problem = self.expiries().oldest_failure().map(|(name, error)| format!("expiry of {name} not enforced: {error}"));
        self.problem.send_if_modified(|current| {
            if *current == problem {
                return false;
            }
            match &problem {
                Some(problem) => warn!(%problem, "reporting a problem in the router's status"),
                None => info!("expiries enforced again; problem cleared"),
            }
            *current = problem;
            true
        });
    }

    /// One attempt at `name`'s expiry; returns the sessions ended.
    async fn expire(&self, name: &str) -> Result<u32, Failure> {
        let reported = self.expiries().removal_reported(name);
        let failed = |what: &str, error: &dyn std::fmt::Display, removal_reported: bool| Failure {
            error: format!("{what} failed: {error}"),
            removal_reported,
        };
        if !reported {
            self.remove_user(name).await.map_err(|e| failed("removing the user", &e, false))?;
        }
        let sessions_ended = match self.router.end_sessions(Some(name), None).await {
            Ok(n) => u32::try_from(n).unwrap_or(u32::MAX),
            Err(e) => {
                // The user is gone: that much is enforced, and the cloud hears of it now.
                let removal_reported = reported || self.report_expired(name, 0).await.is_ok();
                return Err(failed("ending its sessions", &e, removal_reported));
            }
        };
        if !reported {
            self.report_expired(name, sessions_ended).await.map_err(|e| failed("reporting it", &e, false))?;
        }
        let owned = name.to_string();
        self.journal.off_thread(move |j| j.remove_entitlement(&owned)).await.map_err(|e| failed("forgetting it", &e, true))?;
        Ok(sessions_ended)
    }

    async fn report_expired(&self, name: &str, sessions_ended: u32) -> Result<(), crate::journal::JournalError> {
        self.report(AgentEvent::UserExpired { name: name.to_string(), sessions_ended }).await
    }

    fn retry_later(&self, name: &str, now: UnixTime, failure: Failure) {
        let (error, removal_reported) = (failure.error.clone(), failure.removal_reported);
        let (first, max) = (self.config.retry_after, self.config.retry_max);
        if let Some(retry) = self.expiries().failed(name, now, failure, Instant::now(), first, max) {
            let retry_in_ms = u64::try_from(retry.delay.as_millis()).unwrap_or(u64::MAX);
            warn!(user = %name, %error, removal_reported, attempts = retry.attempts, retry_in_ms, "expiry not enforced yet; will retry");
        }
    }
}
