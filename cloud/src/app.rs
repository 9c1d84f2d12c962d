//! The cloud service: built from a configuration and a listener, run until shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::accounts::{Accounts, AccountsConfig};
use crate::alerts::{Alerts, AlertsConfig};
use crate::http::{AppState, ServerTimeouts, TrustedProxies, router};
use crate::hub::{Hub, HubConfig};
use crate::notify::NoMailer;
use crate::payments::held::HoldLimits;
use crate::payments::limits::LimitConfig;
use crate::payments::sealer::{KeyFileAccess, Sealer};
use crate::payments::{Payments, PaymentsConfig};
use crate::providers::Secret;
use crate::store::{self, Store};

/// Everything `serve` needs.
#[derive(Clone, Debug)]
pub struct CloudConfig {
    /// `sqlite://...` or `postgres://...`; `None` means a SQLite file in `data_dir`.
    pub database_url: Option<String>,
    /// Where the embedded database lives.
    pub data_dir: PathBuf,
    /// How providers and agents reach this cloud (used in links the cloud hands out).
    pub public_url: String,
    /// Hub tuning.
    pub hub: HubConfig,
    /// The key sealing provider credentials (base64 of 32 bytes); without it, a key file
    /// in `data_dir` is used (and created).
    pub sealing_key: Option<Secret>,
    /// The proxies whose forwarding headers tell a client's address (none: the socket's).
    pub trusted_proxies: TrustedProxies,
    /// The HTTP server's header-read, request and idle timeouts.
    pub timeouts: ServerTimeouts,
    /// Rate limits on starting payments.
    pub limits: LimitConfig,
    /// Caps on the portal's held long polls.
    pub holds: HoldLimits,
    /// Whether a key file that group or others can read is accepted (with a warning)
    /// instead of refused.
    pub key_file_access: KeyFileAccess,
    /// The domain of Paystack's customer e-mails (`None`: from the public URL).
    pub paystack_email_domain: Option<crate::providers::paystack::EmailDomain>,
}

/// A built, not yet running, cloud.
pub struct App {
    listener: TcpListener,
    hub: Arc<Hub>,
    payments: Arc<Payments>,
    proxies: Arc<TrustedProxies>,
    accounts: Arc<Accounts>,
    alerts: Arc<Alerts>,
    timeouts: ServerTimeouts,
    tasks: CancellationToken,
    /// Where `/metrics` is served, if anywhere (never on the public listener).
    metrics_listener: Option<TcpListener>,
}

impl App {
    /// Opens the store (running migrations) and prepares the service on `listener`.
    pub async fn build(config: CloudConfig, listener: TcpListener) -> anyhow::Result<App> {
        let store = store::connect(config.database_url.as_deref(), &config.data_dir).await?;
        let key = config.sealing_key.as_ref().map(|k| k.0.as_str());
        let sealer = Sealer::from_key_or_file_allowing(key, &config.data_dir.join("secret.key"), config.key_file_access)?;
        crate::payments::providers_config::reseal_legacy(store.as_ref(), &sealer).await.context("sealing provider settings again")?;
        crate::alerts::secret::seal_clear_secrets(store.as_ref(), &sealer).await.context("sealing alert webhook secrets")?;
        let mut payments = PaymentsConfig::new(config.public_url);
        if let Some(domain) = config.paystack_email_domain {
            payments.providers.paystack_email_domain = domain;
        }
        let domain = &payments.providers.paystack_email_domain;
        if domain.is_local_fallback() {
            tracing::warn!(
                domain = domain.as_str(),
                "Paystack customer e-mails use a local domain: set --paystack-email-domain (or a public URL with a DNS name)"
            );
        } else {
            tracing::info!(domain = domain.as_str(), "Paystack customer e-mail domain");
        }
        payments.limits = config.limits;
        payments.holds = config.holds;
        let app = Self::with_options(store, config.hub, sealer, payments, listener)?;
        Ok(app.trusting(config.trusted_proxies).with_timeouts(config.timeouts))
    }

    /// Serves HTTP under these timeouts (see [`ServerTimeouts`]).
    pub fn with_timeouts(mut self, timeouts: ServerTimeouts) -> App {
        self.timeouts = timeouts;
        self
    }

    /// Believes forwarding headers from these proxies (see [`TrustedProxies`]).
    pub fn trusting(mut self, proxies: TrustedProxies) -> App {
        self.proxies = Arc::new(proxies);
        self
    }

    /// Prepares the service over an already opened store, with a throw-away secret key and
    /// callbacks addressed to the listener itself (tests, benchmarks).
    pub fn with_store(store: Arc<dyn Store>, hub: HubConfig, listener: TcpListener) -> App {
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
        let addr = listener.local_addr().expect("a bound listener has an address");
        Self::with_options(store, hub, Sealer::new(key), PaymentsConfig::new(format!("http://{addr}")), listener).expect("payments service")
    }

