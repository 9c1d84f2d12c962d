//! The PostgreSQL store: for production and for several cloud instances sharing one
//! database. Instances learn of each other's enqueues through LISTEN/NOTIFY.

use std::time::Duration;

use jasiyo_shared::{CommandId, RouterId};
use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use tokio_util::sync::CancellationToken;

use super::payments::{Heard, PaidOutcome, Provision};
use super::pg_conns::Conns;
use super::sql::Backend;
use super::{OutboxSignal, StoreResult};
use crate::model::PaymentId;

// The shared SQL (`sql/`), compiled for PostgreSQL: its files are written against these names.
type Db = Postgres;
type This = PostgresStore;
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

/// The NOTIFY channel on which enqueues and token changes are announced, with the router id
/// as payload.
pub(super) const OUTBOX_CHANNEL: &str = "jasiyo_outbox";

/// A [`super::Store`] in PostgreSQL.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Conns,
}

impl PostgresStore {
    /// Connects to `url` and migrates the database.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(10)).connect(url).await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let waits = std::sync::Arc::new(crate::tally::Tally::new(crate::tally::POOL_WAIT_BOUNDS));
        Ok(Self { pool: Conns::new(pool, waits) })
    }

    /// How long statements and transactions waited for a connection (the metrics'
    /// `db_pool_wait_seconds`).
    fn pool_wait_tally(&self) -> std::sync::Arc<crate::tally::Tally> {
        self.pool.waits()
    }

    /// The pool's occupancy (connections kept for single statements count as in use).
    fn pool_occupancy(&self) -> super::ops::PoolStats {
        let pool = self.pool.pool();
        super::ops::PoolStats { size: pool.size(), idle: pool.num_idle() as u32, max: pool.options().get_max_connections() }
    }
}

#[async_trait::async_trait]
impl Backend for PostgresStore {
    type Db = Postgres;
    type Reads = Conns;
    type Writes = Conns;

    fn reads(&self) -> &Conns {
        &self.pool
    }

    /// PostgreSQL queues writers itself, without sleeping: one pool serves both.
    fn writes(&self) -> &Conns {
        &self.pool
    }

    /// One statement: takes the router's next sequence number, inserts the command and
    /// announces it (PostgreSQL delivers the notification only if the transaction commits).
    async fn append_command(
        tx: &mut Transaction<'_, Postgres>,
        router: RouterId,
        id: CommandId,
        kind: &str,
        payload: &str,
        now_ms: i64,
    ) -> StoreResult<Option<i64>> {
        let seq = sqlx::query_scalar(
            "WITH next AS (UPDATE routers SET next_seq = next_seq + 1 WHERE id = $2 RETURNING next_seq), \
                  added AS (INSERT INTO commands (id, router_id, seq, kind, payload, state, created_at) \
                            SELECT $1, $2, next_seq, $3, $4, 'queued', $5 FROM next RETURNING seq) \
             SELECT seq FROM added, pg_notify($6, $2) AS announced",
        )
        .bind(id.to_string())
        .bind(router.to_string())
        .bind(kind)
        .bind(payload)
        .bind(now_ms)
        .bind(OUTBOX_CHANNEL)
        .fetch_optional(&mut **tx)
        .await?;
        Ok(seq)
    }

    /// One statement (`pg_paid.rs`).
    async fn record_paid(
        &self,
        id: PaymentId,
        receipt: Option<&str>,
        provision: &Provision,
        heard: Option<Heard<'_>>,
        now_ms: i64,
    ) -> StoreResult<PaidOutcome> {
        self.paid_in_one_statement(id, receipt, provision, heard, now_ms).await
    }

    /// The same NOTIFY as a new command: the woken session re-checks its router's token.
    async fn announce_token_change(tx: &mut Transaction<'_, Postgres>, router: RouterId) -> StoreResult<()> {
        sqlx::query("SELECT pg_notify($1, $2)").bind(OUTBOX_CHANNEL).bind(router.to_string()).execute(&mut **tx).await?;
        Ok(())
    }

    /// Listens on the outbox channel. If the listening connection drops, notifications sent
    /// meanwhile are lost, so after a reconnect every session is told to look.
    fn watch_outbox(&self, signal: OutboxSignal, shutdown: CancellationToken) {
        let pool = self.pool.pool().clone();
        tokio::spawn(async move {
            loop {
                let mut listener = match PgListener::connect_with(&pool).await {
                    Ok(listener) => listener,
                    Err(error) => {
                        tracing::warn!(%error, "outbox listener could not connect; retrying");
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        }
                    }
                };
                if let Err(error) = listener.listen(OUTBOX_CHANNEL).await {
                    tracing::warn!(%error, "outbox listener could not LISTEN; retrying");
                    continue;
                }
                signal(None);
                loop {
                    let next = tokio::select! {
                        _ = shutdown.cancelled() => return,
                        next = listener.try_recv() => next,
                    };
                    match next {
                        Ok(Some(notification)) => match notification.payload().parse() {
                            Ok(router) => signal(Some(router)),
                            Err(_) => tracing::warn!(payload = notification.payload(), "odd outbox notification"),
                        },
                        // The connection was lost and re-established: anything may have been missed.
                        Ok(None) => signal(None),
                        Err(error) => {
                            tracing::warn!(%error, "outbox listener failed; reconnecting");
                            break;
                        }
                    }
                }
            }
        });
    }
}
