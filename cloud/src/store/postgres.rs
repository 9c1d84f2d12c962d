//! The PostgreSQL store: for production and for several cloud instances sharing one
//! database. Instances learn of each other's enqueues through LISTEN/NOTIFY.

use std::time::Duration;

use jasiyo_shared::{CommandId, RouterId};
use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use tokio_util::sync::CancellationToken;

use super::pg_conns::Conns;
use super::sql::impl_store;
use super::sql_payments::impl_payment_store;
use super::{OutboxSignal, StoreResult};

/// The NOTIFY channel on which enqueues are announced, with the router id as payload.
pub(super) const OUTBOX_CHANNEL: &str = "jasiyo_outbox";

/// A [`super::Store`] in PostgreSQL.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Conns,
}

impl PostgresStore {
    /// Connects to `url` and migrates the database.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self { pool: Conns::new(pool) })
    }

    /// PostgreSQL queues writers itself, without sleeping: one pool serves both.
    pub(super) fn writer(&self) -> &Conns {
        &self.pool
    }

    /// Appends a command to the router's outbox in one statement: takes the router's next
    /// sequence number, inserts the command and announces it (PostgreSQL delivers the
    /// notification only if the transaction commits). `None`: no such router.
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

impl_store!(PostgresStore, Postgres);
impl_payment_store!(PostgresStore, Postgres);
