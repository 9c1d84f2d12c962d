//! A cloud and agents in one test process: real sockets on ephemeral ports, a real database
//! (SQLite in a temporary directory, or a fresh PostgreSQL database), real journals.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jasiyo_agent::{
    Agent, AgentConfig, ApplyFuture, EdgeConfig, Executor, LinkState, LoggingExecutor, ReconnectPolicy, RouterOsConfig, Token,
};
use jasiyo_cloud::App;
use jasiyo_cloud::hub::{Hub, HubConfig, HubEvent};
use jasiyo_cloud::payments::sealer::Sealer;
use jasiyo_cloud::payments::{Payments, PaymentsConfig};
pub use jasiyo_cloud::store::testing::Backend;
use jasiyo_cloud::store::testing::fresh_database_url;
use jasiyo_cloud::store::{Store, connect, now_ms};
use jasiyo_cloud::token::AgentToken;
use jasiyo_shared::{Command, Outcome, RouterId, Seq};
use tempfile::TempDir;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long any single wait in a test may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// Installs a test log subscriber once (`RUST_LOG` to see more).
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
}

/// A router's credentials as its owner got them from `router add`.
#[derive(Clone, Debug)]
pub struct RouterCreds {
    /// The router id.
    pub id: RouterId,
    /// The agent token.
    pub token: String,
}

/// One test's world: a temporary directory and a database that outlive cloud restarts.
pub struct World {
    /// Files of this test (SQLite, agents' data dirs).
    pub dir: TempDir,
    /// The database every cloud of this world uses.
    pub database_url: String,
    /// The backend behind it.
    pub backend: Backend,
}

impl World {
    /// A new world on `backend`, or `None` when the backend is not available (PostgreSQL
    /// without `TEST_POSTGRES_URL`; a skip that CI turns into a failure).
    pub async fn new(backend: Backend) -> Option<World> {
        init_logs();
        let dir = TempDir::new().expect("temp dir");
        let database_url = fresh_database_url(backend, dir.path()).await?;
        Some(World { dir, database_url, backend })
    }

    /// Opens a store on this world's database (a separate pool, like another process).
    pub async fn store(&self) -> Arc<dyn Store> {
        connect(Some(&self.database_url), self.dir.path()).await.expect("open store")
    }

    /// Starts a cloud on an ephemeral port with fast heartbeats.
    pub async fn cloud(&self) -> TestCloud {
        self.cloud_with(fast_hub()).await
    }

    /// Starts a cloud with the given hub settings.
    pub async fn cloud_with(&self, hub: HubConfig) -> TestCloud {
        TestCloud::start(&self.database_url, self.dir.path(), hub).await
    }

    /// Starts a cloud with fast hub settings and payments tuned by `tune` (whose starting
    /// point has callbacks addressed to the cloud itself and quick reconciliation).
    pub async fn cloud_with_payments(&self, tune: impl FnOnce(&mut PaymentsConfig)) -> TestCloud {
        TestCloud::start_with(&self.database_url, self.dir.path(), fast_hub(), tune).await
    }

    /// [`World::cloud_with_payments`] with its mail sent through `mailer`.
    pub async fn cloud_mailing(&self, mailer: Arc<dyn jasiyo_cloud::notify::Mailer>) -> TestCloud {
        TestCloud::start_mailing(&self.database_url, self.dir.path(), fast_hub(), |_| {}, Some(mailer)).await
    }

    /// Creates a tenant (once) and a router, returning what the owner would be shown.
    pub async fn add_router(&self, store: &dyn Store, name: &str) -> RouterCreds {
        let tenant = match store.find_tenant("test-tenant").await.unwrap() {
            Some(tenant) => tenant,
            None => store.create_tenant("test-tenant", now_ms()).await.unwrap(),
        };
        let token = AgentToken::generate();
        let router = store.create_router(tenant.id, name, &token.hash(), now_ms()).await.unwrap();
        RouterCreds { id: router.id, token: token.expose().to_string() }
    }

    /// A data directory for an agent, stable across its restarts.
    pub fn agent_dir(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("agent-{name}"))
    }
}

/// The key sealing provider credentials in tests (every test cloud of a world shares it,
/// as every instance of a real deployment must).
pub const TEST_SECRET_KEY: [u8; 32] = [42; 32];

