//! Opening the journal's sled database, and moving a damaged one aside.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::info;

use super::*;

/// [`Journal::open`]: opens the journal in `data_dir`, moving a damaged one aside (also one
/// that killed the agent at its last starts, see [`Opening`]) for a fresh one.
pub(super) fn open_or_replace(data_dir: &Path) -> Result<(Journal, bool), JournalError> {
    std::fs::create_dir_all(data_dir).map_err(|source| JournalError::Filesystem { path: data_dir.to_path_buf(), source })?;
    let path = data_dir.join(DIR_NAME);
    // Cleared when this function returns: only a start that dies in here leaves it counted.
    let (_opening, died) = Opening::begin(data_dir);
    if died >= DIED_OPENING_LIMIT && path.exists() {
        let aside = quarantine(&path)?;
        error!(
            journal = %path.display(),
            moved_to = %aside.display(),
            starts_died = died,
            "JOURNAL DAMAGED: the agent died opening it at its last starts: moved aside and starting a fresh one; \
             the cloud will re-deliver unfinished commands"
        );
        return Ok((open_checked(&path)?, true));
    }
    match open_checked(&path) {
        Ok(journal) => {
            let reset = !journal.db.was_recovered();
            Ok((journal, reset))
        }
        Err(e @ (JournalError::Locked(_) | JournalError::Filesystem { .. })) => Err(e),
        Err(damage) => {
            let aside = quarantine(&path)?;
            error!(
                journal = %path.display(),
                moved_to = %aside.display(),
                error = %damage,
                "JOURNAL DAMAGED: moved aside and starting a fresh one; the cloud will re-deliver unfinished commands"
            );
            let journal = open_checked(&path)?;
            Ok((journal, true))
        }
    }
}

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

pub(super) fn open_sled(path: &Path) -> Result<Journal, JournalError> {
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

/// The file beside the journal counting starts that began opening it and never finished.
const OPENING_MARKER: &str = "journal.opening";

/// After this many starts in a row died while opening the journal, the next start moves it
/// aside instead of trying again.
pub(super) const DIED_OPENING_LIMIT: u32 = 2;

/// One start opening the journal, counted in [`OPENING_MARKER`] until it is dropped.
///
/// Router builds abort on panic, so the `catch_unwind` in [`open_checked`] cannot save a start
/// on which sled panics: the process dies, and would die again at every restart, expiring
/// nobody. This counter survives that: it is raised (durably) before opening and cleared when
/// the opening returns, whatever it returns; only a start that died on the way leaves it raised.
/// A death while opening for another reason (a power cut in those milliseconds) counts too,
/// which is why one death is not enough.
pub(super) struct Opening {
    marker: PathBuf,
}

impl Opening {
    /// Counts this start; returns it and how many starts before it died opening the journal.
    /// A marker that cannot be written costs only this protection: the start goes on.
    pub(super) fn begin(data_dir: &Path) -> (Opening, u32) {
        let marker = data_dir.join(OPENING_MARKER);
        let died = std::fs::read_to_string(&marker).ok().and_then(|text| text.trim().parse::<u32>().ok()).unwrap_or(0);
        if let Err(error) = write_durably(&marker, &(died + 1).to_string()) {
            tracing::warn!(path = %marker.display(), %error, "cannot count journal openings; a journal that kills the agent will not be moved aside");
        }
        (Opening { marker }, died)
    }
}

impl Drop for Opening {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.marker);
    }
}

fn write_durably(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}
