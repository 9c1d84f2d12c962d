//! The edge: carrying out commands on a RouterOS router, and keeping the router true to the
//! journal on its own, even while the cloud is unreachable.
//!
//! - [`apply`]: the [`Executor`](crate::Executor) for RouterOS (idempotent upserts and removals);
//!   [`batch`]: many users in one command, pipelined.
//! - [`enforce`]: removing users at their expiry and ending their sessions; [`expiries`]:
//!   when each is due, and the pause before retrying one that failed.
//! - [`login`]: logging a device in, idempotently (a repeat finds it already in).
//! - [`reconcile`]: repairing drift between the router and the journal.
//! - [`maintenance`]: the loop that runs expiries, reconciliation and status refreshes on
//!   time, and reconciles as soon as the router is back after losing its connection.
//! - [`marker`]: the comment that marks the users we manage.
//! - [`trial`]: the hotspot's free trial on the router's server profiles.
//! - [`waiting`]: logins waiting for a device the hotspot does not see now (after a reboot).
//!
//! Commands and maintenance take turns on the router (a read-write lock: independent
//! commands run together, maintenance alone), so a repair never races a command. Every user
//! created for a plan is recorded as an entitlement in the journal *before* it is created on
//! the router; that record becomes durable with the command's outcome.

pub mod apply;
pub mod batch;
pub mod enforce;
pub mod expiries;
pub mod login;
pub mod maintenance;
pub mod marker;
pub mod reconcile;
pub mod trial;
pub mod waiting;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use jasiyo_shared::{AgentEvent, HotspotUser, RouterStatus, TRIAL_USER_PREFIX, UnixTime, UserUsage};
use tokio::sync::{Notify, RwLock, watch};
use tracing::{info, warn};

use crate::clock::Clock;
use crate::journal::{Journal, JournalError};
use crate::routeros::{ApiError, Router, UserSpec};

/// How often the edge checks the router on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EdgeConfig {
    /// Reconcile at least this often (and as soon as the router is back after its
    /// connection was lost).
    pub reconcile_every: Duration,
    /// Refresh the router's status this often.
    pub status_every: Duration,
    /// Wait this long before trying again after the router failed; each further failure of
    /// the same expiry (or reconciliation) doubles the pause.
    pub retry_after: Duration,
    /// The longest pause between two attempts at a failing expiry (or reconciliation).
    pub retry_max: Duration,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        EdgeConfig {
            reconcile_every: Duration::from_secs(300),
            status_every: Duration::from_secs(60),
            retry_after: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
        }
    }
}

/// Why an edge operation did not complete.
#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    /// The router failed.
    #[error(transparent)]
    Router(#[from] ApiError),
    /// The journal failed.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A hotspot user of that name exists on the router without our marker: the owner's
    /// own, which the agent never changes or removes. Final: retrying will not help.
    #[error("a hotspot user named {0:?} exists on the router and is not managed by Jasiyo (no jasiyo marker); left unchanged")]
    NotOurs(String),
    /// The router refused, for good, every user of a batch; the first reason.
    #[error("the router refused every user of the batch: {0}")]
    Refused(String),
}

/// The RouterOS side of the agent, shared by the apply loop and the maintenance loop.
pub struct Edge {
    router: Router,
    journal: Journal,
    /// Commands share the router (read side: they are independent of each other, the
    /// apply loop sees to that); maintenance has it alone (write side).
    turn: RwLock<()>,
    /// Entitlements changed: the maintenance loop re-plans.
    changed: Notify,
    /// Wakes the link to send new reports.
    reports: Arc<Notify>,
    status: watch::Sender<RouterStatus>,
    /// What keeps the edge from doing its job (an expiry the router keeps refusing), for
    /// the router's status: changes are sent to the cloud at once.
    problem: watch::Sender<Option<String>>,
    config: EdgeConfig,
    /// The journal was lost: marked users the journal does not know are adopted (and
    /// enforced at their expiry) instead of removed, until one reconciliation succeeded.
    adopt_unknown: AtomicBool,
    /// The entitlements' expiries, in time order (mirrors the journal).
    expiries: std::sync::Mutex<expiries::Expiries>,
    /// Expiries are in the cloud's time: compared against the router's clock less its skew.
    clock: Arc<Clock>,
    /// The data counters of the users we manage, as the last reconciliation read them.
    usage: watch::Sender<Vec<UserUsage>>,
    /// Logins waiting for their device to come back to the hotspot.
    waiting: std::sync::Mutex<waiting::WaitingLogins>,
}

