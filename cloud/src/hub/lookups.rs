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
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::batched::{Asked, Batched, Questions, waiting_now};
use crate::model::Router;
use crate::store::Store;

/// Routers read in one statement, at most.
const MAX_BATCH: usize = 256;

/// Batches being read at the same time, at most.
const READERS: usize = 4;

/// The hub's handle on the task that reads routers: asked a router id, it answers with the
/// router as stored now.
pub(super) type Lookups = Batched<RouterId, Option<Router>>;

/// Starts the reading task; it stops on `shutdown` or when the handle is dropped.
pub(super) fn start(store: Arc<dyn Store>, shutdown: CancellationToken) -> Lookups {
    Batched::start(shutdown, |asking| read_all(store, asking))
}

/// Takes the reads waiting, a batch whenever a reader is free, until every handle is gone.
async fn read_all(store: Arc<dyn Store>, mut asking: Questions<RouterId, Option<Router>>) {
    let readers = Arc::new(Semaphore::new(READERS));
    while let Some(first) = asking.recv().await {
        let Ok(reader) = readers.clone().acquire_owned().await else { return };
        let mut batch = vec![first];
        batch.extend(waiting_now(&mut asking).take(MAX_BATCH - 1));
        let store = store.clone();
        tokio::spawn(async move {
            read_batch(store.as_ref(), batch).await;
            drop(reader);
        });
    }
}

async fn read_batch(store: &dyn Store, batch: Vec<Asked<RouterId, Option<Router>>>) {
    let mut ids: Vec<RouterId> = batch.iter().map(|a| a.question).collect();
    ids.sort_unstable();
    ids.dedup();
    match store.routers_by_id(&ids).await {
        Ok(found) => {
            let found: HashMap<RouterId, Router> = found.into_iter().map(|r| (r.id, r)).collect();
            for asking in batch {
                let _ = asking.answer.send(Ok(found.get(&asking.question).cloned()));
            }
        }
        Err(error) if batch.len() == 1 => {
            if let Some(asking) = batch.into_iter().next() {
                let _ = asking.answer.send(Err(error));
            }
        }
        Err(error) => {
            tracing::warn!(%error, routers = ids.len(), "reading routers together failed; reading each alone");
            for asking in batch {
                let _ = asking.answer.send(store.router(asking.question).await);
            }
        }
    }
}
