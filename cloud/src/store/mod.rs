//! Persistence: one [`Store`] trait, a SQLite and a PostgreSQL implementation, chosen by
//! the database URL's scheme. Handlers hold an `Arc<dyn Store>` and never name a backend.

pub mod accounts;
pub mod alerts;
pub mod backup;
pub mod counters;
pub mod dashboard;
pub mod look;
pub mod ops;
pub mod payments;
mod pg_conns;
mod pg_paid;
pub mod platform;
mod postgres;
mod sql;
mod sqlite;
mod sqlite_conns;
pub mod testing;
pub mod trials;
pub mod users;
pub mod voucher_sales;
pub mod vouchers;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use jasiyo_shared::{AgentCounters, Command, Outcome, Report, RouterId, RouterStatus, Seq};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::model::{CommandState, ResultRecorded, Router, RouterEvent, StoredCommand, Tenant, TenantId};
use crate::token::OperatorToken;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A record with the same unique key exists.
    #[error("{0} already exists")]
    Conflict(String),
    /// The record named does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A stored value could not be read back (a bug or a hand-edited database).
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// The database itself failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed at start.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// An agent session starting, for [`Store::routers_connected`].
#[derive(Clone, Debug)]
pub struct Connect {
    pub router: RouterId,
    pub session: Uuid,
    pub agent_version: String,
    /// The hash of the token the session was opened with: the session is recorded only if
    /// it is still the router's (not rotated or revoked since it was checked).
    pub token_hash: String,
    /// The highest command the agent's journal holds (its hello), already judged plausible.
    pub journal_high: Option<Seq>,
    pub now_ms: i64,
}

/// What [`Store::routers_connected`] did for one session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Connected {
    /// The session is the router's link now; `false`: its token changed, it was revoked or
    /// the router is gone.
    pub recorded: bool,
    /// The router has commands without a result (only known when recorded).
    pub pending: bool,
    /// Its sequence counter was behind the agent's journal and was moved past it.
    pub seq_moved: bool,
}

/// What [`Store::split_command`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split {
    /// The first of the single commands.
    pub first: Seq,
    /// How many there are.
    pub count: usize,
    /// How many later commands moved behind them.
    pub moved: usize,
}

/// A wake-up from the outbox watcher: a router got new commands (`Some`), or anything may
/// have changed and every session should look (`None`, after the watcher lost track).
pub type OutboxSignal = Arc<dyn Fn(Option<RouterId>) + Send + Sync>;