/// Payments settings for tests: reconciliation within a fraction of a second.
pub fn fast_payments(public_url: &str) -> PaymentsConfig {
    let mut config = PaymentsConfig::new(public_url);
    config.first_check_after = Duration::from_millis(300);
    // Paystack's 180 s customer window only where a test is about it.
    config.paystack_window = Duration::ZERO;
    config.check_every = Duration::from_millis(300);
    config.give_up_after = Duration::from_secs(20);
    config.reconcile_tick = Duration::from_millis(100);
    config.http.timeout = Duration::from_secs(3);
    config
}

/// Hub settings for tests: heartbeats fast enough to see a dead link in well under a second.
pub fn fast_hub() -> HubConfig {
    HubConfig { heartbeat: Duration::from_millis(200), hello_timeout: Duration::from_secs(2), window: 8, ..HubConfig::default() }
}

/// A cloud running in this process.
pub struct TestCloud {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its hub.
    pub hub: Arc<Hub>,
    /// Its payments service.
    pub payments: Arc<Payments>,
    /// Its alerts: its own evaluator runs once an hour here, so tests drive passes
    /// themselves ([`jasiyo_cloud::alerts::Alerts::evaluate_once`]).
    pub alerts: Arc<jasiyo_cloud::alerts::Alerts>,
    /// Where it serves `/metrics` (its own listener, as `serve --metrics-listen` gives it).
    pub metrics_addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl TestCloud {
    /// Starts a cloud on `database_url`.
    pub async fn start(database_url: &str, data_dir: &Path, hub: HubConfig) -> TestCloud {
        Self::start_with(database_url, data_dir, hub, |_| {}).await
    }

    /// Starts a cloud on `database_url` with payments tuned by `tune`.
    pub async fn start_with(database_url: &str, data_dir: &Path, hub: HubConfig, tune: impl FnOnce(&mut PaymentsConfig)) -> TestCloud {
        Self::start_mailing(database_url, data_dir, hub, tune, None).await
    }

    /// [`TestCloud::start_with`], sending the dashboard's and the alerts' mail through `mailer`.
    pub async fn start_mailing(
        database_url: &str,
        data_dir: &Path,
        hub: HubConfig,
        tune: impl FnOnce(&mut PaymentsConfig),
        mailer: Option<Arc<dyn jasiyo_cloud::notify::Mailer>>,
    ) -> TestCloud {
        let store = connect(Some(database_url), data_dir).await.expect("open store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut payments = fast_payments(&format!("http://{addr}"));
        tune(&mut payments);
        let mut app = App::with_options(store, hub, Sealer::new(TEST_SECRET_KEY), payments, listener)
            .expect("build app")
            .with_alerts(jasiyo_cloud::alerts::AlertsConfig { tick: Duration::from_secs(3600), ..Default::default() })
            .with_metrics_listener(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
        let metrics_addr = app.metrics_addr().expect("a metrics listener");
        if let Some(mailer) = mailer {
            app = app.with_mailer(mailer);
        }
        let (hub, payments, alerts) = (app.hub(), app.payments(), app.alerts());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(app.run(shutdown.clone()));
        TestCloud { addr, hub, payments, alerts, metrics_addr, shutdown, task }
    }

    /// `http://` base URL.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The text `/metrics` answers now.
    pub async fn metrics(&self) -> String {
        let response = reqwest::get(format!("http://{}/metrics", self.metrics_addr)).await.expect("GET /metrics");
        assert!(response.status().is_success(), "GET /metrics: {}", response.status());
        response.text().await.unwrap()
    }

    /// `ws://` base URL for agents.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// The cloud's store.
    pub fn store(&self) -> &Arc<dyn Store> {
        self.hub.store()
    }

    /// Stops the cloud and waits for it.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(WAIT, self.task).await.expect("cloud did not stop").unwrap().unwrap();
    }

    /// Waits until `check` holds, re-checking after every hub event; fails the test after
    /// [`WAIT`].
    pub async fn until<F>(&self, what: &str, mut check: F)
    where
        F: AsyncFnMut(&dyn Store) -> bool,
    {
        let mut events = self.hub.subscribe();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if check(self.store().as_ref()).await {
                return;
            }
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
                Ok(Err(_)) => panic!("hub closed while waiting for {what}"),
                Err(_) => panic!("timed out waiting for {what}"),
            }
        }
    }

