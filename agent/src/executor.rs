//! Carrying out journalled commands: the [`Executor`] seam (RouterOS in production, see
//! `edge`; a logger when the agent runs without a router, and in tests) and the apply loop
//! that feeds it commands strictly in sequence order.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use jasiyo_shared::{Command, Delivery, Outcome, Seq};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::config::ReconnectPolicy;
use crate::counters::Counters;
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

/// An executor that only logs each command (never a password) and reports it applied: the
/// agent without `--routeros-addr` (a dry run), and tests of the link alone.
#[derive(Clone, Copy, Debug, Default)]
pub struct LoggingExecutor;

impl Executor for LoggingExecutor {
    fn apply<'a>(&'a self, seq: Seq, command: &'a Command) -> ApplyFuture<'a> {
        Box::pin(async move {
            // `Command`'s Debug output hides passwords (`Password(***)`).
            info!(seq = seq.0, kind = command.kind(), ?command, "command applied (logging only: no router configured)");
            Ok(Outcome::Applied { note: None })
        })
    }
}

/// The most commands applied at once.
pub const BATCH: usize = 64;

/// The longest prefix of `pending` in which no command conflicts with an earlier one.
fn independent_prefix(pending: Vec<Delivery>) -> Vec<Delivery> {
    let mut batch: Vec<Delivery> = Vec::new();
    for delivery in pending {
        if batch.iter().any(|earlier| !earlier.command.independent_of(&delivery.command)) {
            break;
        }
        batch.push(delivery);
    }
    batch
}

fn log_outcome(delivery: &Delivery, outcome: &Outcome) {
    let (seq, id, kind) = (delivery.seq.0, delivery.id, delivery.command.kind());
    match outcome {
        Outcome::Applied { .. } => info!(seq, %id, kind, "command applied"),
        Outcome::Failed { message } => warn!(seq, %id, kind, %message, "command failed for good"),
    }
}

/// What one [`Applier::apply_once`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing is pending.
    Idle,
    /// Commands now have outcomes in the journal, the lowest being this one.
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
    counters: Arc<Counters>,
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
        Applier { journal, executor, work, results, retry, last_error, counters: Arc::new(Counters::new(0)) }
    }

    /// Counts each command's outcome and time into `counters` from now on.
    pub fn counting(mut self, counters: Arc<Counters>) -> Applier {
        self.counters = counters;
        self
    }

    /// Applies the lowest pending commands, if any, and stores their outcomes with one
    /// flush. Consecutive commands that touch different users and devices are applied
    /// concurrently (pipelined on the router connection); the first one that conflicts
    /// with an earlier one ends the batch, so commands on the same user keep their order.
    pub async fn apply_once(&mut self) -> Result<Step, JournalError> {
        let pending = self.journal.off_thread(|j| j.pending(BATCH)).await?;
        let batch = independent_prefix(pending);
        let Some(first) = batch.first().map(|d| d.seq) else {
            return Ok(Step::Idle);
        };
        let this = &*self;
        let timed = |delivery| async move {
            let started = std::time::Instant::now();
            (this.apply_one(delivery).await, started.elapsed())
        };
        let applied = futures_util::future::join_all(batch.iter().map(timed)).await;
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut retry = None;
        for (delivery, (result, took)) in batch.iter().zip(applied) {
            match result {
                Ok(outcome) => {
                    log_outcome(delivery, &outcome);
                    self.counters.applied(matches!(outcome, Outcome::Failed { .. }), took);
                    outcomes.push((delivery.seq, outcome));
                }
                Err(e) => retry = retry.or(Some((delivery.seq, e))),
            }
        }
        if !outcomes.is_empty() {
            self.journal.off_thread(move |j| j.set_outcomes(&outcomes)).await?;
            self.results.notify_one();
        }
        Ok(match retry {
            Some((seq, e)) => Step::Retry(seq, e),
            None => Step::Applied(first),
        })
    }

    async fn apply_one(&self, delivery: &Delivery) -> Result<Outcome, ExecError> {
        match delivery.command.validate() {
            // A command RouterOS would refuse or misread never reaches the executor.
            Err(invalid) => Ok(Outcome::Failed { message: invalid.to_string() }),
            Ok(()) => self.executor.apply(delivery.seq, &delivery.command).await,
        }
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
