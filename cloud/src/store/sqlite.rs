//! The embedded SQLite store: zero set-up, one file, for a single cloud instance.

use std::str::FromStr;
use std::time::Duration;

use jasiyo_shared::{CommandId, RouterId};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio_util::sync::CancellationToken;

use super::sql::{Link, SeqColumn, impl_store};
use super::sql_payments::impl_payment_store;
use super::payments::{Heard, PaidOutcome, Provision};
use super::{OutboxSignal, StoreResult};
use crate::payments::model::PaymentId;

/// How often the outbox watcher looks for commands enqueued by other processes.
const OUTBOX_POLL: Duration = Duration::from_millis(200);

/// A [`super::Store`] in a SQLite file.
///
/// Reads use a pool of connections; writes go through a pool of one, so they queue in the
/// process (in order, without delay) instead of in SQLite's busy handler, which sleeps in
/// steps of milliseconds while another connection holds the write lock.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writes: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` and migrates it.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writes = SqlitePoolOptions::new().max_connections(1).min_connections(1).connect_with(options.clone()).await?;
        sqlx::migrate!("./migrations/sqlite").run(&writes).await?;
        // Opened up front, so serving never needs a new file descriptor.
        let pool = SqlitePoolOptions::new().max_connections(6).min_connections(6).connect_with(options).await?;
        Ok(Self { pool, writes })
    }

    fn writer(&self) -> &SqlitePool {
        &self.writes
    }

    /// Appends a command to the router's outbox: takes the router's next sequence number,
    /// inserts the command and points `link`'s entitlement at it. Other processes notice it
    /// by polling `gid` (see `watch_outbox`). `None`: no such router.
    async fn append_command(
        tx: &mut Transaction<'_, Sqlite>,
        router: RouterId,
        id: CommandId,
        kind: &str,
        payload: &str,
        link: Link,
        now_ms: i64,
    ) -> StoreResult<Option<i64>> {
        let seq: Option<i64> = sqlx::query_scalar("UPDATE routers SET next_seq = next_seq + 1 WHERE id = $1 RETURNING next_seq")
            .bind(router.to_string())
            .fetch_optional(&mut **tx)
            .await?;
        let Some(seq) = seq else { return Ok(None) };
        sqlx::query(
            "INSERT INTO commands (id, router_id, seq, kind, payload, state, created_at) VALUES ($1, $2, $3, $4, $5, 'queued', $6)",
        )
        .bind(id.to_string())
        .bind(router.to_string())
        .bind(seq)
        .bind(kind)
        .bind(payload)
        .bind(now_ms)
        .execute(&mut **tx)
        .await?;
        if let Some((entitlement, column)) = link {
            let sql = match column {
                SeqColumn::Command => "UPDATE entitlements SET command_seq = $1 WHERE id = $2",
                SeqColumn::Login => "UPDATE entitlements SET login_seq = $1 WHERE id = $2",
            };
            sqlx::query(sql).bind(seq).bind(entitlement.to_string()).execute(&mut **tx).await?;
        }
        Ok(Some(seq))
    }

    /// Records a payment paid with its entitlement and commands, in one transaction.
    async fn record_paid(
        &self,
        id: PaymentId,
        receipt: Option<&str>,
        provision: &Provision,
        heard: Option<Heard<'_>>,
        now_ms: i64,
    ) -> StoreResult<PaidOutcome> {
        self.mark_paid_in_tx(id, receipt, provision, heard, now_ms).await
    }

    /// Polls for commands with a `gid` above the highest seen. SQLite runs one write
    /// transaction at a time, so `gid`s become visible in order and none is skipped.
    fn watch_outbox(&self, signal: OutboxSignal, shutdown: CancellationToken) {
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let mut high: i64 = match sqlx::query_scalar("SELECT COALESCE(MAX(gid), 0) FROM commands").fetch_one(&pool).await {
                Ok(high) => high,
                Err(error) => {
                    tracing::error!(%error, "outbox watcher could not start");
                    return;
                }
            };
            let mut tick = tokio::time::interval(OUTBOX_POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let rows: Result<Vec<(i64, String)>, _> =
                    sqlx::query_as("SELECT gid, router_id FROM commands WHERE gid > $1 ORDER BY gid LIMIT 1000")
                        .bind(high)
                        .fetch_all(&pool)
                        .await;
                match rows {
                    Ok(rows) => {
                        for (gid, router) in rows {
                            high = gid;
                            if let Ok(router) = router.parse() {
                                signal(Some(router));
                            }
                        }
                    }
                    Err(error) => tracing::warn!(%error, "outbox watcher query failed"),
                }
            }
        });
    }
}

impl_store!(SqliteStore, Sqlite);
impl_payment_store!(SqliteStore, Sqlite);
