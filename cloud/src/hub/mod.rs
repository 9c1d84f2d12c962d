//! The agents' hub: the WebSocket endpoint routers phone home to, the registry of live
//! sessions, and the wiring that wakes a session when its router's outbox grows.

mod auth;
mod batched;
mod connects;
mod handshakes;
mod limits;
mod lookups;
mod registry;
mod rollback;
mod session;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jasiyo_shared::{Command, RouterId, Seq};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::model::StoredCommand;
use crate::store::{Store, StoreResult, now_ms};
pub use auth::AuthError;
pub use handshakes::{Deferred, HandshakeLimits, HandshakeSlot};
pub use limits::{AgentLimits, STATUS_TEXT_CHARS};
pub use registry::Registry;
pub use session::run as serve_agent;

/// How many heartbeats without a word end an agent's link and show its router offline.
pub const OFFLINE_AFTER_HEARTBEATS: u32 = 3;

/// How the hub talks to agents.
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// How often each side pings when it has heard nothing; [`OFFLINE_AFTER_HEARTBEATS`]
    /// silent periods end a link.
    pub heartbeat: Duration,
    /// How long an agent has to send its hello after the upgrade.
    pub hello_timeout: Duration,
    /// Commands sent but not yet confirmed durable, per router, at most.
    pub window: u32,
    /// Agents between their upgrade request and their welcome, at most, and the line of
    /// upgrades waiting for a place (a restart's whole fleet dialling at once); past the line
    /// or its longest wait they are answered with HTTP 503 and a `Retry-After`.
    pub handshakes: HandshakeLimits,
    /// Where sessions and command results are counted.
    pub metrics: crate::metrics::Metrics,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(15),
            hello_timeout: Duration::from_secs(10),
            window: 32,
            handshakes: HandshakeLimits::default(),
            metrics: Default::default(),
        }
    }
}

impl HubConfig {
    /// How long without a word before a link counts as dead and its router as offline: the
    /// one value behind the session's silence check, its write timeouts and every router
    /// list (HTTP and CLI).
    pub fn stale_after(&self) -> Duration {
        self.heartbeat * OFFLINE_AFTER_HEARTBEATS
    }
}

/// Something that happened on the hub, for tests and observers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HubEvent {
    /// An agent completed its hello.
    Connected(RouterId),
    /// An agent's session ended.
    Disconnected(RouterId),
    /// An agent confirmed a command durable.
    Received(RouterId, Seq),
    /// An agent's result was stored (or was a duplicate of one stored).
    Result(RouterId, Seq),
    /// An agent's status report was stored.
    Status(RouterId),
    /// An agent's report was stored (or was a repeat of one stored).
    Report(RouterId, u64),
    /// An agent was refused (bad token, bad hello, wrong version).
    Refused(Option<RouterId>),
    /// Something an agent sent was dropped or delayed by its write limits
    /// ([`AgentLimits`]).
    Limited(RouterId),
    /// An agent's session was ended because its router's token was revoked or rotated.
    TokenChanged(RouterId),
    /// An agent's clock skew was stored (protocol 2).
    Clock(RouterId),
    /// An agent's report of data used per user was stored (protocol 2).
    Usage(RouterId),
}

/// The hub, shared by the HTTP layer and whoever enqueues commands.
pub struct Hub {
    /// Sessions whose end (and disconnect record) has not run yet.
    live: tokio::sync::watch::Sender<usize>,
    store: Arc<dyn Store>,
    config: HubConfig,
    limits: AgentLimits,
    /// Each router's write counters, kept across its reconnections.
    limiters: Mutex<HashMap<RouterId, SharedLimiter>>,
    registry: Registry,
    handshakes: handshakes::Handshakes,
    /// Session starts, recorded together.
    connects: connects::Connects,
    /// Routers read for token checks, together.
    lookups: lookups::Lookups,
    events: broadcast::Sender<HubEvent>,
    shutdown: CancellationToken,
}

impl Hub {
    /// Creates the hub and starts its background tasks (outbox watcher, last-seen
    /// flusher, session-start recorder, router reader), which stop on `shutdown`.
    pub fn start(store: Arc<dyn Store>, config: HubConfig, shutdown: CancellationToken) -> Arc<Hub> {
        Hub::start_with_limits(store, config, AgentLimits::default(), shutdown)
    }

