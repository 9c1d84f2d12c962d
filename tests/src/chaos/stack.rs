//! What a chaos run runs: the cloud and the agent as real processes (restarted after each
//! kill, the cloud on the same address so callback URLs stay good), the agent's link
//! through a [`Relay`], and the RouterOS and payment emulators. The cloud is one process,
//! or (on PostgreSQL) several instances behind HAProxy started by `scripts/cluster`, where a
//! kill takes one instance down and customers, callbacks and the agent go through the
//! balancer. Each fault the injector can choose is a method here.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jasiyo_cloud::store::Store;
use tokio::process::Child;
use tokio::sync::Mutex as AsyncMutex;
use tokio::time::Instant;

use crate::cluster::Cluster;
use crate::harness::{RouterCreds, World};
use crate::payment_emulator::{EmulatorAccounts, InjectedFailure, PaymentEmulator};
use crate::processes::{AgentProcess, CloudProcess};
use crate::relay::Relay;
use crate::routeros_emulator::{EmulatorConfig, RouterOsEmulator};
use crate::shop::{daraja_shop, sealing_key_env};

/// The length of the plan every customer buys ([`daraja_shop`]'s).
pub const PLAN_SECS: u64 = 3600;

/// The running system under test.
pub struct Stack {
    /// A store of our own on the cloud's database (another pool, as another process).
    pub store: Arc<dyn Store>,
    /// The router every customer is on.
    pub creds: RouterCreds,
    /// The plan every customer buys.
    pub plan_id: String,
    /// Daraja, emulated.
    pub pay: PaymentEmulator,
    /// The MikroTik, emulated.
    pub router: RouterOsEmulator,
    /// Between the agent and the cloud.
    pub relay: Relay,
    /// The cloud's address (kept across restarts), or the balancer's.
    pub cloud_addr: SocketAddr,
    /// When each user name was first seen on the router.
    pub first_seen: Arc<Mutex<HashMap<String, Instant>>>,
    database_url: String,
    dir: PathBuf,
    env: Vec<(String, String)>,
    cloud: Clouds,
    agent: AsyncMutex<Option<Child>>,
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
    /// Sets up the tenant, plan, provider and router on `database_url`, then starts
    /// everything (`instances` clouds: more than one behind HAProxy, PostgreSQL only) and
    /// waits until the agent is connected.
    pub async fn start(database_url: &str, dir: &Path, instances: usize) -> anyhow::Result<Stack> {
        let world =
            World { dir: tempfile::TempDir::new_in(dir)?, database_url: database_url.to_string(), backend: backend_of(database_url) };
        let store = world.store().await;
        let creds = world.add_router(store.as_ref(), "chaos").await;
        let pay = PaymentEmulator::start(EmulatorAccounts::default()).await;
        let plan = daraja_shop(store.as_ref(), &pay).await?;
        let router = RouterOsEmulator::start(EmulatorConfig::default()).await;
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
        let relay = Relay::start(cloud_addr).await;
        let first_seen = Arc::new(Mutex::new(HashMap::new()));
        let dir = world.dir.keep();
        let stack = Stack {
            store,
            creds,
            plan_id: plan.id.to_string(),
            pay,
            router,
            relay,
            cloud_addr,
            first_seen,
            database_url: database_url.to_string(),
            dir,
            env,
            cloud,
            agent: AsyncMutex::new(None),
        };
        stack.start_agent().await;
        let connected = stack.wait_connected(Duration::from_secs(30)).await;
        anyhow::ensure!(connected, "the agent never connected");
        Ok(stack)
    }

    /// The portal API's base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.cloud_addr)
    }

    async fn start_agent(&self) {
        let agent = AgentProcess::spawn_routeros(&self.relay.ws_url(), &self.creds, &self.agent_dir(), self.router.addr());
        *self.agent.lock().await = Some(agent.detach_output());
    }

    /// Whether the cloud shows the router connected within `limit`.
    pub async fn wait_connected(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        while Instant::now() < deadline {
            tick.tick().await;
            if let Ok(Some(router)) = self.store.router(self.creds.id).await
                && router.online_session.is_some()
            {
                return true;
            }
        }
        false
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

    /// SIGKILL the agent, wait `down`, start it again on the same journal.
    pub async fn kill_agent(&self, down: Duration) {
        if let Some(mut old) = self.agent.lock().await.take() {
            let _ = old.kill().await;
        }
        tokio::time::sleep(down).await;
        self.start_agent().await;
    }

    /// SIGKILL the agent and leave it down (after quiet: its journal is read then).
    pub async fn kill_agent_for_good(&self) {
        if let Some(mut agent) = self.agent.lock().await.take() {
            let _ = agent.kill().await;
        }
    }

    /// The agent's data directory (its journal is in `journal/` there).
    pub fn agent_dir(&self) -> PathBuf {
        self.dir.join("agent")
    }

    /// The router reboots: its API connections drop and it refuses new ones for `down`.
    pub async fn router_outage(&self, down: Duration) {
        self.router.set_refuse_connections(true);
        self.router.kill_connections();
        tokio::time::sleep(down).await;
        self.router.set_refuse_connections(false);
    }

    /// Every connection through the relay is cut (the agent sees a reset).
    pub fn cut_link(&self) {
        self.relay.cut();
    }

    /// Bytes stop flowing both ways, nothing closes, for `held`.
    pub async fn freeze_link(&self, held: Duration) {
        self.relay.set_frozen(true);
        tokio::time::sleep(held).await;
        self.relay.set_frozen(false);
    }

    /// The provider answers its next `count` requests with HTTP 500.
    pub fn provider_errors(&self, count: usize) {
        for _ in 0..count {
            self.pay.fail_next(InjectedFailure::ServerError);
        }
    }

    /// The provider never answers its next request (the cloud's timeout ends the wait).
    pub fn provider_hang(&self) {
        self.pay.fail_next(InjectedFailure::Hang);
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

    /// Ends every lasting fault: the link flows, the router takes connections.
    pub async fn heal(&self) {
        self.relay.set_frozen(false);
        self.router.set_refuse_connections(false);
    }

    /// Stops the processes and emulators.
    pub async fn stop(&self) {
        if let Some(mut agent) = self.agent.lock().await.take() {
            let _ = agent.kill().await;
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

/// Records when each user name first appears on the router, on every change it makes,
/// until the emulator stops.
pub async fn watch_users(stack: std::sync::Weak<Stack>) {
    let Some(mut changes) = stack.upgrade().map(|s| s.router.changes()) else { return };
    loop {
        let now = Instant::now();
        {
            let Some(stack) = stack.upgrade() else { return };
            let mut seen = stack.first_seen.lock().expect("first-seen lock");
            for user in stack.router.users() {
                seen.entry(user.name).or_insert(now);
            }
        }
        if changes.changed().await.is_err() {
            return;
        }
    }
}
