//! Alerts for router owners (issue 13): conditions found by one evaluation pass over every
//! tenant ([`evaluate`]), each opened once and closed when it clears (the store's unique
//! open alert per tenant, kind and subject decides between instances), and told to the
//! tenant's owners by e-mail and to its signed webhook ([`deliver`]), whose signing
//! secret is sealed at rest ([`secret`]).
//!
//! [`Alerts::evaluate_once`] and [`Alerts::deliver_pending`] are the steps tests drive;
//! [`Alerts::run`] is what the app starts: one pass per [`AlertsConfig::tick`], and beside
//! it the durable delivery loop ([`outbox`]), so a slow mail server or webhook never holds
//! up the next pass and a restart loses no delivery.

pub mod deliver;
pub mod evaluate;
pub mod outbox;
pub mod secret;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::notify::Mailer;
use crate::payments::sealer::Sealer;
use crate::store::Store;
use crate::store::alerts::Alert;

pub use deliver::{SIGNATURE_HEADER, sign};

/// What an alert is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertKind {
    /// A router offline longer than the tenant's threshold.
    RouterOffline,
    /// A router that usually sells has sold nothing for hours.
    NoSales,
    /// Payments failing repeatedly, for reasons other than the customer's.
    PaymentsFailing,
    /// The payment provider refused the tenant's credentials.
    ProviderAuth,
    /// Commands unfinished for long while their router is online.
    CommandsStuck,
    /// A router's clock is more than a minute off the cloud's, as its agent measured it.
    ClockSkew,
}

impl AlertKind {
    /// Every kind.
    pub const ALL: [AlertKind; 6] = [
        AlertKind::RouterOffline,
        AlertKind::NoSales,
        AlertKind::PaymentsFailing,
        AlertKind::ProviderAuth,
        AlertKind::CommandsStuck,
        AlertKind::ClockSkew,
    ];

    /// As stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::RouterOffline => "router_offline",
            AlertKind::NoSales => "no_sales",
            AlertKind::PaymentsFailing => "payments_failing",
            AlertKind::ProviderAuth => "provider_auth",
            AlertKind::CommandsStuck => "commands_stuck",
            AlertKind::ClockSkew => "clock_skew",
        }
    }

    /// Reads a stored kind.
    pub fn parse(text: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// A title for people.
    pub fn title(self) -> &'static str {
        match self {
            AlertKind::RouterOffline => "Router offline",
            AlertKind::NoSales => "No sales",
            AlertKind::PaymentsFailing => "Payments failing",
            AlertKind::ProviderAuth => "Provider credentials refused",
            AlertKind::CommandsStuck => "Commands stuck",
            AlertKind::ClockSkew => "Clock skew",
        }
    }
}

/// A title for a stored kind (the kind itself if unknown).
pub fn title(kind: &str) -> &str {
    AlertKind::parse(kind).map(AlertKind::title).unwrap_or(kind)
}

/// How the evaluator and its deliveries run.
#[derive(Clone, Debug)]
pub struct AlertsConfig {
    /// Time between evaluation passes.
    pub tick: Duration,
    /// Attempts at each delivery (e-mail, webhook) before giving up.
    pub attempts: u32,
    /// The wait before the second attempt; doubled after each failure.
    pub backoff: Duration,
    /// How often the delivery loop looks for due deliveries (it also looks at once after a
    /// pass that changed something).
    pub delivery_poll: Duration,
    /// How long a claimed delivery is left to its instance before another may try it
    /// (longer than a try can take: the webhook's timeout, a slow mail server).
    pub lease: Duration,
    /// How long a webhook may take to answer.
    pub webhook_timeout: Duration,
    /// Whether a webhook may reach a loopback, private or link-local address (a receiver on
    /// the cloud's own machine or network: tests). Off, an owner cannot make the cloud post
    /// to its internal services (see `deliver::public_address`).
    pub allow_private_webhooks: bool,
}

impl Default for AlertsConfig {
    fn default() -> AlertsConfig {
        AlertsConfig {
            tick: Duration::from_secs(60),
            attempts: 4,
            backoff: Duration::from_secs(5),
            delivery_poll: Duration::from_secs(2),
            lease: Duration::from_secs(120),
            webhook_timeout: Duration::from_secs(10),
            allow_private_webhooks: false,
        }
    }
}