impl Edge {
    /// The edge over `router`, keeping entitlements in `journal`.
    pub fn new(
        router: Router,
        journal: Journal,
        config: EdgeConfig,
        journal_reset: bool,
        reports: Arc<Notify>,
        clock: Arc<Clock>,
    ) -> Arc<Edge> {
        let mut known = expiries::Expiries::default();
        match journal.entitlements() {
            Ok(users) => users.iter().for_each(|u| known.set(&u.name, u.expires_at)),
            Err(e) => warn!(error = %e, "cannot read entitlements; expiries are found at the next reconciliation"),
        }
        Arc::new(Edge {
            router,
            journal,
            turn: RwLock::new(()),
            changed: Notify::new(),
            reports,
            status: watch::channel(RouterStatus::default()).0,
            problem: watch::channel(None).0,
            config,
            adopt_unknown: AtomicBool::new(journal_reset),
            expiries: std::sync::Mutex::new(known),
            clock,
            usage: watch::channel(Vec::new()).0,
            waiting: std::sync::Mutex::default(),
        })
    }

    /// The router's latest status as the edge saw it.
    pub fn status(&self) -> watch::Receiver<RouterStatus> {
        self.status.subscribe()
    }

    /// The data counters (`bytes-in`, `bytes-out`) of the users we manage, by name, as the
    /// router last reported them (at each reconciliation).
    pub fn usage(&self) -> watch::Receiver<Vec<UserUsage>> {
        self.usage.subscribe()
    }

    /// What keeps the edge from doing its job, if anything: changes when a problem appears,
    /// changes and goes away, not on every retry.
    pub fn problem(&self) -> watch::Receiver<Option<String>> {
        self.problem.subscribe()
    }

    /// Refreshes the cached router status (identity, version, load, sessions).
    pub async fn refresh_status(&self) {
        let info = self.router.info().await;
        let sessions = self.router.active_count().await;
        self.note_trial_sessions().await;
        self.status.send_modify(|status| match (info, sessions) {
            (Ok(info), Ok(sessions)) => {
                *status = RouterStatus {
                    identity: info.identity,
                    routeros_version: info.version,
                    board: info.board,
                    uptime_secs: info.uptime_secs,
                    cpu_load: info.cpu_load,
                    free_memory: info.free_memory,
                    active_sessions: Some(sessions),
                    ..RouterStatus::default()
                }
            }
            (Err(e), _) | (_, Err(e)) => status.last_error = Some(e.to_string()),
        });
    }

    /// Adds the devices on the free trial now (`T-<MAC>` sessions, not users of ours) to
    /// the usage the cloud is sent, so the cloud can count trial uses; their counters are
    /// not read (zero). A router that cannot say keeps the last ones.
    async fn note_trial_sessions(&self) {
        let Ok(sessions) = self.router.trial_sessions().await else { return };
        let trial: Vec<UserUsage> = sessions.into_iter().map(|s| UserUsage { name: s.user, bytes_in: 0, bytes_out: 0 }).collect();
        self.usage.send_if_modified(|current| {
            let mut next: Vec<UserUsage> = current.iter().filter(|u| !u.name.starts_with(TRIAL_USER_PREFIX)).cloned().collect();
            next.extend(trial);
            next.sort_by(|a, b| a.name.cmp(&b.name));
            let changed = *current != next;
            *current = next;
            changed
        });
    }

    /// When an expiry is next due, or a failed one next retried.
    fn next_expiry_attempt(&self) -> Option<tokio::time::Instant> {
        let expiries = self.expiries();
        let instant_at = |at| self.clock.instant_at(at);
        let due = expiries.earliest().map(instant_at);
        due.into_iter().chain(expiries.next_retry(instant_at)).min()
    }

    fn expiries(&self) -> std::sync::MutexGuard<'_, expiries::Expiries> {
        self.expiries.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn report(&self, event: AgentEvent) -> Result<(), JournalError> {
        info!(?event, "reporting to the cloud");
        let at = self.now();
        self.journal.off_thread(move |j| j.add_report(at, event)).await?;
        self.reports.notify_one();
        Ok(())
    }

    /// Now in the cloud's time (expiries and reports count in it).
    pub fn now(&self) -> UnixTime {
        self.clock.cloud_now()
    }

    /// Removes a user we manage and ends its sessions; returns the sessions ended.
    async fn remove_everywhere(&self, name: &str) -> Result<u32, ApiError> {
        self.remove_user(name).await?;
        Ok(self.router.end_sessions(Some(name), None).await? as u32)
    }

    /// Removes a user we manage from the router, if it is there.
    async fn remove_user(&self, name: &str) -> Result<(), ApiError> {
        if let Some(row) = self.router.find_user(name).await? {
            match self.router.remove_user(&row.id).await {
                Ok(()) => {}
                Err(e) if e.is_trap_containing("no such item") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// The spec a hotspot user of ours must have on the router.
pub fn spec_for(user: &HotspotUser) -> UserSpec {
    UserSpec {
        name: user.name.clone(),
        password: user.password.0.clone(),
        profile: user.profile.clone().unwrap_or_else(|| "default".into()),
        mac: user.mac,
        limit_uptime_secs: user.limit_uptime_secs,
        limit_bytes_total: user.limit_bytes_total,
        comment: marker::comment_for(user),
    }
}
