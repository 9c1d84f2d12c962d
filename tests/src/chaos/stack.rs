//! What a chaos run runs: the cloud as real processes (restarted after each kill, on the
//! same address so callback URLs stay good), the payment emulator (a process, driven
//! through its control channel), and one [`Site`] per
//! provider (Daraja, PayHero, Paystack: a tenant each, with its router process, relay and
//! agent).
//! The cloud is one process, or (on PostgreSQL) several instances behind HAProxy started
//! by `scripts/cluster`, where a kill takes one instance down and customers, callbacks and
//! the agents go through the balancer. Each fault of the whole system (cloud, provider,
//! database) is a method here; those of one hotspot are [`Site`]'s.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jasiyo_cloud::store::Store;
use tokio::sync::Mutex as AsyncMutex;
use tokio::time::Instant;

use super::site::{self, PROVIDERS, Site};
use crate::cluster::Cluster;
use crate::harness::World;
use crate::payment_emulator::InjectedFailure;
use crate::payment_process::PaymentProcess;
use crate::processes::CloudProcess;
use crate::shop::sealing_key_env;

/// The length of the plan every customer buys ([`crate::shop::shop`]'s).
pub const PLAN_SECS: u64 = 3600;

/// The running system under test.
pub struct Stack {
    /// A store of our own on the cloud's database (another pool, as another process).
    pub store: Arc<dyn Store>,
    /// Daraja, PayHero and Paystack, emulated in a process of their own (killed when the
    /// stack is dropped).
    pub pay: PaymentProcess,
    /// One hotspot per provider, in [`PROVIDERS`]' order.
    pub sites: Vec<Site>,
    /// The cloud's address (kept across restarts), or the balancer's.
    pub cloud_addr: SocketAddr,
    database_url: String,
    dir: PathBuf,
    env: Vec<(String, String)>,
    cloud: Clouds,
}

/// The cloud under test.
#[expect(clippy::large_enum_variant, reason = "one per run: its size does not matter")]
enum Clouds {
    /// One process (taken out while it is down).
    One(AsyncMutex<Option<CloudProcess>>),
    /// Instances behind HAProxy, driven through `scripts/cluster`.
    Cluster(Cluster),
}

impl Stack {
    /// Sets up a tenant, plan, provider and router per provider on `database_url`, then
    /// starts everything (`instances` clouds: more than one behind HAProxy, PostgreSQL
    /// only) and waits until every agent is connected.
    pub async fn start(database_url: &str, dir: &Path, instances: usize) -> anyhow::Result<Stack> {
        let world =
            World { dir: tempfile::TempDir::new_in(dir)?, database_url: database_url.to_string(), backend: backend_of(database_url) };
        let store = world.store().await;
        let pay = PaymentProcess::start().await?;
        let mut prepared = Vec::new();
        for kind in PROVIDERS {
            prepared.push(site::prepare(store.as_ref(), kind, &pay).await?);
        }
        let env = cloud_env();
        let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (cloud, cloud_addr) = if instances > 1 {
            anyhow::ensure!(!database_url.starts_with("sqlite:"), "several instances need PostgreSQL");
            let cluster = Cluster::start(&world.dir.path().join("cluster"), database_url, instances, &env_refs).await;
            let balancer = cluster.balancer.parse()?;
            (Clouds::Cluster(cluster), balancer)
        } else {
            let cloud = CloudProcess::spawn_with(database_url, world.dir.path(), "127.0.0.1:0", &env_refs).await;
            let addr = cloud.addr;
            (Clouds::One(AsyncMutex::new(Some(cloud))), addr)
        };
        let dir = world.dir.keep();
        let mut sites = Vec::new();
        for prepared in prepared {
            sites.push(Site::start(prepared, &pay, cloud_addr, &dir).await?);
        }
        let stack = Stack { store, pay, sites, cloud_addr, database_url: database_url.to_string(), dir, env, cloud };
        for site in &stack.sites {
            let connected = site.wait_connected(stack.store.as_ref(), Duration::from_secs(30)).await;
            anyhow::ensure!(connected, "the {} agent never connected", site.label());
        }
        Ok(stack)
    }