/// Everything the cloud keeps. Every method is one transaction.
#[async_trait]
pub trait Store:
    payments::PaymentStore
    + counters::RateCounters
    + accounts::AccountStore
    + dashboard::DashboardStore
    + users::UserStore
    + alerts::AlertStore
    + platform::PlatformStore
    + ops::OpsStore
    + look::LookStore
    + vouchers::VoucherStore
    + voucher_sales::VoucherSaleStore
    + trials::TrialStore
    + Send
    + Sync
    + 'static
{
    /// Whether the database answers, on the connections for reads and for writes.
    async fn ping(&self) -> StoreResult<()>;
    /// Creates a tenant; its name must be unused and must not look like an id.
    async fn create_tenant(&self, name: &str, now_ms: i64) -> StoreResult<Tenant>;
    /// Sets the time zone (an IANA name, checked by the caller) the tenant's times are shown
    /// in; returns false if there is no such tenant.
    async fn set_time_zone(&self, tenant: TenantId, time_zone: &str) -> StoreResult<bool>;
    /// Finds a tenant by id (when the text is a UUID) or else by name.
    async fn find_tenant(&self, id_or_name: &str) -> StoreResult<Option<Tenant>>;
    /// Adds a router for a tenant with the hash of its agent token.
    async fn create_router(&self, tenant: TenantId, name: &str, token_hash: &str, now_ms: i64) -> StoreResult<Router>;
    /// One router.
    async fn router(&self, id: RouterId) -> StoreResult<Option<Router>>;
    /// The routers of these ids that exist, in no particular order (many token checks at
    /// once: see `hub/lookups.rs`).
    async fn routers_by_id(&self, ids: &[RouterId]) -> StoreResult<Vec<Router>>;
    /// All routers, or one tenant's, ordered by name.
    async fn list_routers(&self, tenant: Option<TenantId>) -> StoreResult<Vec<Router>>;
    /// Revokes the router's token; returns false if it was unknown or already revoked. The
    /// change is announced to every instance (see [`Store::spawn_outbox_watcher`]).
    async fn revoke_router(&self, id: RouterId, now_ms: i64) -> StoreResult<bool>;
    /// Replaces the router's agent token (by its hash), keeping its id; the change is
    /// announced so a live session on the old token ends. Returns false if the router is
    /// unknown or revoked.
    async fn rotate_router_token(&self, id: RouterId, token_hash: &str, now_ms: i64) -> StoreResult<bool>;
    /// Records that agent sessions started, many in one transaction (see `hub/connects.rs`):
    /// for each, the router's sequence counter is moved past the agent's journal, and the
    /// session is named as the router's link if its token is still current. A router must
    /// appear at most once. The answers are in the order asked.
    async fn routers_connected(&self, connects: &[Connect]) -> StoreResult<Vec<Connected>>;
    /// Records that an agent session for the router started (its `connected_at`), whatever
    /// its token: for tests and tools that set a router's link by hand.
    async fn router_connected(&self, id: RouterId, session: Uuid, agent_version: &str, now_ms: i64) -> StoreResult<()>;
    /// Records that the session ended (its `disconnected_at`), unless a newer session
    /// replaced it meanwhile.
    async fn router_disconnected(&self, id: RouterId, session: Uuid, now_ms: i64) -> StoreResult<()>;
    /// Marks these routers as heard from now (one batch for many live sessions).
    async fn routers_seen(&self, ids: &[RouterId], now_ms: i64) -> StoreResult<()>;
    /// Marks these routers as heard from now where their link is still the given session
    /// (one batch for an instance's live sessions), and returns those where it is not: a
    /// newer link, on this or another instance, replaced it, and the session is stale.
    async fn sessions_seen(&self, sessions: &[(RouterId, Uuid)], now_ms: i64) -> StoreResult<Vec<RouterId>>;
    /// Stores the status an agent reported, with its counters (protocol 3) when it sent
    /// them (else the last ones stay).
    async fn record_status(&self, id: RouterId, status: &RouterStatus, counters: Option<&AgentCounters>, now_ms: i64) -> StoreResult<()>;
    /// Stores the clock skew an agent reported (its clock minus the cloud's, ms).
    async fn record_clock_skew(&self, id: RouterId, skew_ms: i64, now_ms: i64) -> StoreResult<()>;

    /// Appends a command to the router's outbox with the next sequence number.
    async fn enqueue_command(&self, router: RouterId, command: &Command, now_ms: i64) -> StoreResult<StoredCommand>;
    /// Commands of the router without a result, with `seq > after`, in order, at most `limit`.
    async fn open_commands(&self, router: RouterId, after: Option<Seq>, limit: u32) -> StoreResult<Vec<StoredCommand>>;
    /// Marks commands as sent to the agent (unless they are further along already).
    async fn mark_delivered(&self, router: RouterId, seqs: &[Seq], now_ms: i64) -> StoreResult<()>;
    /// Marks commands as durable in the agent's journal (unless they are further along).
    async fn mark_received(&self, router: RouterId, seqs: &[Seq], now_ms: i64) -> StoreResult<()>;
    /// Stores a command's final outcome, once.
    async fn record_result(&self, router: RouterId, seq: Seq, outcome: &Outcome, now_ms: i64) -> StoreResult<ResultRecorded>;
    /// Stores several commands' final outcomes, each once, in one statement; what happened
    /// to each, in order (a result repeated in `results` is a duplicate of the first).
    async fn record_results(&self, router: RouterId, results: &[(Seq, &Outcome)], now_ms: i64) -> StoreResult<Vec<ResultRecorded>>;
    /// Gives the unfinished command numbered `seq` the router's next sequence number (and
    /// moves what an entitlement points at with it), queued to be delivered again: the
    /// agent holds `seq` under another command (sequence numbers went back). `None` when
    /// there is no such unfinished command.
    async fn renumber_command(&self, router: RouterId, seq: Seq) -> StoreResult<Option<Seq>>;
    /// Splits the unfinished batch numbered `seq` into one command per user for an agent
    /// speaking `protocol` (older than the batch's), moving later commands on the same users
    /// behind them (see `sql/split.rs`). `None` when there is no such unfinished command.
    async fn split_command(&self, router: RouterId, seq: Seq, protocol: u16, now_ms: i64) -> StoreResult<Option<Split>>;
    /// The state of one command.
    async fn command_state(&self, router: RouterId, seq: Seq) -> StoreResult<Option<CommandState>>;
    /// The router's newest commands first, at most `limit`.
    async fn list_commands(&self, router: RouterId, limit: u32) -> StoreResult<Vec<StoredCommand>>;

    /// Stores an agent's report once; returns false if it was already stored.
    async fn record_report(&self, router: RouterId, report: &Report, now_ms: i64) -> StoreResult<bool>;
    /// The router's reports, newest first.
    async fn list_events(&self, router: RouterId, limit: u32) -> StoreResult<Vec<RouterEvent>>;

    /// Keeps the hash of a new operator API token.
    async fn create_operator_token(&self, name: &str, token_hash: &str, now_ms: i64) -> StoreResult<()>;
    /// Whether an operator token with this hash exists and works now.
    async fn operator_token_exists(&self, token_hash: &str) -> StoreResult<bool>;
    /// Keeps a new operator token: its record and the hash of the token.
    async fn create_scoped_operator_token(&self, token: &OperatorToken, token_hash: &str) -> StoreResult<()>;
    /// The operator token with this hash, if it works at `now_ms` (not revoked, not expired).
    async fn active_operator_token(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<OperatorToken>>;
    /// Every operator token, revoked and expired ones too, oldest first.
    async fn list_operator_tokens(&self) -> StoreResult<Vec<OperatorToken>>;
    /// Revokes the operator token with this id; false if unknown or already revoked.
    async fn revoke_operator_token(&self, id: &str, now_ms: i64) -> StoreResult<bool>;
    /// Records a change made through the operator API by the token with this id.
    async fn record_operator_action(
        &self,
        token_id: &str,
        action: &str,
        router: Option<RouterId>,
        detail: &str,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// Keeps the hash of the router's hotspot download credential, made from the agent token
    /// whose hash is `agent_token_hash` (replacing the one kept before).
    async fn set_download_token(&self, router: RouterId, token_hash: &str, agent_token_hash: &str, now_ms: i64) -> StoreResult<()>;
    /// The hash of the router's hotspot download credential, if it has one that is still good:
    /// made from its current agent token, and the router not revoked.
    async fn download_token_hash(&self, router: RouterId) -> StoreResult<Option<String>>;

    /// Watches for commands enqueued, and router tokens revoked or rotated, by any process
    /// (another cloud instance, the CLI) and calls `signal` for them until `shutdown`.
    fn spawn_outbox_watcher(&self, signal: OutboxSignal, shutdown: CancellationToken);
}

/// Opens the store named by `url` (`sqlite://...` or `postgres://...`) and runs its
/// migrations. With no URL, a SQLite file in `data_dir` is used.
pub async fn connect(url: Option<&str>, data_dir: &Path) -> anyhow::Result<Arc<dyn Store>> {
    use anyhow::Context;
    match url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let store = PostgresStore::connect(url).await.context("opening PostgreSQL")?;
            Ok(Arc::new(store))
        }
        Some(url) if url.starts_with("sqlite:") => {
            let store = SqliteStore::connect(url).await.context("opening SQLite")?;
            Ok(Arc::new(store))
        }
        Some(other) => anyhow::bail!("unsupported database URL {other:?}: use sqlite://PATH or postgres://..."),
        None => {
            std::fs::create_dir_all(data_dir).with_context(|| format!("creating data directory {}", data_dir.display()))?;
            let url = format!("sqlite://{}", data_dir.join("jasiyo.db").display());
            let store = SqliteStore::connect(&url).await.context("opening SQLite")?;
            Ok(Arc::new(store))
        }
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
