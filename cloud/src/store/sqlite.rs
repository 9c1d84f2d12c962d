//! The embedded SQLite store: zero set-up, one file, for a single cloud instance.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use jasiyo_shared::{CommandId, RouterId};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio_util::sync::CancellationToken;

use super::payments::{Heard, PaidOutcome, Provision};
use super::sql::rows::{parse_payment, parse_router};
use super::sql::{Backend, FLAGGED_OTHERS, RECEIPT_SHARED, conflict_or, receipt_recorded_again, receipt_shared};
use super::sqlite_conns::Timed;
use super::{OutboxSignal, StoreResult};
use crate::model::PaymentId;
use crate::tally::{POOL_WAIT_BOUNDS, Tally};

// The shared SQL (`sql/`), compiled for SQLite: its files are written against these names.
type Db = Sqlite;
type This = SqliteStore;
#[allow(clippy::duplicate_mod)]
#[path = "sql/accounts.rs"]
mod accounts;
#[allow(clippy::duplicate_mod)]
#[path = "sql/alerts.rs"]
mod alerts;
#[allow(clippy::duplicate_mod)]
#[path = "sql/checks.rs"]
mod checks;
#[allow(clippy::duplicate_mod)]
#[path = "sql/connects.rs"]
mod connects;
#[allow(clippy::duplicate_mod)]
#[path = "sql/counters.rs"]
mod counters;
#[allow(clippy::duplicate_mod)]
#[path = "sql/dashboard.rs"]
mod dashboard;
#[allow(clippy::duplicate_mod)]
#[path = "sql/deliveries.rs"]
mod deliveries;
#[allow(clippy::duplicate_mod)]
#[path = "sql/entitlements.rs"]
mod entitlements;
#[allow(clippy::duplicate_mod)]
#[path = "sql/events.rs"]
mod events;
#[allow(clippy::duplicate_mod)]
#[path = "sql/look.rs"]
mod look;
#[allow(clippy::duplicate_mod)]
#[path = "sql/ops.rs"]
mod ops;
#[allow(clippy::duplicate_mod)]
#[path = "sql/outbox.rs"]
mod outbox;
#[allow(clippy::duplicate_mod)]
#[path = "sql/payments.rs"]
mod payments;
#[allow(clippy::duplicate_mod)]
#[path = "sql/plan_order.rs"]
mod plan_order;
#[allow(clippy::duplicate_mod)]
#[path = "sql/plans.rs"]
mod plans;
#[allow(clippy::duplicate_mod)]
#[path = "sql/platform.rs"]
mod platform;
#[allow(clippy::duplicate_mod)]
#[path = "sql/routers.rs"]
mod routers;
#[allow(clippy::duplicate_mod)]
#[path = "sql/split.rs"]
mod split;
#[allow(clippy::duplicate_mod)]
#[path = "sql/tokens.rs"]
mod tokens;
#[allow(clippy::duplicate_mod)]
#[path = "sql/traits.rs"]
mod traits;
#[allow(clippy::duplicate_mod)]
#[path = "sql/users.rs"]
mod users;

#[allow(clippy::duplicate_mod)]
#[path = "sql/voucher_reuse.rs"]
mod voucher_reuse;
#[allow(clippy::duplicate_mod)]
#[path = "sql/voucher_usage.rs"]
mod voucher_usage;
#[allow(clippy::duplicate_mod)]
#[path = "sql/vouchers.rs"]
mod vouchers;

#[allow(clippy::duplicate_mod)]
#[path = "sql/voucher_sales.rs"]
mod voucher_sales;

#[allow(clippy::duplicate_mod)]
#[path = "sql/trials.rs"]
mod trials;

/// How often the outbox watcher looks for commands enqueued by other processes.
const OUTBOX_POLL: Duration = Duration::from_millis(200);

