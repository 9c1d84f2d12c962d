//! What the hub's batching tasks share (`connects.rs`, `lookups.rs`): callers queue a
//! question and wait for its own answer, and one task takes the questions waiting and
//! answers them together, in one statement or transaction.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::store::{StoreError, StoreResult};

/// A question waiting, and where its answer goes. An answer nobody waits for any more (a
/// connection dropped meanwhile) is dropped.
pub(super) struct Asked<Q, A> {
    pub question: Q,
    pub answer: oneshot::Sender<StoreResult<A>>,
}

/// The questions as the answering task takes them.
pub(super) type Questions<Q, A> = mpsc::UnboundedReceiver<Asked<Q, A>>;

/// The handle callers ask through.
pub(super) struct Batched<Q, A> {
    queue: mpsc::UnboundedSender<Asked<Q, A>>,
}

impl<Q: Send + 'static, A: Send + 'static> Batched<Q, A> {
    /// Starts `answer_all` on the questions; it stops on `shutdown`, or when it returns
    /// (once every handle is dropped).
    pub fn start<F>(shutdown: CancellationToken, answer_all: impl FnOnce(Questions<Q, A>) -> F) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let (queue, questions) = mpsc::unbounded_channel();
        let answering = answer_all(questions);
        tokio::spawn(async move {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = answering => {}
            }
        });
        Batched { queue }
    }

    /// Asks, and waits for the answer (an error once the task has stopped: shutting down).
    pub async fn ask(&self, question: Q) -> StoreResult<A> {
        let (answer, answered) = oneshot::channel();
        let stopped = || StoreError::Database(sqlx::Error::PoolClosed);
        self.queue.send(Asked { question, answer }).map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

/// The questions already waiting, without waiting for more.
pub(super) fn waiting_now<Q, A>(questions: &mut Questions<Q, A>) -> impl Iterator<Item = Asked<Q, A>> + '_ {
    std::iter::from_fn(|| questions.try_recv().ok())
}
