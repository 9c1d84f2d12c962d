//! The agent's durable record of every command the cloud delivered and what came of it.
//!
//! Four sled trees. Two are keyed by the big-endian [`Seq`] so they iterate in command
//! order: `commands` holds each delivery not yet finished with (with its outcome once
//! applied), and `acknowledged` holds a small tombstone for each command whose outcome the
//! cloud has confirmed, so a late duplicate delivery is recognised and not applied again
//! (only the newest [`TOMBSTONES_KEPT`] are kept). `entitlements` holds the hotspot users
//! the agent enforces at the edge (their expiries), and `reports` what the agent did on its
//! own until the cloud has stored it.
//!
//! Power loss is normal on routers, so a journal that cannot be opened or read is moved aside
//! (`journal.corrupt-<unix-ts>`) and a fresh one started: the cloud re-delivers everything
//! that has no result yet, so nothing is lost but the duplicate detection of old commands.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use jasiyo_shared::{CommandId, Delivery, HotspotUser, Outcome, Report, Seq};
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use tracing::{error, warn};

/// How many acknowledged commands are remembered for duplicate detection.
pub const TOMBSTONES_KEPT: usize = 10_000;

/// The journal's directory name inside the data directory.
const DIR_NAME: &str = "journal";

/// What went wrong with the journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// sled failed (I/O error or detected corruption).
    #[error("journal storage: {0}")]
    Storage(#[from] sled::Error),
    /// A stored record could not be read back.
    #[error("journal record {seq} is unreadable: {source}")]
    Decode {
        /// The record's sequence number.
        seq: Seq,
        /// Why it could not be decoded.
        source: postcard::Error,
    },
    /// A record could not be encoded (should never happen for our types).
    #[error("journal record {seq} could not be encoded: {source}")]
    Encode {
        /// The record's sequence number.
        seq: Seq,
        /// Why.
        source: postcard::Error,
    },
    /// An outcome was set for a command the journal does not hold.
    #[error("no pending command {0} in the journal")]
    UnknownSeq(Seq),
    /// Another process holds the journal (two agents on one data directory?).
    #[error("the journal at {0} is in use by another process")]
    Locked(PathBuf),
    /// The journal could not be moved aside or recreated.
    #[error("journal directory {path}: {source}")]
    Filesystem {
        /// The path involved.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A journal operation on the blocking pool was cancelled (runtime shutting down).
    #[error("journal operation cancelled")]
    Cancelled,
}

/// The state of one command in the journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    delivery: Delivery,
    outcome: Option<Outcome>,
}

/// What is kept of a command whose outcome the cloud acknowledged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Tombstone {
    id: CommandId,
}

/// The result of [`Journal::record`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// The delivery is new and now durable.
    New,
    /// The journal already held this sequence number, in this state.
    Duplicate(Existing),
    /// The journal holds this sequence number under another command id: the cloud's
    /// numbering went back (a database restore or failover). The delivery is not
    /// journalled; the journalled command is kept as it is.
    Conflict {
        /// The command the journal holds under that number.
        journalled: CommandId,
    },
}

/// The state of a command that was delivered again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Not applied yet.
    Pending,
    /// Applied with this outcome, which the cloud has not acknowledged yet.
    Done(Outcome),
    /// Applied, and the cloud acknowledged the outcome.
    Acknowledged,
}

/// The journal: a cheap handle, cloned into each task that needs it.
#[derive(Clone)]
pub struct Journal {
    db: sled::Db,
    commands: sled::Tree,
    acknowledged: sled::Tree,
    /// Hotspot users this agent created and must enforce, by name.
    entitlements: sled::Tree,
    /// Reports not yet acknowledged by the cloud, by id.
    reports: sled::Tree,
    tombstones: Arc<AtomicUsize>,
    tombstones_kept: usize,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("tombstones", &self.tombstones).finish_non_exhaustive()
    }
}

impl Journal {
    /// Opens the journal in `<data_dir>/journal`, creating it if needed. Returns it with
    /// `reset == true` when it is new or the old one was damaged and moved aside.
    pub fn open(data_dir: &Path) -> Result<(Journal, bool), JournalError> {
        opening::open_or_replace(data_dir)
    }

    /// Stores a delivered command durably (flushed to disk before returning `New`), or
    /// reports what the journal already knows of its sequence number.
    pub fn record(&self, delivery: &Delivery) -> Result<Recorded, JournalError> {
        let mut recorded = self.record_all(std::slice::from_ref(delivery))?;
        Ok(recorded.pop().expect("one delivery, one answer"))
    }