    /// Prepares the service with every part given.
    pub fn with_options(
        store: Arc<dyn Store>,
        hub: HubConfig,
        sealer: Sealer,
        payments: PaymentsConfig,
        listener: TcpListener,
    ) -> anyhow::Result<App> {
        let tasks = CancellationToken::new();
        let tick = payments.reconcile_tick;
        // One set of metrics for the whole cloud: the payments configuration's.
        let hub = HubConfig { metrics: payments.metrics.clone(), ..hub };
        let accounts = Accounts::new(store.clone(), AccountsConfig::new(payments.public_url.clone()), Arc::new(NoMailer));
        let hub = Hub::start(store.clone(), hub, tasks.clone());
        let alerts = Alerts::new(
            store.clone(),
            Arc::new(NoMailer),
            sealer.clone(),
            AlertsConfig::default(),
            hub.stale_after(),
            payments.public_url.clone(),
        );
        let payments = Payments::new(store, hub.clone(), sealer, payments)?;
        tokio::spawn(payments.clone().run_reconciler(tick, tasks.clone()));
        tokio::spawn(forget_counters(payments.clone(), tasks.clone()));
        tokio::spawn(crate::vouchers::expiry::run(hub.clone(), tasks.clone()));
        Ok(App {
            listener,
            hub,
            payments,
            proxies: Arc::default(),
            accounts,
            alerts,
            timeouts: ServerTimeouts::default(),
            tasks,
            metrics_listener: None,
        })
    }

    /// Serves `GET /metrics` on `listener` (see [`crate::metrics`]).
    pub fn with_metrics_listener(mut self, listener: TcpListener) -> App {
        self.metrics_listener = Some(listener);
        self
    }

    /// The metrics listener's address, if one was given.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().map(|l| l.local_addr().expect("a bound listener has an address"))
    }

    /// The cloud's metrics.
    pub fn metrics(&self) -> crate::metrics::Metrics {
        self.hub.metrics().clone()
    }

    /// The accounts service.
    pub fn accounts(&self) -> Arc<Accounts> {
        self.accounts.clone()
    }

    /// Sends the dashboard's mail through `mailer` (none is sent by default).
    pub fn with_mailer(mut self, mailer: Arc<dyn crate::notify::Mailer>) -> App {
        self.accounts = Accounts::new(self.accounts.store().clone(), self.accounts.config().clone(), mailer.clone());
        self.alerts = self.alerts.with_mailer(mailer);
        self
    }

    /// Evaluates and delivers alerts under `config` (its tick, retries and backoff).
    pub fn with_alerts(mut self, config: AlertsConfig) -> App {
        self.alerts = self.alerts.with_config(config);
        self
    }

    /// The alerts service (its evaluator starts with [`App::run`]).
    pub fn alerts(&self) -> Arc<Alerts> {
        self.alerts.clone()
    }

    /// The payments service.
    pub fn payments(&self) -> Arc<Payments> {
        self.payments.clone()
    }

    /// The address it listens on (useful when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// The agents' hub, for enqueueing commands and watching events.
    pub fn hub(&self) -> Arc<Hub> {
        self.hub.clone()
    }

    /// Serves until `shutdown` is cancelled, then closes agent sessions and returns.
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        if let Some(listener) = self.metrics_listener.take() {
            tracing::info!(addr = %listener.local_addr()?, "metrics listening");
            let serving = crate::metrics::serve::serve(listener, self.metrics(), self.hub.clone(), self.tasks.clone());
            tokio::spawn(async move {
                if let Err(error) = serving.await {
                    tracing::error!(%error, "the metrics listener failed");
                }
            });
        }
        let app = router(AppState {
            hub: self.hub.clone(),
            payments: self.payments.clone(),
            proxies: self.proxies.clone(),
            accounts: self.accounts.clone(),
        });
        tokio::spawn(self.alerts.clone().run(self.tasks.clone()));
        let tasks = self.tasks.clone();
        tracing::info!(addr = %self.local_addr(), "cloud listening");
        // WebSocket sessions never end on their own: once shutting down, tell them to.
        crate::http::server::serve(self.listener, app, self.timeouts, shutdown, move || tasks.cancel()).await;
        self.tasks.cancel();
        // Let cancelled sessions record their disconnects, so routers do not show online.
        self.hub.wait_sessions_ended(std::time::Duration::from_secs(10)).await;
        Ok(())
    }
}

/// Deletes spent rate-limit counters once a minute, off the request path, until `stop`.
async fn forget_counters(payments: Arc<Payments>, stop: CancellationToken) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = every.tick() => {}
        }
        match payments.forget_old_counters().await {
            Ok(0) => {}
            Ok(forgotten) => tracing::debug!(forgotten, "spent rate-limit counters deleted"),
            Err(error) => tracing::warn!(%error, "could not delete spent rate-limit counters"),
        }
    }
}
