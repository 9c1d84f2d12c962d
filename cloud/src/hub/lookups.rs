//! Routers read for token checks, many at a time. Every agent upgrade (and every hotspot
//! file fetch) reads its router to check the token; after a cloud restart the whole fleet
//! asks at once, and each read alone is a round trip to the database (on SQLite, a hand-off
//! to its connection thread and back). Here the reads waiting when a reader is free are
//! made as one statement ([`Store::routers_by_id`]). With nothing else waiting a read goes
//! alone, at once, so a quiet cloud answers as fast as before; [`READERS`] batches run at
//! the same time at most, so one slow read does not hold up the others.

use std::collections::HashMap;
use std::sync::Arc;

use jasiyo_shared::RouterId;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::model::Router;
use crate::store::{Store, StoreError, StoreResult};

/// Routers read in one statement, at most.
const MAX_BATCH: usize = 256;

/// Batches being read at the same time, at most.
const READERS: usize = 4;

/// A read waiting, and where its answer goes.
struct Asking {
    router: RouterId,
    answer: oneshot::Sender<StoreResult<Option<Router>>>,
}

/// The hub's handle on the task that reads routers.
pub(super) struct Lookups {
    queue: mpsc::UnboundedSender<Asking>,
}

impl Lookups {
    /// Starts the reading task; it stops on `shutdown` or when the handle is dropped.
    pub fn start(store: Arc<dyn Store>, shutdown: CancellationToken) -> Lookups {
        let (queue, asking) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = read_all(store, asking) => {}
            }
        });
        Lookups { queue }
    }

    /// The router as stored now, read together with whatever others are asked for.
    pub async fn router(&self, router: RouterId) -> StoreResult<Option<Router>> {
        let (answer, answered) = oneshot::channel();
        let stopped = || StoreError::Database(sqlx::Error::PoolClosed);
        self.queue.send(Asking { router, answer }).map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

/// Takes the reads waiting, a batch whenever a reader is free, until every handle is gone.
async fn read_all(store: Arc<dyn Store>, mut asking: mpsc::UnboundedReceiver<Asking>) {
    let readers = Arc::new(Semaphore::new(READERS));
    while let Some(first) = asking.recv().await {
        let Ok(reader) = readers.clone().acquire_owned().await else { return };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match asking.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let store = store.clone();
        tokio::spawn(async move {
            read_batch(store.as_ref(), batch).await;
            drop(reader);
        });
    }
}

async fn read_batch(store: &dyn Store, batch: Vec<Asking>) {
    if let [_] = batch.as_slice() {
        let asking = batch.into_iter().next().expect("one");
        let _ = asking.answer.send(store.router(asking.router).await);
        return;
    }
    let mut ids: Vec<RouterId> = batch.iter().map(|a| a.router).collect();
    ids.sort_unstable();
    ids.dedup();
    match store.routers_by_id(&ids).await {
        Ok(found) => {
            let found: HashMap<RouterId, Router> = found.into_iter().map(|r| (r.id, r)).collect();
            for asking in batch {
                // One who gave up meanwhile (its connection dropped) no longer listens.
                let _ = asking.answer.send(Ok(found.get(&asking.router).cloned()));
            }
        }
        Err(error) => {
            tracing::warn!(%error, routers = ids.len(), "reading routers together failed; reading each alone");
            for asking in batch {
                let _ = asking.answer.send(store.router(asking.router).await);
            }
        }
    }
}
