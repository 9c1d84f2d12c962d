//! SQLite's pools with the wait for a connection timed: every statement and transaction
//! takes its connection through [`Timed`], which counts how long `acquire` took into the
//! store's pool-wait [`Tally`] (the metrics' `db_pool_wait_seconds`). SQLite's writes go
//! through a pool of one, so this is where writers queue behind each other.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteQueryResult, SqliteRow, SqliteStatement, SqliteTypeInfo};
use sqlx::{Describe, Either, Execute, Executor, Sqlite, SqlitePool, Transaction};

use crate::tally::Tally;

/// A pool whose connections are acquired with the wait counted.
#[derive(Clone, Debug)]
pub(super) struct Timed {
    pool: SqlitePool,
    waits: Arc<Tally>,
}

impl Timed {
    pub fn new(pool: SqlitePool, waits: Arc<Tally>) -> Timed {
        Timed { pool, waits }
    }

    /// The pool itself (occupancy, the outbox watcher).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn acquire(&self) -> Result<PoolConnection<Sqlite>, sqlx::Error> {
        self.waits.time(self.pool.acquire()).await
    }

    /// A transaction on a connection acquired with the wait counted. (`Transaction::begin`
    /// is what `Pool::begin` does after its own `acquire`.)
    pub async fn begin(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        let conn = self.acquire().await?;
        Transaction::begin(conn, None).await
    }
}

impl<'c> Executor<'c> for &'c Timed {
    type Database = Sqlite;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, Result<Either<SqliteQueryResult, SqliteRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        // Collected, then streamed (as `pg_conns.rs`): the statements here return a bounded
        // number of rows.
        let collected = async move {
            let mut conn = self.acquire().await?;
            (&mut *conn).fetch_many(query).try_collect::<Vec<_>>().await
        };
        stream::once(collected).map_ok(|items| stream::iter(items.into_iter().map(Ok))).try_flatten().boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<SqliteRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        Box::pin(async move {
            let mut conn = self.acquire().await?;
            (&mut *conn).fetch_optional(query).await
        })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [SqliteTypeInfo],
    ) -> BoxFuture<'e, Result<SqliteStatement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        Box::pin(async move {
            let mut conn = self.acquire().await?;
            (&mut *conn).prepare_with(sql, parameters).await
        })
    }

    fn describe<'e, 'q: 'e>(self, sql: &'q str) -> BoxFuture<'e, Result<Describe<Sqlite>, sqlx::Error>>
    where
        'c: 'e,
    {
        Box::pin(async move {
            let mut conn = self.acquire().await?;
            (&mut *conn).describe(sql).await
        })
    }
}
