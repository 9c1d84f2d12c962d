//! Backups of the embedded SQLite database, and restoring one.
//!
//! A backup is taken online: `VACUUM INTO` copies the database as one read transaction
//! sees it (a consistent moment, while the cloud keeps writing through the WAL) into a new,
//! compact file, which is checked before it gets its final name. A restore checks the file
//! first (SQLite's `integrity_check`, and that every migration it records is one this build
//! knows: a backup from a newer version is refused) and will not replace a database that
//! holds tenants, routers or payments unless forced (the cloud must be stopped first).
//! PostgreSQL has its own tools (`pg_dump`, point-in-time recovery): see the README.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};

/// What a database holds, in round numbers for people.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Contents {
    /// Tenants.
    pub tenants: i64,
    /// Routers.
    pub routers: i64,
    /// Payments.
    pub payments: i64,
}

impl Contents {
    /// Whether it holds nothing an operator would miss.
    pub fn is_empty(&self) -> bool {
        self.tenants == 0 && self.routers == 0 && self.payments == 0
    }
}

impl std::fmt::Display for Contents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} tenants, {} routers, {} payments", self.tenants, self.routers, self.payments)
    }
}

/// The SQLite file the cloud uses with this database URL and data directory (as
/// [`super::connect`] picks it); PostgreSQL is refused with where to look instead.
pub fn sqlite_file(url: Option<&str>, data_dir: &Path) -> anyhow::Result<PathBuf> {
    match url {
        None => Ok(data_dir.join("jasiyo.db")),
        Some(url) if url.starts_with("sqlite:") => Ok(SqliteConnectOptions::from_str(url)?.get_filename().to_path_buf()),
        Some(_) => {
            bail!("backup and restore are for the embedded SQLite database; for PostgreSQL use pg_dump and pg_restore (README: Operations)")
        }
    }
}

/// Copies the database at `db` into the new file `to`, online, and checks the copy.
pub async fn backup(db: &Path, to: &Path) -> anyhow::Result<Contents> {
    ensure!(!to.exists(), "{} exists already: back up to a new file", to.display());
    let mut source = open(db, false).await.with_context(|| format!("opening {}", db.display()))?;
    let partial = partial_name(to);
    let _ = std::fs::remove_file(&partial);
    sqlx::query("VACUUM INTO $1").bind(partial.to_string_lossy().as_ref()).execute(&mut source).await.context("copying the database")?;
    source.close().await?;
    let contents = check(&partial).await.context("checking the copy")?;
    std::fs::rename(&partial, to).with_context(|| format!("naming the copy {}", to.display()))?;
    Ok(contents)
}

/// Puts the backup `from` in place of the database at `db`, after checking it. A database
/// at `db` that holds anything is replaced only with `force`.
pub async fn restore(from: &Path, db: &Path, force: bool) -> anyhow::Result<Contents> {
    let contents = check(from).await.with_context(|| format!("checking the backup {}", from.display()))?;
    if db.exists() {
        let mut conn = open(db, true).await?;
        // A file without the tables holds nothing to lose.
        let present = contents_of(&mut conn).await.unwrap_or_default();
        conn.close().await?;
        ensure!(force || present.is_empty(), "{} holds {present}: stop the cloud using it, then pass --force to replace it", db.display());
    }
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let partial = partial_name(db);
    std::fs::copy(from, &partial).with_context(|| format!("copying into {}", partial.display()))?;
    // The old database's write-ahead log belongs to the old file: it must not be replayed
    // onto the restored one.
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", db.display()));
        if side.exists() {
            std::fs::remove_file(&side).with_context(|| format!("removing {}", side.display()))?;
        }
    }
    std::fs::rename(&partial, db).with_context(|| format!("naming the restored database {}", db.display()))?;
    Ok(contents)
}

/// Checks that `file` is a sound Jasiyo database this build can run, and says what it holds.
async fn check(file: &Path) -> anyhow::Result<Contents> {
    ensure!(file.is_file(), "{} is not a file", file.display());
    let mut conn = open(file, true).await?;
    let verdict: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check").fetch_all(&mut conn).await?;
    ensure!(verdict == ["ok"], "SQLite's integrity check failed: {}", verdict.join("; "));
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(&mut conn)
        .await
        .context("no migration record: not a Jasiyo database")?;
    let known: Vec<i64> = sqlx::migrate!("./migrations/sqlite").iter().map(|m| m.version).collect();
    let unknown: Vec<i64> = applied.iter().copied().filter(|v| !known.contains(v)).collect();
    ensure!(
        unknown.is_empty(),
        "it was written by a newer jasiyo-cloud (migrations {unknown:?} unknown here): restore it with that version"
    );
    let contents = contents_of(&mut conn).await?;
    conn.close().await?;
    Ok(contents)
}

async fn contents_of(conn: &mut SqliteConnection) -> anyhow::Result<Contents> {
    let (tenants, routers, payments): (i64, i64, i64) =
        sqlx::query_as("SELECT (SELECT COUNT(*) FROM tenants), (SELECT COUNT(*) FROM routers), (SELECT COUNT(*) FROM payments)")
            .fetch_one(&mut *conn)
            .await?;
    Ok(Contents { tenants, routers, payments })
}

/// One connection to an existing file (never creating one).
async fn open(file: &Path, read_only: bool) -> anyhow::Result<SqliteConnection> {
    ensure!(file.is_file(), "no database at {}", file.display());
    let options = SqliteConnectOptions::new().filename(file).read_only(read_only).busy_timeout(Duration::from_secs(10));
    Ok(options.connect().await?)
}

/// Where a file is written before it gets its name `file`.
fn partial_name(file: &Path) -> PathBuf {
    PathBuf::from(format!("{}.partial", file.display()))
}
