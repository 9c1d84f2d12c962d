//! PostgreSQL connections for single statements, kept without sqlx's round trip per use.
//!
//! A statement run on a `PgPool` costs two round trips: the statement, then a `Sync` and its
//! `ReadyForQuery` when the connection goes back to the pool (sqlx 0.8 pings every released
//! connection). On the money path most statements are single reads and writes, so that ping
//! was a third of the traffic with PostgreSQL. [`Conns`] keeps a few connections taken from
//! the pool and hands them out again without the ping. It is safe because a PostgreSQL
//! connection settles itself before its next statement (sqlx drains any reply a cancelled
//! statement left behind), and a connection whose socket failed is dropped, not kept.
//!
//! A connection kept idle for longer than [`FRESH_FOR`] goes back to the pool, which checks
//! it before handing it out again, so one that died while nobody used it (a database restart
//! at a quiet hour) is noticed there rather than by a customer's request. Transactions still
//! come from the pool ([`Conns::begin`]).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgQueryResult, PgRow, PgStatement, PgTypeInfo};
use sqlx::{Describe, Either, Execute, Executor, PgPool, Postgres, Transaction};

use crate::tally::Tally;

/// Connections kept idle at most; the rest go back to the pool.
const KEEP_IDLE: usize = 8;

/// How long a kept connection is used again without the pool's check.
const FRESH_FOR: Duration = Duration::from_secs(5);

/// The pool, and connections taken from it for single statements (cheap to clone).
#[derive(Clone)]
pub(super) struct Conns(Arc<Inner>);

struct Inner {
    pool: PgPool,
    /// How long taking a connection took (kept or from the pool), and beginning a transaction.
    waits: Arc<Tally>,
    /// Newest last, with when each was given back.
    idle: Mutex<Vec<(PoolConnection<Postgres>, Instant)>>,
}

impl std::fmt::Debug for Conns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conns").field("pool", &self.0.pool).finish_non_exhaustive()
    }
}

impl Conns {
    pub fn new(pool: PgPool, waits: Arc<Tally>) -> Conns {
        Conns(Arc::new(Inner { pool, waits, idle: Mutex::default() }))
    }

    /// The waits for a connection counted so far.
    pub fn waits(&self) -> Arc<Tally> {
        self.0.waits.clone()
    }

    /// The pool itself (listeners, migrations).
    pub fn pool(&self) -> &PgPool {
        &self.0.pool
    }

    /// A transaction on a pooled connection, the wait for it counted. (`Transaction::begin`
    /// is what `Pool::begin` does after its own `acquire`.)
    pub async fn begin(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        let conn = self.0.waits.time(self.0.pool.acquire()).await?;
        Transaction::begin(conn, None).await
    }

    /// A connection for one statement, the wait for it counted (none for a kept one).
    async fn take(&self) -> Result<PoolConnection<Postgres>, sqlx::Error> {
        self.0.waits.clone().time(self.take_untimed()).await
    }

    async fn take_untimed(&self) -> Result<PoolConnection<Postgres>, sqlx::Error> {
        let kept = {
            let mut idle = self.0.idle.lock().unwrap_or_else(|p| p.into_inner());
            match idle.last() {
                Some((_, since)) if since.elapsed() <= FRESH_FOR => idle.pop(),
                // The newest is stale, so all are: back to the pool, which checks them.
                _ => {
                    idle.clear();
                    None
                }
            }
        };
        match kept {
            Some((conn, _)) => Ok(conn),
            None => self.0.pool.acquire().await,
        }
    }

    /// Keeps a connection for the next statement unless its last one broke it.
    fn give_back<T>(&self, conn: PoolConnection<Postgres>, outcome: &Result<T, sqlx::Error>) {
        if let Err(error) = outcome
            && breaks_connection(error)
        {
            // Closed rather than returned: the pool must not hand it out again. What broke
            // one (a database restart) has likely broken the others kept with it: they go
            // back to the pool, which checks each before handing it out.
            let mut conn = conn;
            conn.close_on_drop();
            self.0.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
            return;
        }
        let mut idle = self.0.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < KEEP_IDLE {
            idle.push((conn, Instant::now()));
        }
    }

    /// Runs `run` on a connection and gives it back.
    async fn with<T>(&self, run: impl AsyncFnOnce(&mut PoolConnection<Postgres>) -> Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        let mut conn = self.take().await?;
        let outcome = run(&mut conn).await;
        self.give_back(conn, &outcome);
        outcome
    }
}

/// Errors after which the connection cannot be trusted: its socket failed, or the server
/// said it is closing it (SQLSTATE class 08, connection exception, and 57P, the server
/// shutting down or the backend terminated).
fn breaks_connection(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

impl<'c> Executor<'c> for &'c Conns {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        // Collected, then streamed: the statements here return a bounded number of rows.
        let collected = async move { self.with(async |conn| (&mut **conn).fetch_many(query).try_collect::<Vec<_>>().await).await };
        stream::once(collected).map_ok(|items| stream::iter(items.into_iter().map(Ok))).try_flatten().boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<PgRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        Box::pin(async move { self.with(async |conn| (&mut **conn).fetch_optional(query).await).await })
    }

    fn prepare_with<'e, 'q: 'e>(self, sql: &'q str, parameters: &'e [PgTypeInfo]) -> BoxFuture<'e, Result<PgStatement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        Box::pin(async move { self.with(async |conn| (&mut **conn).prepare_with(sql, parameters).await).await })
    }

    fn describe<'e, 'q: 'e>(self, sql: &'q str) -> BoxFuture<'e, Result<Describe<Postgres>, sqlx::Error>>
    where
        'c: 'e,
    {
        Box::pin(async move { self.with(async |conn| (&mut **conn).describe(sql).await).await })
    }
}
