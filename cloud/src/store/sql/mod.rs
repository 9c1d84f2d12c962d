//! The SQL both backends share, and the contract each backend fulfils.
//!
//! SQLite and PostgreSQL accept the same statements here (`$N` parameters, `RETURNING`,
//! text ids, integer millisecond times), so each query is written once. The files beside
//! this one hold them by aggregate: `routers.rs` (tenants and routers), `outbox.rs`,
//! `events.rs`, `tokens.rs` (operator tokens and the provider token cache), `plans.rs`
//! (plans and provider settings), `payments.rs` and `entitlements.rs`, with `store.rs`
//! mapping the [`Store`](super::Store) and [`PaymentStore`](super::payments::PaymentStore)
//! traits onto them.
//!
//! Those files are ordinary Rust compiled once per backend: `sqlite.rs` and `postgres.rs`
//! each include them as their own modules (`#[path]`), after naming their database as
//! `Db` and their store as `This`. sqlx has no common type for "a database that can bind a
//! string and read an integer" short of a page of trait bounds per function (or its `Any`
//! driver, which would lose PostgreSQL's connection reuse in `pg_conns.rs`), so each query
//! is compiled against a concrete database instead. What differs between the backends is
//! the [`Backend`] trait: a backend that leaves a piece out is a compiler error in its own
//! file. Rows are read by column name into the structs in [`rows`].

pub(crate) mod rows;

use async_trait::async_trait;
use jasiyo_shared::{CommandId, RouterId};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use super::payments::{Heard, PaidOutcome, Provision};
use super::{OutboxSignal, StoreError, StoreResult};
use crate::model::PaymentId;

/// What each backend provides to the shared SQL: its connections, and the pieces written
/// in its own dialect.
#[async_trait]
pub(in crate::store) trait Backend: Sized + Send + Sync + 'static {
    /// The sqlx database.
    type Db: sqlx::Database;
    /// Where reads run (a pool, or PostgreSQL's kept connections).
    type Reads;
    /// Where writes run; `begin()` starts a transaction on it.
    type Writes;

    /// Connections for reads.
    fn reads(&self) -> &Self::Reads;
    /// Connections for writes (SQLite has one writer; PostgreSQL queues writers itself).
    fn writes(&self) -> &Self::Writes;

    /// Appends a command to the router's outbox inside `tx`: takes the router's next
    /// sequence number, inserts the command and lets other instances know. `None`: no
    /// such router.
    async fn append_command(
        tx: &mut sqlx::Transaction<'_, Self::Db>,
        router: RouterId,
        id: CommandId,
        kind: &str,
        payload: &str,
        now_ms: i64,
    ) -> StoreResult<Option<i64>>;

    /// Records a payment paid with its timeline, commands and entitlement, atomically
    /// (see [`PaymentStore::mark_paid`](super::payments::PaymentStore::mark_paid)).
    async fn record_paid(
        &self,
        id: PaymentId,
        receipt: Option<&str>,
        provision: &Provision,
        heard: Option<Heard<'_>>,
        now_ms: i64,
    ) -> StoreResult<PaidOutcome>;

    /// Lets every instance know, once `tx` commits, that the router's token changed
    /// (revoked or rotated), so the instance holding its live session ends it. SQLite needs
    /// nothing more than the `router_token_events` row its watcher polls for.
    async fn announce_token_change(tx: &mut sqlx::Transaction<'_, Self::Db>, router: RouterId) -> StoreResult<()>;

    /// Watches for commands enqueued, and router tokens changed, by other processes until
    /// `shutdown`.
    fn watch_outbox(&self, signal: OutboxSignal, shutdown: CancellationToken);
}

/// The timeline event of a payment whose M-Pesa receipt other payments also carry.
pub(crate) const RECEIPT_SHARED: &str = "receipt_shared";

/// [`RECEIPT_SHARED`] on the payment just paid: how many others carry its receipt. The same
/// words are written by PostgreSQL's paid statement (`pg_paid.rs`).
pub(crate) fn receipt_shared(receipt: &str, others: usize) -> String {
    format!("receipt {receipt} is also recorded on {others} other payment(s); check it with the provider")
}

/// How many earlier payments of the same owner with a receipt are flagged when it is
/// recorded again: the first ones (the original among them). Flagging every one made each
/// payment cost as many writes as there were before it (a Paystack test-mode account gives
/// every charge the receipt `10101`), so a busy hotspot slowed down quadratically.
pub(crate) const FLAGGED_OTHERS: i64 = 3;

/// [`RECEIPT_SHARED`] on an earlier payment of the same owner with the receipt.
pub(crate) fn receipt_recorded_again(receipt: &str, on: PaymentId) -> String {
    format!("receipt {receipt} recorded again, on payment {on}")
}

/// Reads a stored UUID.
pub(crate) fn parse_uuid(field: &str, value: &str) -> StoreResult<uuid::Uuid> {
    uuid::Uuid::parse_str(value).map_err(|e| StoreError::Corrupt(format!("{field} {value:?}: {e}")))
}

/// A value stored as JSON text (commands, outcomes, statuses, events).
pub(crate) fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("stored values always serialise")
}

/// Reads a value stored as JSON text.
pub(crate) fn parse_json<T: DeserializeOwned>(what: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// Maps a unique-constraint violation to [`StoreError::Conflict`].
pub(crate) fn conflict_or(err: sqlx::Error, what: impl Into<String>) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what.into()),
        _ => StoreError::Database(err),
    }
}

/// Appends `(a, b, c)` with each value bound, for an `IN` list.
pub(crate) fn push_list<'a, DB: sqlx::Database, T>(query: &mut sqlx::QueryBuilder<'a, DB>, values: impl IntoIterator<Item = T>)
where
    T: 'a + sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    query.push("(");
    let mut list = query.separated(", ");
    for value in values {
        list.push_bind(value);
    }
    list.push_unseparated(")");
}
