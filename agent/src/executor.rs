//! Carrying out journalled commands: the [`Executor`] seam (RouterOS, or a logger until that
//! exists) and the apply loop that feeds it commands strictly in sequence order.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use jasiyo_shared::{Command, Outcome, Seq};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::config::ReconnectPolicy;
use crate::journal::{Journal, JournalError};
use crate::link::backoff::Backoff;

/// What an executor's `apply` returns.
pub type ApplyFuture<'a> = Pin<Box<dyn Future<Output = Result<Outcome, ExecError>> + Send + 'a>>;

/// Something that carries out commands on the router. Applying a command must be
/// idempotent: after a crash the same command may be applied again.
pub trait Executor: Send + Sync + 'static {
    /// Carries out one command. A refusal that retrying cannot fix is
    /// `Ok(Outcome::Failed { .. })`; [`ExecError`] means "try again later".
    fn apply<'a>(&'a self, seq: Seq, command: &'a Command) -> ApplyFuture<'a>;
}

/// A command could not be carried out yet.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// The router could not be reached or was busy; the same command is retried with backoff.
    #[error("transient failure: {0}")]
    Transient(String),
}

/// An executor that only logs each command (never a password) and reports it applied.
/// Stands in until the RouterOS executor exists.
#[derive(Clone, Copy, Debug, Default)]
pub struct LoggingExecutor;

impl Executor for LoggingExecutor {
    fn apply<'a>(&'a self, seq: Seq, command: &'a Command) -> ApplyFuture<'a> {
        Box::pin(async move {
            // `Command`'s Debug output hides passwords (`Password(***)`).
            info!(seq = seq.0, kind = command.kind(), ?command, "command applied (logging executor)");
            Ok(Outcome::Applied { note: None })
        })
    }
}

/// What one [`Applier::apply_once`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing is pending.
    Idle,
    /// This command now has an outcome in the journal.
    Applied(Seq),
    /// This command could not be applied yet.
    Retry(Seq, ExecError),
}

/// The apply loop: takes the lowest pending command from the journal, hands it to the
/// executor, stores the outcome and tells the link there is a result to send.
pub struct Applier {
    journal: Journal,
    executor: Arc<dyn Executor>,
    work: Arc<Notify>,
    results: Arc<Notify>,
    retry: Backoff,
    last_error: watch::Sender<Option<String>>,
}

impl Applier {
    /// An apply loop over `journal`. `work` wakes it when a command was journalled;
    /// it wakes `results` after storing an outcome; it publishes its latest unrecovered
    /// error on `last_error`.
    pub fn new(
        journal: Journal,
        executor: Arc<dyn Executor>,
        work: Arc<Notify>,
        results: Arc<Notify>,
        policy: &ReconnectPolicy,
        last_error: watch::Sender<Option<String>>,
    ) -> Self {
        let retry = Backoff::new(policy.initial, policy.apply_retry_max());
        Applier { journal, executor, work, results, retry, last_error }
    }

    /// Applies the lowest pending command, if any, and stores its outcome.
    pub async fn apply_once(&mut self) -> Result<Step, JournalError> {
        let Some(delivery) = self.journal.off_thread(|j| j.next_pending()).await? else {
            return Ok(Step::Idle);
        };
        let seq = delivery.seq;
        let outcome = match delivery.command.validate() {
            // A command RouterOS would refuse or misread never reaches the executor.
            Err(invalid) => Outcome::Failed { message: invalid.to_string() },
            Ok(()) => match self.executor.apply(seq, &delivery.command).await {
                Ok(outcome) => outcome,
                Err(e) => return Ok(Step::Retry(seq, e)),
            },
        };
        let stored = outcome.clone();
        self.journal.off_thread(move |j| j.set_outcome(seq, &stored)).await?;
        match &outcome {
            Outcome::Applied { .. } => info!(seq = seq.0, id = %delivery.id, kind = delivery.command.kind(), "command applied"),
            Outcome::Failed { message } => {
                warn!(seq = seq.0, id = %delivery.id, kind = delivery.command.kind(), %message, "command failed for good")
            }
        }
        self.results.notify_one();
        Ok(Step::Applied(seq))
    }

    /// Applies commands as they arrive until `shutdown`. A transient failure is retried with
    /// backoff; nothing later is applied before it.
    pub async fn run(mut self, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            let step = tokio::select! {
                step = self.apply_once() => step,
                _ = shutdown.cancelled() => break,
            };
            match step {
                Ok(Step::Idle) => {
                    tokio::select! {
                        _ = self.work.notified() => {}
                        _ = shutdown.cancelled() => break,
                    }
                }
                Ok(Step::Applied(_)) => {
                    self.retry.reset();
                    self.last_error.send_replace(None);
                }
                Ok(Step::Retry(seq, e)) => {
                    let delay = self.retry.next_delay();
                    warn!(seq = seq.0, error = %e, retry_in_ms = delay.as_millis() as u64, "command not applied yet; will retry");
                    self.last_error.send_replace(Some(e.to_string()));
                    self.pause(delay, &shutdown).await;
                }
                Err(e) => {
                    let delay = self.retry.next_delay();
                    error!(error = %e, retry_in_ms = delay.as_millis() as u64, "journal error in the apply loop");
                    self.last_error.send_replace(Some(e.to_string()));
                    self.pause(delay, &shutdown).await;
                }
            }
        }
        info!("apply loop stopped");
    }

    async fn pause(&self, delay: std::time::Duration, shutdown: &CancellationToken) {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.cancelled() => {}
        }
    }
}

#[cfg(test)]
mod tests;
