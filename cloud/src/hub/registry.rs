//! Which routers have a live session on this instance, how to wake each one, and how a
//! session replaced by a newer link (here or on another instance) is ended.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jasiyo_shared::RouterId;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

struct Entry {
    session: Uuid,
    wake: Arc<Notify>,
    cancel: CancellationToken,
    /// Whether the database names this session as the router's link yet (after its hello):
    /// only then can it be found replaced by a newer one.
    recorded: bool,
}

/// Live sessions by router. A second session for a router replaces (and cancels) the first.
#[derive(Default)]
pub struct Registry {
    sessions: Mutex<HashMap<RouterId, Entry>>,
}

/// A session's place in the registry; dropping it removes the entry if it is still this
/// session's.
pub struct Registration<'a> {
    registry: &'a Registry,
    router: RouterId,
    /// This session's id.
    pub session: Uuid,
    /// Notified when the router's outbox may have grown.
    pub wake: Arc<Notify>,
    /// Cancelled when a newer session replaces this one (or the hub shuts down).
    pub cancel: CancellationToken,
}

impl Registry {
    /// Registers a new session for `router`, cancelling any older one.
    pub fn register(&self, router: RouterId, parent: &CancellationToken) -> Registration<'_> {
        let session = Uuid::new_v4();
        let wake = Arc::new(Notify::new());
        let cancel = parent.child_token();
        let entry = Entry { session, wake: wake.clone(), cancel: cancel.clone(), recorded: false };
        if let Some(old) = self.lock().insert(router, entry) {
            tracing::info!(router = %router, old_session = %old.session, "a new connection replaces the old one");
            old.cancel.cancel();
        }
        Registration { registry: self, router, session, wake, cancel }
    }

    /// Notes that the database now names `session` as the router's link.
    pub fn recorded(&self, router: RouterId, session: Uuid) {
        if let Some(entry) = self.lock().get_mut(&router).filter(|entry| entry.session == session) {
            entry.recorded = true;
        }
    }

    /// The sessions the database names (or named) as their router's link.
    pub fn recorded_sessions(&self) -> Vec<(RouterId, Uuid)> {
        self.lock().iter().filter(|(_, entry)| entry.recorded).map(|(router, entry)| (*router, entry.session)).collect()
    }

    /// Ends `session` of `router` if it is still live here: the database names a newer link
    /// for the router (on another instance, when two raced), so this one is stale.
    pub fn end_replaced(&self, router: RouterId, session: Uuid) {
        if let Some(entry) = self.lock().get(&router).filter(|entry| entry.session == session && entry.recorded) {
            tracing::info!(router = %router, session = %session, "a newer link (on another instance) replaces this one");
            entry.cancel.cancel();
        }
    }

    /// Wakes the router's session, if it has one here.
    pub fn wake(&self, router: RouterId) {
        if let Some(entry) = self.lock().get(&router) {
            entry.wake.notify_one();
        }
    }

    /// Wakes every session.
    pub fn wake_all(&self) {
        for entry in self.lock().values() {
            entry.wake.notify_one();
        }
    }

    /// Routers with a live session here.
    pub fn routers(&self) -> Vec<RouterId> {
        self.lock().keys().copied().collect()
    }

    /// Number of live sessions.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RouterId, Entry>> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut sessions = self.registry.lock();
        if sessions.get(&self.router).is_some_and(|entry| entry.session == self.session) {
            sessions.remove(&self.router);
        }
    }
}