/// An alert that opened or closed in a pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// It opened.
    Opened(Alert),
    /// It closed.
    Closed(Alert),
}

impl Change {
    /// The alert.
    pub fn alert(&self) -> &Alert {
        match self {
            Change::Opened(alert) | Change::Closed(alert) => alert,
        }
    }
}

/// The alerts service: evaluation and delivery.
pub struct Alerts {
    store: Arc<dyn Store>,
    mailer: Arc<dyn Mailer>,
    /// Opens the webhook secrets (sealed with the operator's key) to sign deliveries.
    sealer: Sealer,
    config: AlertsConfig,
    stale_after_ms: i64,
    public_url: String,
    /// Wakes the delivery loop after a pass that opened or closed an alert.
    wake: Notify,
    /// Each delivery outcome once recorded, for whoever watches ([`Alerts::delivery_outcomes`]).
    outcomes: tokio::sync::broadcast::Sender<DeliveryOutcome>,
}

/// A delivery try, recorded: which alert, which channel, and what it said.
#[derive(Clone, Debug)]
pub struct DeliveryOutcome {
    /// The alert.
    pub alert: uuid::Uuid,
    /// `mail` or `webhook`.
    pub channel: &'static str,
    /// What the try said, as recorded on the alert.
    pub outcome: String,
}

impl Alerts {
    /// The service over `store`, mailing through `mailer`, opening webhook secrets with
    /// `sealer`; a router is online while heard from within `stale_after`; `public_url` is
    /// where the dashboard is (for links).
    pub fn new(
        store: Arc<dyn Store>,
        mailer: Arc<dyn Mailer>,
        sealer: Sealer,
        config: AlertsConfig,
        stale_after: Duration,
        public_url: String,
    ) -> Arc<Alerts> {
        let stale_after_ms = stale_after.as_millis() as i64;
        let outcomes = tokio::sync::broadcast::channel(64).0;
        Arc::new(Alerts { store, mailer, sealer, config, stale_after_ms, public_url, wake: Notify::new(), outcomes })
    }

    /// The same service mailing through `mailer`.
    pub fn with_mailer(&self, mailer: Arc<dyn Mailer>) -> Arc<Alerts> {
        Arc::new(Alerts {
            store: self.store.clone(),
            mailer,
            sealer: self.sealer.clone(),
            config: self.config.clone(),
            stale_after_ms: self.stale_after_ms,
            public_url: self.public_url.clone(),
            wake: Notify::new(),
            outcomes: tokio::sync::broadcast::channel(64).0,
        })
    }

    /// Every delivery outcome from now on, as it is recorded (for tests and monitoring: the
    /// event to wait on rather than polling the alerts).
    pub fn delivery_outcomes(&self) -> tokio::sync::broadcast::Receiver<DeliveryOutcome> {
        self.outcomes.subscribe()
    }

    /// The same service under `config`.
    pub fn with_config(&self, config: AlertsConfig) -> Arc<Alerts> {
        Alerts::new(
            self.store.clone(),
            self.mailer.clone(),
            self.sealer.clone(),
            config,
            std::time::Duration::from_millis(self.stale_after_ms as u64),
            self.public_url.clone(),
        )
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Its configuration.
    pub fn config(&self) -> &AlertsConfig {
        &self.config
    }

    /// One pass, waking the delivery loop when it changed something (the changes'
    /// deliveries are recorded with them); what changed.
    pub async fn pass(&self, now_ms: i64) -> crate::store::StoreResult<Vec<Change>> {
        let changes = self.evaluate_once(now_ms).await?;
        if !changes.is_empty() {
            self.wake.notify_one();
        }
        Ok(changes)
    }

    /// Evaluates every `tick` and delivers (see [`outbox`]) until `stop`.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let deliveries = tokio::spawn(self.clone().run_deliveries(stop.clone()));
        self.evaluate_every_tick(stop).await;
        let _ = deliveries.await;
    }

    async fn evaluate_every_tick(&self, stop: CancellationToken) {
        let mut every = tokio::time::interval(self.config.tick);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = every.tick() => {}
            }
            if let Err(error) = self.pass(crate::store::now_ms()).await {
                tracing::warn!(%error, "alert evaluation failed; trying again next tick");
            }
        }
    }
}