/// A [`super::Store`] in a SQLite file.
///
/// Reads use a pool of connections; writes go through a pool of one, so they queue in the
/// process (in order, without delay) instead of in SQLite's busy handler, which sleeps in
/// steps of milliseconds while another connection holds the write lock.
#[derive(Clone)]
pub struct SqliteStore {
    pool: Timed,
    writes: Timed,
    /// How long statements waited for a connection, both pools.
    waits: Arc<Tally>,
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
        let waits = Arc::new(Tally::new(POOL_WAIT_BOUNDS));
        Ok(Self { pool: Timed::new(pool, waits.clone()), writes: Timed::new(writes, waits.clone()), waits })
    }

    /// How long statements waited for a connection (the metrics' `db_pool_wait_seconds`).
    fn pool_wait_tally(&self) -> Arc<Tally> {
        self.waits.clone()
    }

    /// The readers' and the writer's pools together (the metrics' `db_connections`).
    fn pool_occupancy(&self) -> super::ops::PoolStats {
        let [reads, writes] = [self.pool.pool(), self.writes.pool()];
        let max = |pool: &SqlitePool| pool.options().get_max_connections();
        super::ops::PoolStats {
            size: reads.size() + writes.size(),
            idle: (reads.num_idle() + writes.num_idle()) as u32,
            max: max(reads) + max(writes),
        }
    }
}

#[async_trait::async_trait]
impl Backend for SqliteStore {
    type Db = Sqlite;
    type Reads = Timed;
    type Writes = Timed;

    fn reads(&self) -> &Timed {
        &self.pool
    }

    fn writes(&self) -> &Timed {
        &self.writes
    }

    /// Takes the router's next sequence number and inserts the command. Other processes
    /// notice it by polling `gid` (see `watch_outbox`).
    async fn append_command(
        tx: &mut Transaction<'_, Sqlite>,
        router: RouterId,
        id: CommandId,
        kind: &str,
        payload: &str,
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
        Ok(Some(seq))
    }

    /// Records a payment paid with its timeline, its commands and its entitlement, in one
    /// transaction (SQLite has one writer, so nothing waits on the router's counter).
    async fn record_paid(
        &self,
        id: PaymentId,
        receipt: Option<&str>,
        provision: &Provision,
        heard: Option<Heard<'_>>,
        now_ms: i64,
    ) -> StoreResult<PaidOutcome> {
        let mut tx = self.writes().begin().await?;
        let row: Option<(String, Option<String>, String)> = sqlx::query_as(
            "UPDATE payments SET state = 'paid', reason = NULL, receipt = COALESCE($2, receipt), paid_at = $3, \
             updated_at = $3, next_check_at = NULL WHERE id = $1 AND state <> 'paid' RETURNING router_id, device_mac, tenant_id",
        )
        .bind(id.to_string())
        .bind(receipt)
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await?;
        let mut events: Vec<(&str, &str)> = heard.iter().map(|h| (h.source, h.detail)).collect();
        let Some((router, mac, tenant)) = row else {
            // A repeat: what the provider said is still worth keeping.
            payments::events_tx(&mut tx, id, &events, now_ms).await?;
            tx.commit().await?;
            return Ok(PaidOutcome::AlreadyPaid);
        };
        let router = parse_router(&router)?;
        let paid = format!("receipt {}", receipt.unwrap_or("(from status query)"));
        let created = format!("user {} until {}", provision.username, provision.expires_at);
        events.extend([("paid", paid.as_str()), ("entitlement_created", created.as_str())]);
        // Other payments with the same receipt: flagged on each timeline, not refused.
        let (count, others): (i64, Vec<(String,)>) = match receipt {
            Some(receipt) => {
                let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM payments WHERE receipt = $1 AND id <> $2")
                    .bind(receipt)
                    .bind(id.to_string())
                    .fetch_one(&mut *tx)
                    .await?;
                let first = "SELECT id FROM payments WHERE receipt = $1 AND id <> $2 AND tenant_id = $3 ORDER BY created_at, id LIMIT $4";
                let others =
                    sqlx::query_as(first).bind(receipt).bind(id.to_string()).bind(&tenant).bind(FLAGGED_OTHERS).fetch_all(&mut *tx).await?;
                (count, others)
            }
            None => (0, Vec::new()),
        };
        let shared = receipt.filter(|_| count > 0).map(|r| receipt_shared(r, count as usize));
        events.extend(shared.as_deref().map(|detail| (RECEIPT_SHARED, detail)));
        payments::events_tx(&mut tx, id, &events, now_ms).await?;
        if let Some(receipt) = receipt.filter(|_| !others.is_empty()) {
            let detail = receipt_recorded_again(receipt, id);
            for (other,) in &others {
                payments::events_tx(&mut tx, parse_payment(other)?, &[(RECEIPT_SHARED, &detail)], now_ms).await?;
            }
        }
        let (upsert_seq, _) = outbox::enqueue_tx(&mut tx, router, &provision.upsert, now_ms).await?;
        let login_seq = match &provision.login {
            Some(login) => Some(outbox::enqueue_tx(&mut tx, router, login, now_ms).await?.0),
            None => None,
        };
        let device_mac = mac.as_deref().and_then(|m| m.parse().ok());
        let entitlement = provision.entitlement(uuid::Uuid::new_v4(), id, router, device_mac, upsert_seq.0, login_seq.map(|s| s.0), now_ms);
        sqlx::query(
            "INSERT INTO entitlements (id, payment_id, router_id, username, password, device_mac, expires_at, command_seq, login_seq, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(entitlement.id.to_string())
        .bind(id.to_string())
        .bind(router.to_string())
        .bind(&entitlement.username)
        .bind(&entitlement.password)
        .bind(mac)
        .bind(entitlement.expires_at)
        .bind(upsert_seq.as_i64())
        .bind(login_seq.map(|s| s.as_i64()))
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_or(e, "hotspot username"))?;
        tx.commit().await?;
        Ok(PaidOutcome::Provisioned(entitlement))
    }

