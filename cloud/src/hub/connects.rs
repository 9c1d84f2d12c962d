//! Session starts recorded together (a group commit). Each welcome needs a write: the
//! session named as its router's link, its sequence counter moved past the agent's journal,
//! its token checked once more. One at a time, a restarted cloud's whole fleet queued on
//! SQLite's single writer, each statement handed to the database's thread and back. Here
//! one task takes every start waiting when the last write is done and records them in one
//! transaction ([`Store::routers_connected`]); each session waits for its own answer, so no
//! agent is welcomed before its start is durable.
//!
//! Two starts for the same router never share a batch: the later one goes into the next,
//! so the newest session is the one the database names. If a batch fails (a deadlock with
//! another instance's writes on PostgreSQL, say), each of its starts is tried alone, so one
//! bad row cannot fail the others.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::batched::{Asked, Batched, Questions, waiting_now};
use crate::store::{Connect, Connected, Store, StoreError};

/// Starts recorded in one transaction, at most.
const MAX_BATCH: usize = 512;

/// A start waiting for its write.
type Waiting = Asked<Connect, Connected>;

/// The hub's handle on the task that records session starts.
pub(super) type Connects = Batched<Connect, Connected>;

/// Starts the recording task; it stops on `shutdown` or when the handle is dropped.
pub(super) fn start(store: Arc<dyn Store>, shutdown: CancellationToken) -> Connects {
    Batched::start(shutdown, |waiting| record_all(store, waiting))
}

/// Takes the starts waiting, a batch at a time, until every handle is gone.
async fn record_all(store: Arc<dyn Store>, mut waiting: Questions<Connect, Connected>) {
    let mut queue = VecDeque::new();
    loop {
        if queue.is_empty() {
            match waiting.recv().await {
                Some(first) => queue.push_back(first),
                None => return,
            }
        }
        let room = MAX_BATCH.saturating_sub(queue.len());
        queue.extend(waiting_now(&mut waiting).take(room));
        let batch = take_batch(&mut queue);
        record_batch(store.as_ref(), batch).await;
    }
}

/// The oldest starts, at most one per router: a router's later start stays queued, in order.
fn take_batch(queue: &mut VecDeque<Waiting>) -> Vec<Waiting> {
    let mut routers = HashSet::new();
    let mut batch = Vec::new();
    let mut kept = VecDeque::new();
    while let Some(start) = queue.pop_front() {
        if batch.len() < MAX_BATCH && routers.insert(start.question.router) {
            batch.push(start);
        } else {
            kept.push_back(start);
        }
    }
    *queue = kept;
    batch
}

/// Records a batch and answers each start; the store answers in the order asked, one each.
async fn record_batch(store: &dyn Store, batch: Vec<Waiting>) {
    let connects: Vec<Connect> = batch.iter().map(|w| w.question.clone()).collect();
    match store.routers_connected(&connects).await {
        Ok(answers) => {
            for (waiting, answer) in batch.into_iter().zip(answers) {
                let _ = waiting.answer.send(Ok(answer));
            }
        }
        Err(error) if batch.len() == 1 => {
            if let Some(waiting) = batch.into_iter().next() {
                let _ = waiting.answer.send(Err(error));
            }
        }
        Err(error) => {
            tracing::warn!(%error, starts = batch.len(), "recording session starts together failed; recording each alone");
            for waiting in batch {
                let alone = store.routers_connected(std::slice::from_ref(&waiting.question)).await;
                let answer =
                    alone.and_then(|mut answers| answers.pop().ok_or_else(|| StoreError::Corrupt("session start unrecorded".into())));
                let _ = waiting.answer.send(answer);
            }
        }
    }
}
