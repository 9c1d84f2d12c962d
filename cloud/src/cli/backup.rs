//! `backup` and `restore`: the embedded SQLite database copied out while the cloud runs, and
//! a copy put back (checked first; see `store::backup`). For PostgreSQL they say to use
//! `pg_dump` and `pg_restore`.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::store::backup;

/// Flags of `backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The new file to write the backup to (it must not exist).
    #[arg(long)]
    pub to: PathBuf,
}

/// Flags of `restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup to restore (a file `backup --to` wrote).
    #[arg(long)]
    pub from: PathBuf,
    /// Replace a database that holds tenants, routers or payments (stop the cloud first).
    #[arg(long)]
    pub force: bool,
}

/// Runs `backup`.
pub(super) async fn run_backup(url: Option<&str>, data_dir: &Path, args: BackupArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let db = backup::sqlite_file(url, data_dir)?;
    let contents = backup::backup(&db, &args.to).await?;
    tracing::info!(from = %db.display(), to = %args.to.display(), "database backed up");
    writeln!(out, "backed up {} ({contents}) to {}", db.display(), args.to.display())?;
    Ok(())
}

/// Runs `restore`.
pub(super) async fn run_restore(url: Option<&str>, data_dir: &Path, args: RestoreArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let db = backup::sqlite_file(url, data_dir)?;
    let contents = backup::restore(&args.from, &db, args.force).await?;
    tracing::info!(from = %args.from.display(), to = %db.display(), "database restored");
    writeln!(out, "restored {} ({contents}) into {}", args.from.display(), db.display())?;
    writeln!(
        out,
        "start the cloud: agents reconnect, and the numbering of their routers' commands moves past what they applied after the backup"
    )?;
    Ok(())
}