    /// Nothing to send: the watcher polls `router_token_events` (see `watch_outbox`).
    async fn announce_token_change(_tx: &mut Transaction<'_, Sqlite>, _router: RouterId) -> StoreResult<()> {
        Ok(())
    }

    /// Polls for commands, and router token changes, with a `gid` above the highest seen.
    /// SQLite runs one write transaction at a time, so `gid`s become visible in order and
    /// none is skipped.
    fn watch_outbox(&self, signal: OutboxSignal, shutdown: CancellationToken) {
        let pool = self.pool.pool().clone();
        tokio::spawn(async move {
            let mut commands = PolledTable { table: "commands", high: 0 };
            let mut tokens = PolledTable { table: "router_token_events", high: 0 };
            for polled in [&mut commands, &mut tokens] {
                if let Err(error) = polled.start(&pool).await {
                    tracing::error!(%error, table = polled.table, "outbox watcher could not start");
                    return;
                }
            }
            let mut tick = tokio::time::interval(OUTBOX_POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tick.tick() => {}
                }
                for polled in [&mut commands, &mut tokens] {
                    if let Err(error) = polled.poll(&pool, &signal).await {
                        tracing::warn!(%error, table = polled.table, "outbox watcher query failed");
                    }
                }
            }
        });
    }
}

/// A table with a growing `gid` and a `router_id`, watched for new rows.
struct PolledTable {
    table: &'static str,
    high: i64,
}

impl PolledTable {
    /// Starts from the rows already there.
    async fn start(&mut self, pool: &SqlitePool) -> Result<(), sqlx::Error> {
        self.high = sqlx::query_scalar(&format!("SELECT COALESCE(MAX(gid), 0) FROM {}", self.table)).fetch_one(pool).await?;
        Ok(())
    }

    /// Signals the router of every row added since the last look.
    async fn poll(&mut self, pool: &SqlitePool, signal: &OutboxSignal) -> Result<(), sqlx::Error> {
        let sql = format!("SELECT gid, router_id FROM {} WHERE gid > $1 ORDER BY gid LIMIT 1000", self.table);
        let rows: Vec<(i64, String)> = sqlx::query_as(&sql).bind(self.high).fetch_all(pool).await?;
        for (gid, router) in rows {
            self.high = gid;
            if let Ok(router) = router.parse() {
                signal(Some(router));
            }
        }
        Ok(())
    }
}