    /// [`Journal::record`] for several deliveries with one flush: deliveries that arrive
    /// together cost one disk sync, not one each. The answers are in the same order.
    pub fn record_all(&self, deliveries: &[Delivery]) -> Result<Vec<Recorded>, JournalError> {
        let mut answers = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            answers.push(self.record_unflushed(delivery)?);
        }
        if answers.iter().any(|a| matches!(a, Recorded::New)) {
            self.db.flush()?;
        }
        Ok(answers)
    }

    fn record_unflushed(&self, delivery: &Delivery) -> Result<Recorded, JournalError> {
        let key = delivery.seq.0.to_be_bytes();
        if let Some(bytes) = self.acknowledged.get(key)? {
            let tombstone: Tombstone = decode(delivery.seq.0, &bytes)?;
            if let Some(conflict) = conflict(delivery, tombstone.id) {
                return Ok(conflict);
            }
            return Ok(Recorded::Duplicate(Existing::Acknowledged));
        }
        if let Some(bytes) = self.commands.get(key)? {
            let record: Record = decode(delivery.seq.0, &bytes)?;
            if let Some(conflict) = conflict(delivery, record.delivery.id) {
                return Ok(conflict);
            }
            let existing = match record.outcome {
                None => Existing::Pending,
                Some(outcome) => Existing::Done(outcome),
            };
            return Ok(Recorded::Duplicate(existing));
        }
        let record = Record { delivery: delivery.clone(), outcome: None };
        self.commands.insert(key, encode(delivery.seq, &record)?)?;
        Ok(Recorded::New)
    }

    /// The lowest-numbered command that has no outcome yet.
    pub fn next_pending(&self) -> Result<Option<Delivery>, JournalError> {
        for entry in self.commands.iter() {
            let (key, bytes) = entry?;
            let record: Record = decode(seq_of(&key), &bytes)?;
            if record.outcome.is_none() {
                return Ok(Some(record.delivery));
            }
        }
        Ok(None)
    }

    /// Up to `max` commands without an outcome, lowest sequence number first.
    pub fn pending(&self, max: usize) -> Result<Vec<Delivery>, JournalError> {
        let mut pending = Vec::new();
        for entry in self.commands.iter() {
            if pending.len() == max {
                break;
            }
            let (key, bytes) = entry?;
            let record: Record = decode(seq_of(&key), &bytes)?;
            if record.outcome.is_none() {
                pending.push(record.delivery);
            }
        }
        Ok(pending)
    }

    /// Names of hotspot users that commands still waiting to be applied will touch.
    pub fn pending_user_names(&self) -> Result<Vec<String>, JournalError> {
        let pending = self.pending(usize::MAX)?;
        Ok(pending.iter().flat_map(|d| d.command.user_names()).map(str::to_string).collect())
    }

    /// Stores several outcomes with one flush to disk (and with them whatever else was
    /// written since the last flush, such as entitlements).
    pub fn set_outcomes(&self, outcomes: &[(Seq, Outcome)]) -> Result<(), JournalError> {
        let mut batch = sled::Batch::default();
        for (seq, outcome) in outcomes {
            let key = seq.0.to_be_bytes();
            let bytes = self.commands.get(key)?.ok_or(JournalError::UnknownSeq(*seq))?;
            let mut record: Record = decode(seq.0, &bytes)?;
            record.outcome = Some(outcome.clone());
            batch.insert(&key, encode(*seq, &record)?);
        }
        self.commands.apply_batch(batch)?;
        self.db.flush()?;
        Ok(())
    }

    /// Stores a command's outcome durably (flushed before returning).
    pub fn set_outcome(&self, seq: Seq, outcome: &Outcome) -> Result<(), JournalError> {
        let key = seq.0.to_be_bytes();
        let bytes = self.commands.get(key)?.ok_or(JournalError::UnknownSeq(seq))?;
        let mut record: Record = decode(seq.0, &bytes)?;
        record.outcome = Some(outcome.clone());
        self.commands.insert(key, encode(seq, &record)?)?;
        self.db.flush()?;
        Ok(())
    }

    /// Every outcome the cloud has not acknowledged yet, in sequence order.
    pub fn unacked_results(&self) -> Result<Vec<(Seq, Outcome)>, JournalError> {
        let mut results = Vec::new();
        for entry in self.commands.iter() {
            let (key, bytes) = entry?;
            let record: Record = decode(seq_of(&key), &bytes)?;
            if let Some(outcome) = record.outcome {
                results.push((record.delivery.seq, outcome));
            }
        }
        Ok(results)
    }

    /// The cloud stored the outcome of `seq`: forget the command, keeping a tombstone.
    /// Returns `false` (and changes nothing) when `seq` has no outcome to acknowledge.
    pub fn ack_result(&self, seq: Seq) -> Result<bool, JournalError> {
        let key = seq.0.to_be_bytes();
        let Some(bytes) = self.commands.get(key)? else {
            return Ok(false);
        };
        let record: Record = decode(seq.0, &bytes)?;
        if record.outcome.is_none() {
            warn!(seq = seq.0, "cloud acknowledged a result the agent has not produced; ignored");
            return Ok(false);
        }
        let tombstone = encode(seq, &Tombstone { id: record.delivery.id })?;
        // Both trees change in one transaction so a crash leaves either the record or the
        // tombstone, never neither.
        (&self.commands, &self.acknowledged)
            .transaction(|(commands, acknowledged)| {
                commands.remove(&key)?;
                acknowledged.insert(&key, tombstone.as_slice())?;
                Ok::<_, ConflictableTransactionError<Infallible>>(())
            })
            .map_err(|e| match e {
                TransactionError::Storage(e) => JournalError::Storage(e),
                TransactionError::Abort(never) => match never {},
            })?;
        if self.tombstones.fetch_add(1, Ordering::SeqCst) + 1 > self.tombstones_kept {
            self.prune()?;
        }
        Ok(true)
    }

    /// Drops the oldest tombstones beyond the number kept.
    fn prune(&self) -> Result<(), JournalError> {
        while self.tombstones.load(Ordering::SeqCst) > self.tombstones_kept {
            if self.acknowledged.pop_min()?.is_none() {
                self.tombstones.store(0, Ordering::SeqCst);
                break;
            }
            self.tombstones.fetch_sub(1, Ordering::SeqCst);
        }
        Ok(())
    }

    /// The highest sequence number the journal has seen (and still remembers).
    pub fn high(&self) -> Result<Option<Seq>, JournalError> {
        let last = |tree: &sled::Tree| -> Result<Option<u64>, JournalError> { Ok(tree.last()?.map(|(key, _)| seq_of(&key))) };
        Ok(last(&self.commands)?.max(last(&self.acknowledged)?).map(Seq))
    }

    /// How many commands are not finished with (no outcome, or one the cloud has not
    /// acknowledged).
    pub fn depth(&self) -> usize {
        self.commands.len()
    }

    /// How many tombstones of acknowledged commands are kept.
    pub fn tombstones(&self) -> usize {
        self.tombstones.load(Ordering::SeqCst)
    }

    /// Writes everything to disk.
    pub fn flush(&self) -> Result<(), JournalError> {
        self.db.flush()?;
        Ok(())
    }

    /// Runs `op` on tokio's blocking pool: the journal fsyncs, which must not stall the
    /// async workers that keep the link alive.
    pub async fn off_thread<T, F>(&self, op: F) -> Result<T, JournalError>
    where
        T: Send + 'static,
        F: FnOnce(&Journal) -> Result<T, JournalError> + Send + 'static,
    {
        let journal = self.clone();
        match tokio::task::spawn_blocking(move || op(&journal)).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(JournalError::Cancelled),
        }
    }
}

/// A conflict when the delivery is not the command journalled under its number.
fn conflict(delivery: &Delivery, journalled: CommandId) -> Option<Recorded> {
    (delivery.id != journalled).then(|| {
        warn!(
            seq = delivery.seq.0,
            delivered = %delivery.id,
            %journalled,
            "cloud delivered a different command under a known sequence number (its numbering went back?); refusing it"
        );
        Recorded::Conflict { journalled }
    })
}

fn seq_of(key: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    let n = key.len().min(8);
    bytes[8 - n..].copy_from_slice(&key[key.len() - n..]);
    u64::from_be_bytes(bytes)
}

fn encode<T: Serialize>(seq: Seq, value: &T) -> Result<Vec<u8>, JournalError> {
    postcard::to_allocvec(value).map_err(|source| JournalError::Encode { seq, source })
}

fn decode<T: for<'de> Deserialize<'de>>(seq: u64, bytes: &[u8]) -> Result<T, JournalError> {
    postcard::from_bytes(bytes).map_err(|source| JournalError::Decode { seq: Seq(seq), source })
}

mod inspect;
mod opening;
#[cfg(test)]
mod replay_props;
mod tables;
#[cfg(test)]
mod tests;