    /// [`Hub::start`] with other write limits for agents than the defaults.
    pub fn start_with_limits(store: Arc<dyn Store>, config: HubConfig, limits: AgentLimits, shutdown: CancellationToken) -> Arc<Hub> {
        let (events, _) = broadcast::channel(4096);
        let handshakes = handshakes::Handshakes::new(config.handshakes);
        let connects = connects::start(store.clone(), shutdown.clone());
        let lookups = lookups::start(store.clone(), shutdown.clone());
        let hub = Arc::new(Hub {
            live: tokio::sync::watch::channel(0).0,
            store,
            config,
            limits,
            limiters: Mutex::default(),
            registry: Registry::default(),
            handshakes,
            connects,
            lookups,
            events,
            shutdown,
        });
        let weak = Arc::downgrade(&hub);
        hub.store.spawn_outbox_watcher(
            Arc::new(move |router| {
                if let Some(hub) = weak.upgrade() {
                    match router {
                        Some(router) => hub.registry.wake(router),
                        None => hub.registry.wake_all(),
                    }
                }
            }),
            hub.shutdown.clone(),
        );
        tokio::spawn(flush_last_seen(Arc::downgrade(&hub), hub.shutdown.clone()));
        hub
    }

    /// Appends a command to the router's outbox and wakes its session if it is here.
    pub async fn enqueue(&self, router: RouterId, command: &Command) -> StoreResult<StoredCommand> {
        let stored = self.store.enqueue_command(router, command, now_ms()).await?;
        self.registry.wake(router);
        Ok(stored)
    }

    /// Wakes the router's session (if it is connected here) to deliver what was just
    /// written to its outbox by someone else in this process.
    pub fn wake(&self, router: RouterId) {
        self.registry.wake(router);
    }

    /// Waits (up to `limit`) until every session has ended and recorded its disconnect;
    /// used at shutdown, after the sessions were cancelled.
    pub async fn wait_sessions_ended(&self, limit: Duration) {
        let mut live = self.live.subscribe();
        let _ = tokio::time::timeout(limit, live.wait_for(|n| *n == 0)).await;
    }

    /// Subscribes to hub events.
    pub fn subscribe(&self) -> broadcast::Receiver<HubEvent> {
        self.events.subscribe()
    }

    /// Where the hub counts (shared with the rest of the cloud).
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.config.metrics
    }

    /// A place for one more agent handshake, at once or after waiting in line; or why not
    /// ([`HubConfig::handshakes`]).
    pub async fn admit_handshake(&self) -> Result<HandshakeSlot, Deferred> {
        self.handshakes.admit().await
    }

    /// How many agent upgrades wait in line for a handshake place, as it changes.
    pub fn handshakes_waiting(&self) -> tokio::sync::watch::Receiver<usize> {
        self.handshakes.waiting()
    }

    /// How many agents are connected to this instance.
    pub fn connected(&self) -> usize {
        self.registry.len()
    }

    /// The store behind the hub.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// How long without a word before a router counts as offline
    /// ([`HubConfig::stale_after`] of this hub's configuration).
    pub fn stale_after(&self) -> Duration {
        self.config.stale_after()
    }

    /// The router's write counters, shared by every session of the router on this instance
    /// (one that reconnects, even before its old session has ended, gets the same counts).
    fn limiter(&self, router: RouterId) -> SharedLimiter {
        let mut limiters = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
        limiters.entry(router).or_insert_with(|| Arc::new(Mutex::new(limits::Limiter::new(&self.limits)))).clone()
    }

    /// Tells observers (tests, long polls) what happened.
    pub(crate) fn emit(&self, event: HubEvent) {
        match event {
            HubEvent::Connected(_) => self.metrics().hub().session_started(),
            HubEvent::Refused(_) => self.metrics().hub().refused(),
            _ => {}
        }
        // Nobody listening is normal.
        let _ = self.events.send(event);
    }
}

/// A router's write counters ([`limits::Limiter`]), shared by its sessions.
type SharedLimiter = Arc<Mutex<limits::Limiter>>;

/// Writes "last seen now" for every live session once per heartbeat, in one batch, so a
/// router list shows the truth even if this instance later dies without closing sessions.
/// The same statement finds sessions whose router the database says is linked through a
/// newer session (a reconnect that landed on another instance while this one had not yet
/// noticed the old link die) and ends them: one link per router wins, within a heartbeat.
async fn flush_last_seen(hub: std::sync::Weak<Hub>, shutdown: CancellationToken) {
    let Some(period) = hub.upgrade().map(|hub| hub.config.heartbeat) else { return };
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let Some(hub) = hub.upgrade() else { return };
        let live = hub.registry.recorded_sessions();
        if live.is_empty() {
            continue;
        }
        match hub.store.sessions_seen(&live, now_ms()).await {
            Ok(stale) => {
                for (router, session) in live.into_iter().filter(|(router, _)| stale.contains(router)) {
                    hub.registry.end_replaced(router, session);
                }
            }
            Err(error) => tracing::warn!(%error, routers = live.len(), "could not record last-seen times"),
        }
    }
}
