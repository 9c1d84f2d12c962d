//! Fresh, isolated databases for tests of this crate and of the end-to-end suite.
//!
//! PostgreSQL tests read `TEST_POSTGRES_URL`. Without it they skip with a loud message,
//! unless `JASIYO_REQUIRE_POSTGRES=1` (set by CI), in which case they fail.

use std::sync::Arc;

use sqlx::Connection;

use jasiyo_shared::command::Password;
use jasiyo_shared::{Command, HotspotUser, RouterId};

use super::payments::Provision;
use super::{PostgresStore, SqliteStore, Store};
use crate::model::{NewPayment, NewPlan, PaymentId, ProviderKind};

/// The backends a contract test can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A new database on the server at `TEST_POSTGRES_URL`.
    Postgres,
}

/// A database URL for a brand-new empty database of `backend`, or `None` when PostgreSQL
/// is not configured (and not required). The SQLite file lives under `dir`.
pub async fn fresh_database_url(backend: Backend, dir: &std::path::Path) -> Option<String> {
    match backend {
        Backend::Sqlite => Some(format!("sqlite://{}", dir.join(format!("t-{}.db", uuid::Uuid::new_v4())).display())),
        Backend::Postgres => fresh_postgres_url().await,
    }
}

/// Creates a new database on the `TEST_POSTGRES_URL` server and returns its URL.
pub async fn fresh_postgres_url() -> Option<String> {
    let Ok(base) = std::env::var("TEST_POSTGRES_URL") else {
        if std::env::var("JASIYO_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
            panic!("JASIYO_REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set");
        }
        eprintln!("SKIPPED: PostgreSQL test (set TEST_POSTGRES_URL=postgres://... to run it)");
        return None;
    };
    let name = format!("jasiyo_t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&base).await.expect("connect to TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create test database");
    let (head, _) = base.rsplit_once('/').expect("TEST_POSTGRES_URL has a database path");
    Some(format!("{head}/{name}"))
}

/// Opens a fresh store on `backend`, or `None` if that backend is not available here.
pub async fn fresh_store(backend: Backend, dir: &std::path::Path) -> Option<Arc<dyn Store>> {
    let url = fresh_database_url(backend, dir).await?;
    Some(match backend {
        Backend::Sqlite => Arc::new(SqliteStore::connect(&url).await.expect("open SQLite")),
        Backend::Postgres => Arc::new(PostgresStore::connect(&url).await.expect("open PostgreSQL")),
    })
}

/// A paid payment on `router`, as the portal and a callback would leave it: a one-hour plan
/// "1h" for KES 20 (created on the router's tenant), paid from 254712345678 with receipt
/// SJK3X9Y2ZQ at `created_ms` + 9 s, its user KX7Q2M/482913 until `expires_at` (Unix s).
pub async fn paid_payment(store: &dyn Store, router: RouterId, created_ms: i64, expires_at: i64) -> PaymentId {
    let payment = open_payment(store, router, created_ms, "key").await;
    let user = HotspotUser {
        name: "KX7Q2M".into(),
        password: Password("482913".into()),
        profile: None,
        mac: None,
        expires_at: None,
        limit_uptime_secs: None,
        limit_bytes_total: None,
        comment: None,
    };
    let provision = Provision {
        username: "KX7Q2M".into(),
        password: "482913".into(),
        expires_at,
        upsert: Command::UpsertHotspotUser(user),
        login: None,
    };
    store.mark_paid(payment, Some("SJK3X9Y2ZQ"), &provision, None, created_ms + 9_000).await.expect("mark it paid");
    payment
}

/// A payment on `router` still waiting for the provider's word (Daraja, KES 20 from
/// 254712345678 for the one-hour plan "1h" on the router's tenant, made if missing), started at
/// `created_ms`; `name` tells it from the router's other payments.
pub async fn open_payment(store: &dyn Store, router: RouterId, created_ms: i64, name: &str) -> PaymentId {
    let router = store.router(router).await.expect("read the router").expect("the router exists");
    let plans = store.list_plans(router.tenant_id).await.expect("read the plans");
    let plan = match plans.into_iter().find(|p| p.name == "1h") {
        Some(plan) => plan,
        None => {
            let plan = NewPlan {
                name: "1h".into(),
                price_kes: 20,
                duration_secs: 3600,
                data_mb: None,
                rate_limit: None,
                profile: None,
                shared_users: None,
            };
            store.create_plan(router.tenant_id, &plan, created_ms).await.expect("create the plan")
        }
    };
    let new = NewPayment {
        id: PaymentId::random(),
        tenant_id: router.tenant_id,
        router_id: router.id,
        plan_id: plan.id,
        provider: ProviderKind::Daraja,
        amount_kes: 20,
        msisdn: "254712345678".into(),
        device_mac: None,
        device_ip: None,
        client_ip: None,
        idempotency_key: format!("{name}-{}", router.id),
        callback_token_hash: format!("hash-{name}-{}", router.id),
        first_check_at: created_ms + 25_000,
    };
    store.create_payment(&new, created_ms).await.expect("create the payment").id
}

/// Runs each listed test once per backend, as `sqlite::name` and `postgres::name`, in a
/// runtime with two worker threads. `$fixture` is an `async fn(Backend) -> Option<F>`
/// (`None`: the backend is not available here, and the test skips, or fails in CI); each
/// test is an `async fn(F)`, or `async fn(F, args...)` when listed as `name(args...)`.
///
/// ```ignore
/// jasiyo_cloud::on_each_backend!(World::new; approval_provisions_one_user(ProviderKind::Daraja), reconnects);
/// ```
#[macro_export]
macro_rules! on_each_backend {
    ($fixture:path; $($test:ident $(($($arg:expr),* $(,)?))?),* $(,)?) => {
        $crate::on_each_backend!(@backend sqlite, Sqlite, $fixture; $($test $(($($arg),*))?),*);
        $crate::on_each_backend!(@backend postgres, Postgres, $fixture; $($test $(($($arg),*))?),*);
    };
    (@backend $module:ident, $backend:ident, $fixture:path; $($test:ident $(($($arg:expr),*))?),*) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let Some(fixture) = $fixture($crate::store::testing::Backend::$backend).await else { return };
                    super::$test(fixture $($(, $arg)*)?).await;
                }
            )*
        }
    };
}