    /// The portal API's base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.cloud_addr)
    }

    /// How many cloud instances run.
    pub fn instances(&self) -> usize {
        match &self.cloud {
            Clouds::One(_) => 1,
            Clouds::Cluster(cluster) => cluster.instances.len(),
        }
    }

    /// SIGKILL the cloud (of several, instance `which`, counted from 0), wait `down`, start
    /// it again on the same address.
    pub async fn kill_cloud(&self, down: Duration, which: usize) {
        match &self.cloud {
            Clouds::One(cloud) => {
                let mut cloud = cloud.lock().await;
                if let Some(old) = cloud.take() {
                    old.kill().await;
                }
                tokio::time::sleep(down).await;
                let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                *cloud = Some(CloudProcess::spawn_with(&self.database_url, &self.dir, &self.cloud_addr.to_string(), &env).await);
            }
            Clouds::Cluster(cluster) => {
                let n = (which % cluster.instances.len() + 1).to_string();
                cluster.run(&["kill", &n]).await;
                tokio::time::sleep(down).await;
                cluster.run(&["restart", &n]).await;
            }
        }
    }

    /// The provider answers its next `count` requests with HTTP 500.
    pub async fn provider_errors(&self, count: usize) {
        for _ in 0..count {
            self.pay.fail_next(InjectedFailure::ServerError).await;
        }
    }

    /// The provider never answers its next request (the cloud's timeout ends the wait).
    pub async fn provider_hang(&self) {
        self.pay.fail_next(InjectedFailure::Hang).await;
    }

    /// The database stops answering the cloud for `held`: on PostgreSQL its connections are
    /// terminated (they fail, and are made again); on SQLite a write lock is held.
    pub async fn pause_database(&self, held: Duration) -> anyhow::Result<()> {
        use sqlx::Connection;
        if self.database_url.starts_with("sqlite:") {
            let mut connection = sqlx::SqliteConnection::connect(&self.database_url).await?;
            sqlx::query("BEGIN IMMEDIATE").execute(&mut connection).await?;
            tokio::time::sleep(held).await;
            sqlx::query("ROLLBACK").execute(&mut connection).await?;
        } else {
            let mut admin = sqlx::PgConnection::connect(&self.database_url).await?;
            let terminate = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                             WHERE datname = current_database() AND pid <> pg_backend_pid()";
            let deadline = Instant::now() + held;
            // Terminated connections are made again at once: keep terminating them.
            while Instant::now() < deadline {
                sqlx::query(terminate).execute(&mut admin).await?;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Ok(())
    }

    /// Ends every lasting fault: the links flow, the routers take connections.
    pub async fn heal(&self) {
        for site in &self.sites {
            site.heal().await;
        }
    }

    /// Stops the processes and emulators.
    pub async fn stop(&self) {
        for site in &self.sites {
            site.kill_agent_for_good().await;
            site.router.kill().await;
        }
        match &self.cloud {
            Clouds::One(cloud) => {
                if let Some(cloud) = cloud.lock().await.take() {
                    cloud.kill().await;
                }
            }
            Clouds::Cluster(cluster) => {
                cluster.run(&["stop"]).await;
            }
        }
    }
}

/// The cloud's settings for the run: every customer comes from 127.0.0.1 and pays once,
/// so the per-address and per-router limits (meant for strangers) are lifted.
fn cloud_env() -> Vec<(String, String)> {
    let (name, key) = sealing_key_env();
    let mut env = vec![(name.to_string(), key)];
    for name in [
        "LIMIT_PER_IP",
        "LIMIT_PER_ROUTER",
        "LIMIT_PER_TENANT",
        "LIMIT_GLOBAL",
        "FREE_CANCELS",
        "LONG_POLLS_PER_CLIENT",
        "LONG_POLLS_TOTAL",
    ] {
        env.push((format!("JASIYO_{name}"), "1000000".to_string()));
    }
    env
}

fn backend_of(url: &str) -> jasiyo_cloud::store::testing::Backend {
    use jasiyo_cloud::store::testing::Backend;
    if url.starts_with("sqlite:") { Backend::Sqlite } else { Backend::Postgres }
}
