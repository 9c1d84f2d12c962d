//! The chaos run's short variant (the full one is `scripts/chaos`): real cloud and agent
//! processes, Daraja, PayHero and Paystack tenants side by side (a router and an agent
//! each), a stream of customers through the portal API (some approving after the
//! portal's countdown, some moving their plan to a second device), and random faults
//! (processes killed, the router's emulator process among them, link cut and frozen, router
//! down, provider failing, database paused). Nothing
//! paid may be lost and nothing served twice, on either database, nor with three instances
//! behind HAProxy.

use std::time::Duration;

use jasiyo_cloud::store::testing::Backend;
use jasiyo_tests::chaos::driver::LATE_SUCCESS;
use jasiyo_tests::chaos::{self, ChaosConfig};
use jasiyo_tests::harness::World;

async fn nothing_lost_nothing_doubled_under_faults(backend: Backend, instances: usize) {
    let Some(world) = World::new(backend).await else { return };
    let seed = std::env::var("JASIYO_CHAOS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    let config = ChaosConfig { payments: 300, rate: 10.0, faults: 30, seed, settle_limit: Duration::from_secs(120), instances };
    let summary = chaos::run(&config, &world.database_url, world.dir.path()).await.expect("chaos run");
    println!("chaos ({backend:?}, {instances} instance(s), seed {seed}, replay with JASIYO_CHAOS_SEED={seed}):\n{summary}");
    assert!(summary.ok(), "seed {seed}:\n{summary}");
    assert!(summary.latencies_ms.len() + summary.reconciled_ms.len() >= 40, "too few paid customers to prove anything:\n{summary}");
    // The rare kinds of the mix are each there at least once, whatever the seed.
    assert!(summary.outcomes.get(LATE_SUCCESS).is_some_and(|&n| n >= 1), "no approval after the countdown:\n{summary}");
    assert!(summary.recovered >= 1, "no plan moved to a second device:\n{summary}");
    assert!(summary.journal.is_some_and(|j| j.users > 0), "the agent's journal was not compared with the router:\n{summary}");
    for provider in ["Daraja", "PayHero", "Paystack"] {
        let customers = summary.by_provider.get(provider).map_or(0, |t| t.outcomes.values().sum::<usize>());
        assert!(customers >= 10, "{customers} customers paid through {provider}:\n{summary}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_nothing_lost_nothing_doubled_under_faults() {
    nothing_lost_nothing_doubled_under_faults(Backend::Sqlite, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_nothing_lost_nothing_doubled_under_faults() {
    nothing_lost_nothing_doubled_under_faults(Backend::Postgres, 1).await;
}

/// Three instances behind HAProxy (`scripts/cluster`), one of them killed at each cloud kill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_nothing_lost_nothing_doubled_under_faults() {
    if !jasiyo_tests::cluster::haproxy_installed() {
        return;
    }
    nothing_lost_nothing_doubled_under_faults(Backend::Postgres, 3).await;
}
