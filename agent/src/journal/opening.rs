//! Opening the journal's sled database, and moving a damaged one aside.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::info;

use super::*;

/// Opens sled at `path` and reads every record once, so damage shows up now rather than in
/// the middle of a session. sled may panic on some damaged files; that counts as damage.
pub(super) fn open_checked(path: &Path) -> Result<Journal, JournalError> {
    // A previous agent (a restart, or a process being replaced) may still be letting go of
    // the lock: wait a little for it rather than fail the start.
    let give_up = std::time::Instant::now() + LOCK_WAIT;
    loop {
        let opened = catch_unwind(AssertUnwindSafe(|| open_sled(path)));
        match opened {
            Err(_) => return Err(JournalError::Storage(sled::Error::ReportableBug("sled panicked while opening the journal".into()))),
            Ok(Err(JournalError::Locked(_))) if std::time::Instant::now() < give_up => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Ok(result) => return result,
        }
    }
}

/// How long opening waits for a journal another agent still holds.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

fn open_sled(path: &Path) -> Result<Journal, JournalError> {
    let db = sled::Config::new()
        .path(path)
        // Routers have little memory; the journal holds a handful of small records.
        .cache_capacity(1024 * 1024)
        .open()
        .map_err(|e| classify_open_error(path, e))?;
    let commands = db.open_tree("commands")?;
    let acknowledged = db.open_tree("acknowledged")?;
    let entitlements = db.open_tree("entitlements")?;
    let reports = db.open_tree("reports")?;
    for entry in entitlements.iter() {
        let (_, bytes) = entry?;
        decode::<HotspotUser>(0, &bytes)?;
    }
    for entry in reports.iter() {
        let (key, bytes) = entry?;
        decode::<Report>(seq_of(&key), &bytes)?;
    }
    for entry in commands.iter() {
        let (key, bytes) = entry?;
        decode::<Record>(seq_of(&key), &bytes)?;
    }
    let mut tombstones = 0;
    for entry in acknowledged.iter() {
        let (key, bytes) = entry?;
        decode::<Tombstone>(seq_of(&key), &bytes)?;
        tombstones += 1;
    }
    let journal = Journal {
        db,
        commands,
        acknowledged,
        entitlements,
        reports,
        tombstones: Arc::new(AtomicUsize::new(tombstones)),
        tombstones_kept: TOMBSTONES_KEPT,
    };
    if tombstones > TOMBSTONES_KEPT {
        journal.prune()?;
    }
    Ok(journal)
}

/// Tells "someone else has it open" (never quarantine that!) from damage.
fn classify_open_error(path: &Path, error: sled::Error) -> JournalError {
    match &error {
        // sled 0.34 reports a held lock only through this message (ErrorKind::Other).
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => JournalError::Locked(path.to_path_buf()),
        sled::Error::Io(io) if io.kind() == std::io::ErrorKind::PermissionDenied => {
            JournalError::Filesystem { path: path.to_path_buf(), source: std::io::Error::new(io.kind(), io.to_string()) }
        }
        _ => JournalError::Storage(error),
    }
}

/// Renames a damaged journal to `journal.corrupt-<unix-ts>` (with a suffix if taken).
pub(super) fn quarantine(path: &Path) -> Result<PathBuf, JournalError> {
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let mut aside = path.with_file_name(format!("{DIR_NAME}.corrupt-{stamp}"));
    let mut n = 1;
    while aside.exists() {
        aside = path.with_file_name(format!("{DIR_NAME}.corrupt-{stamp}-{n}"));
        n += 1;
    }
    std::fs::rename(path, &aside).map_err(|source| JournalError::Filesystem { path: path.to_path_buf(), source })?;
    info!(path = %aside.display(), "damaged journal kept for inspection");
    Ok(aside)
}