    /// Waits for a hub event matching `pred`, from a subscription taken earlier.
    pub async fn next_event(
        events: &mut tokio::sync::broadcast::Receiver<HubEvent>,
        what: &str,
        pred: impl Fn(&HubEvent) -> bool,
    ) -> HubEvent {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Ok(event)) if pred(&event) => return event,
                Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
                Ok(Err(_)) => panic!("hub closed while waiting for {what}"),
                Err(_) => panic!("timed out waiting for {what}"),
            }
        }
    }

    /// Waits until the router has `n` commands with a result.
    pub async fn until_finished(&self, router: RouterId, n: usize) {
        self.until(&format!("{n} results for {router}"), async |store: &dyn Store| finished(store, router).await >= n).await
    }
}

/// How many of the router's commands have a result.
pub async fn finished(store: &dyn Store, router: RouterId) -> usize {
    store.list_commands(router, 100_000).await.unwrap().iter().filter(|c| c.outcome.is_some()).count()
}

/// An agent running in this process.
pub struct TestAgent {
    /// Its link state.
    pub state: watch::Receiver<LinkState>,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl TestAgent {
    /// Starts an agent for `creds` dialling `cloud_url`, keeping its journal in `data_dir`.
    pub fn start(cloud_url: &str, creds: &RouterCreds, data_dir: &Path, executor: Arc<dyn Executor>) -> TestAgent {
        let agent = Agent::open(agent_config(cloud_url, creds, data_dir), executor).expect("open agent");
        let state = agent.link_state();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(agent.run(shutdown.clone()));
        TestAgent { state, shutdown, task }
    }

    /// Starts an agent that applies commands on the RouterOS API at `router` (an emulator),
    /// with maintenance as fast as tests need.
    pub fn start_routeros(cloud_url: &str, creds: &RouterCreds, data_dir: &Path, router: SocketAddr, edge: EdgeConfig) -> TestAgent {
        Self::start_routeros_with(cloud_url, creds, data_dir, router, edge, STATUS_INTERVAL)
    }

    /// Like [`TestAgent::start_routeros`], with the agent's periodic status report to the
    /// cloud every `status_interval` instead of [`STATUS_INTERVAL`].
    pub fn start_routeros_with(
        cloud_url: &str,
        creds: &RouterCreds,
        data_dir: &Path,
        router: SocketAddr,
        edge: EdgeConfig,
        status_interval: Duration,
    ) -> TestAgent {
        Self::start_routeros_tuned(cloud_url, creds, data_dir, router, edge, |config| config.status_interval = status_interval)
    }

    /// Like [`TestAgent::start_routeros`], with the agent's configuration changed by `tune`
    /// (a status interval, a wrong clock).
    pub fn start_routeros_tuned(
        cloud_url: &str,
        creds: &RouterCreds,
        data_dir: &Path,
        router: SocketAddr,
        edge: EdgeConfig,
        tune: impl FnOnce(&mut AgentConfig),
    ) -> TestAgent {
        let routeros = RouterOsConfig {
            addr: router.to_string(),
            username: "admin".into(),
            password: jasiyo_shared::command::Password("secret".into()),
            tls: None,
            timeout: Duration::from_secs(2),
        };
        let mut config = agent_config(cloud_url, creds, data_dir);
        tune(&mut config);
        let agent = Agent::open_routeros(config, routeros, edge).expect("open agent");
        let state = agent.link_state();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(agent.run(shutdown.clone()));
        TestAgent { state, shutdown, task }
    }

    /// Starts an agent with the logging executor.
    pub fn start_logging(cloud_url: &str, creds: &RouterCreds, data_dir: &Path) -> TestAgent {
        Self::start(cloud_url, creds, data_dir, Arc::new(LoggingExecutor))
    }

    /// Waits until the link is up.
    pub async fn connected(&mut self) {
        tokio::time::timeout(WAIT, self.state.wait_for(|s| *s == LinkState::Connected)).await.expect("agent did not connect").unwrap();
    }

    /// Stops the agent (flushing its journal) and waits for it.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(WAIT, self.task).await.expect("agent did not stop").unwrap().unwrap();
    }
}

fn agent_config(cloud_url: &str, creds: &RouterCreds, data_dir: &Path) -> AgentConfig {
    AgentConfig {
        cloud_url: cloud_url.to_string(),
        router_id: creds.id,
        token: Token::new(creds.token.clone()),
        data_dir: data_dir.to_path_buf(),
        ca_file: None,
        reconnect: ReconnectPolicy::fast_for_tests(),
        status_interval: STATUS_INTERVAL,
        clock_offset_secs: 0,
    }
}

/// How often test agents report status unless told otherwise.
pub const STATUS_INTERVAL: Duration = Duration::from_millis(300);

