//! The transactions list at scale (run by `scripts/bench-transactions`; ignored in normal
//! runs): one tenant with `JASIYO_BENCH_TX_ROWS` payments (1,000,000 unless told) seeded
//! in SQL, then the list's real queries timed through the store: the first page, a
//! filtered page, a page deep in the history, a phone search and the totals. Prints
//! `bench-transactions: backend=... query=... ms=...` lines (the median of a few runs).

use std::sync::Arc;
use std::time::Instant;

use jasiyo_cloud::model::{PaymentState, Tenant};
use jasiyo_cloud::store::dashboard::{PaymentCursor, PaymentFilter};
use jasiyo_cloud::store::testing::{Backend, fresh_database_url};
use jasiyo_cloud::store::{PostgresStore, SqliteStore, Store};
use sqlx::Connection;

use super::dashboard_transactions::plan;

const BASE_MS: i64 = 1_767_225_600_000; // 2026-01-01

/// The seed: payment `i` starts at BASE + i s, alternates between the two routers, every
/// third is paid (with a receipt), the others failed; phones repeat every 100,000.
fn seed_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "INSERT INTO payments (id, tenant_id, router_id, plan_id, provider, amount_kes, msisdn, idempotency_key, \
             callback_token_hash, state, reason, receipt, created_at, updated_at, paid_at) \
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $1) \
             SELECT printf('%08x-0000-4000-8000-%012x', i, i), $2, CASE i % 2 WHEN 0 THEN $3 ELSE $4 END, $5, 'daraja', 20, \
             '2547' || printf('%08d', i % 100000), 'k' || i, 'h' || i, CASE i % 3 WHEN 0 THEN 'paid' ELSE 'failed' END, \
             CASE i % 3 WHEN 0 THEN NULL ELSE 'wrong_pin' END, CASE i % 3 WHEN 0 THEN 'R' || printf('%09d', i) END, \
             $6 + i * 1000, $6 + i * 1000, CASE i % 3 WHEN 0 THEN $6 + i * 1000 END FROM n"
        }
        Backend::Postgres => {
            "INSERT INTO payments (id, tenant_id, router_id, plan_id, provider, amount_kes, msisdn, idempotency_key, \
             callback_token_hash, state, reason, receipt, created_at, updated_at, paid_at) \
             SELECT lpad(to_hex(i), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(i), 12, '0'), $2, \
             CASE i % 2 WHEN 0 THEN $3 ELSE $4 END, $5, 'daraja', 20, '2547' || lpad((i % 100000)::text, 8, '0'), 'k' || i, 'h' || i, \
             CASE i % 3 WHEN 0 THEN 'paid' ELSE 'failed' END, CASE i % 3 WHEN 0 THEN NULL ELSE 'wrong_pin' END, \
             CASE i % 3 WHEN 0 THEN 'R' || lpad(i::text, 9, '0') END, $6 + i * 1000, $6 + i * 1000, \
             CASE i % 3 WHEN 0 THEN $6 + i * 1000 END FROM generate_series(0, $1 - 1) AS i"
        }
    }
}

async fn seeded(backend: Backend, dir: &std::path::Path, rows: i64) -> Option<(Arc<dyn Store>, Tenant, [String; 2])> {
    let url = fresh_database_url(backend, dir).await?;
    let store: Arc<dyn Store> = match backend {
        Backend::Sqlite => Arc::new(SqliteStore::connect(&url).await.unwrap()),
        Backend::Postgres => Arc::new(PostgresStore::connect(&url).await.unwrap()),
    };
    let tenant = store.create_tenant("Bench", 0).await.unwrap();
    let shop = store.create_router(tenant.id, "shop", "h1", 0).await.unwrap();
    let back = store.create_router(tenant.id, "back", "h2", 0).await.unwrap();
    let plan = plan(store.as_ref(), &tenant, "1h", 20).await;
    let started = Instant::now();
    macro_rules! seed {
        ($conn:expr) => {{
            let mut conn = $conn;
            sqlx::query(seed_sql(backend))
                .bind(rows)
                .bind(tenant.id.to_string())
                .bind(shop.id.to_string())
                .bind(back.id.to_string())
                .bind(plan.id.to_string())
                .bind(BASE_MS)
                .execute(&mut conn)
                .await
                .unwrap();
            sqlx::query("ANALYZE").execute(&mut conn).await.unwrap();
        }};
    }
    match backend {
        Backend::Sqlite => seed!(sqlx::SqliteConnection::connect(&url).await.unwrap()),
        Backend::Postgres => seed!(sqlx::PgConnection::connect(&url).await.unwrap()),
    }
    println!("bench-transactions: backend={backend:?} seeded={rows} seconds={:.1}", started.elapsed().as_secs_f64());
    Some((store, tenant, [shop.id.to_string(), back.id.to_string()]))
}

/// The median of five runs of `run`, in ms (after one warm-up run).
macro_rules! median_ms {
    ($run:expr) => {{
        $run.await;
        let mut times = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            $run.await;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(|a, b| a.total_cmp(b));
        times[2]
    }};
}

async fn bench(backend: Backend) {
    let rows: i64 = std::env::var("JASIYO_BENCH_TX_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::TempDir::new().unwrap();
    let Some((store, tenant, routers)) = seeded(backend, dir.path(), rows).await else { return };
    let all = PaymentFilter::default();
    let filtered = PaymentFilter { state: Some(PaymentState::Paid), router: Some(routers[0].parse().unwrap()), ..PaymentFilter::default() };
    let phone = PaymentFilter { search: Some("254700012345".into()), ..PaymentFilter::default() };
    let middle = store.payment_lines(tenant.id, &all, None, 1).await.unwrap();
    assert_eq!(middle.len(), 1, "seeded");
    let deep_at = BASE_MS + rows / 10 * 1000;
    let deep = PaymentCursor { created_at: deep_at, id: format!("{:08x}-0000-4000-8000-{:012x}", rows / 10, rows / 10).parse().unwrap() };
    let report = |query: &str, ms: f64| println!("bench-transactions: backend={backend:?} rows={rows} query={query} ms={ms:.2}");
    report("first_page", median_ms!(async { assert_eq!(store.payment_lines(tenant.id, &all, None, 51).await.unwrap().len(), 51) }));
    report("filtered_page", median_ms!(async { store.payment_lines(tenant.id, &filtered, None, 51).await.unwrap() }));
    report("deep_page", median_ms!(async { assert_eq!(store.payment_lines(tenant.id, &all, Some(deep), 51).await.unwrap().len(), 51) }));
    report("phone_search", median_ms!(async { store.payment_lines(tenant.id, &phone, None, 51).await.unwrap() }));
    report("totals_all", median_ms!(async { store.payment_totals(tenant.id, &all).await.unwrap() }));
    report("totals_filtered", median_ms!(async { store.payment_totals(tenant.id, &filtered).await.unwrap() }));
    let totals = store.payment_totals(tenant.id, &all).await.unwrap();
    assert_eq!(totals.count, rows);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: scripts/bench-transactions"]
async fn bench_transactions_sqlite() {
    bench(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: scripts/bench-transactions"]
async fn bench_transactions_postgres() {
    bench(Backend::Postgres).await;
}