/// Edge maintenance fast enough for tests: reconcile and refresh status every 200 ms, retry
/// after 50 ms (up to 500 ms).
pub fn fast_edge() -> EdgeConfig {
    EdgeConfig {
        reconcile_every: Duration::from_millis(200),
        status_every: Duration::from_millis(200),
        retry_after: Duration::from_millis(50),
        retry_max: Duration::from_millis(500),
    }
}

/// An executor that records every application and can be held shut, to pin commands in the
/// "received but not applied" state.
pub struct RecordingExecutor {
    applied: watch::Sender<Vec<(Seq, Command)>>,
    open: watch::Sender<bool>,
    /// Commands to fail for good, by name (for `RemoveHotspotUser`).
    refuse: Mutex<Vec<String>>,
}

impl RecordingExecutor {
    /// A new, open executor.
    pub fn new() -> Arc<RecordingExecutor> {
        Arc::new(RecordingExecutor { applied: watch::channel(Vec::new()).0, open: watch::channel(true).0, refuse: Mutex::default() })
    }

    /// Sequence numbers in the order applied (with repeats, if any).
    pub fn applied(&self) -> Vec<Seq> {
        self.applied.borrow().iter().map(|(s, _)| *s).collect()
    }

    /// Holds every application until [`RecordingExecutor::open`].
    pub fn close(&self) {
        self.open.send_replace(false);
    }

    /// Lets applications proceed.
    pub fn open(&self) {
        self.open.send_replace(true);
    }

    /// Makes every later `RemoveHotspotUser { name }` fail for good, as a router trap would.
    pub fn refuse(&self, name: &str) {
        self.refuse.lock().unwrap().push(name.to_string());
    }

    /// Waits until at least `n` applications happened.
    pub async fn until_applied(&self, n: usize) {
        let mut rx = self.applied.subscribe();
        tokio::time::timeout(WAIT, rx.wait_for(|v| v.len() >= n)).await.expect("commands were not applied in time").unwrap();
    }

    /// Asserts that seqs `1..=n` were each applied exactly once, in order.
    pub fn assert_applied_once_in_order(&self, n: u64) {
        let applied: Vec<u64> = self.applied().iter().map(|s| s.0).collect();
        assert_eq!(applied, (1..=n).collect::<Vec<_>>(), "every command applied exactly once, in order");
    }
}

impl Executor for RecordingExecutor {
    fn apply<'a>(&'a self, seq: Seq, command: &'a Command) -> ApplyFuture<'a> {
        Box::pin(async move {
            let mut open = self.open.subscribe();
            let _ = open.wait_for(|o| *o).await;
            if let Command::RemoveHotspotUser { name } = command
                && self.refuse.lock().unwrap().contains(name)
            {
                return Ok(Outcome::Failed { message: format!("refused {name}") });
            }
            self.applied.send_modify(|v| v.push((seq, command.clone())));
            Ok(Outcome::Applied { note: None })
        })
    }
}

/// A simple command with a recognisable name.
pub fn remove_user(i: usize) -> Command {
    Command::RemoveHotspotUser { name: format!("user-{i}") }
}

/// The settings of `kind` for an account of the provider emulator `pay` (Daraja on a
/// paybill), as an owner would enter them.
pub fn provider_config(
    kind: jasiyo_cloud::providers::ProviderKind,
    pay: &impl crate::payment_emulator::EmulatedProviders,
) -> jasiyo_cloud::providers::ProviderConfig {
    use jasiyo_cloud::providers::{DarajaAccount, PayHeroChannel, ProviderConfig, ProviderKind, Secret};
    let a = pay.accounts();
    let base_url = Some(pay.base_url());
    match kind {
        ProviderKind::Daraja => ProviderConfig::Daraja {
            consumer_key: Secret(a.daraja.consumer_key.clone()),
            consumer_secret: Secret(a.daraja.consumer_secret.clone()),
            short_code: a.daraja.short_code.clone(),
            passkey: Secret(a.daraja.passkey.clone()),
            account: DarajaAccount::Paybill,
            base_url,
        },
        ProviderKind::Payhero => ProviderConfig::Payhero {
            username: Secret(a.payhero.username.clone()),
            password: Secret(a.payhero.password.clone()),
            channel_id: a.payhero.channel_id,
            channel: if a.payhero.wallet_channel { PayHeroChannel::Wallet } else { PayHeroChannel::Mpesa },
            base_url,
        },
        ProviderKind::Paystack => ProviderConfig::Paystack { secret_key: Secret(a.paystack.secret_key.clone()), base_url },
    }
}
