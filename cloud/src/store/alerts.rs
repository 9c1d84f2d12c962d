//! Alerts and what the evaluator reads to find them. An alert opens at most once per
//! (tenant, kind, subject) while open — the database's unique index decides, so when
//! several instances evaluate at once only one opens (and notifies) — and closes once.
//! The fact queries span every tenant: one evaluation pass reads each once.

use async_trait::async_trait;
use jasiyo_shared::RouterId;
use uuid::Uuid;

use super::StoreResult;
use crate::model::TenantId;

/// A tenant's alert thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// A router offline longer than this many minutes.
    pub offline_minutes: i64,
    /// A router that usually sells and has sold nothing for this many hours.
    pub quiet_hours: i64,
    /// This many failed payments in the last 30 minutes.
    pub failures: i64,
}

impl Thresholds {
    /// Thresholds an owner asked for, each within its range, or what is wrong.
    pub fn checked(offline_minutes: i64, quiet_hours: i64, failures: i64) -> Result<Thresholds, String> {
        let number = |n: i64, what: &str, max: i64| {
            if (1..=max).contains(&n) { Ok(n) } else { Err(format!("{what} is a whole number from 1 to {max}.")) }
        };
        Ok(Thresholds {
            offline_minutes: number(offline_minutes, "The offline time", 10_080)?,
            quiet_hours: number(quiet_hours, "The hours without sales", 168)?,
            failures: number(failures, "The number of failed payments", 10_000)?,
        })
    }
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds { offline_minutes: 10, quiet_hours: 6, failures: 5 }
    }
}

/// Where a tenant's alerts are posted, as stored.
#[derive(Clone)] // Debug would print the sealed secret: never derive it.
pub struct Webhook {
    /// The URL (https, or http to a loopback host).
    pub url: String,
    /// The HMAC-SHA256 key signing each body, sealed (`crate::alerts::secret`); one
    /// stored before secrets were sealed is in clear until the next start seals it.
    pub sealed_secret: String,
}

/// A tenant's alert settings.
#[derive(Clone, Default)]
pub struct AlertSettings {
    /// Its thresholds (the defaults when never set).
    pub thresholds: Thresholds,
    /// Its webhook, if it set one.
    pub webhook: Option<Webhook>,
}

/// An alert as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// Its id.
    pub id: Uuid,
    /// Whose.
    pub tenant_id: TenantId,
    /// What it is about (see `crate::alerts::AlertKind`).
    pub kind: String,
    /// Which thing: a router's id, or `payments` / `provider`.
    pub subject: String,
    /// What was found, in words.
    pub detail: String,
    /// When it opened (Unix ms).
    pub opened_at: i64,
    /// When it closed, if it did.
    pub closed_at: Option<i64>,
    /// How telling of its opening went.
    pub open_delivery: String,
    /// How telling of its closing went.
    pub close_delivery: Option<String>,
}

/// How an alert change is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// An e-mail to each of the tenant's owners.
    Mail,
    /// A signed POST to the tenant's webhook (done at once when it set none).
    Webhook,
}

impl Channel {
    /// Every channel, in the order their outcomes are shown.
    pub const ALL: [Channel; 2] = [Channel::Mail, Channel::Webhook];

    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Mail => "mail",
            Channel::Webhook => "webhook",
        }
    }

    /// Reads a stored channel.
    pub fn parse(text: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// A delivery claimed for one try: which alert change, on which channel, and how many tries
/// (this one included) it has had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueDelivery {
    /// The alert, as it is now.
    pub alert: Alert,
    /// Whether it is its closing (else its opening) that is told.
    pub closing: bool,
    /// How.
    pub channel: Channel,
    /// Tries so far, this one included.
    pub attempts: u32,
}

/// Failed payments of one tenant with one reason, since a time.
#[derive(Clone, Debug)]
pub struct FailureCount {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The recorded reason.
    pub reason: String,
    /// How many.
    pub count: i64,
}

/// A router's sales lately.
#[derive(Clone, Copy, Debug)]
pub struct RouterSales {
    /// The router.
    pub router_id: RouterId,
    /// On how many distinct (UTC) days it had paid payments.
    pub days: i64,
    /// Its last paid payment (Unix ms).
    pub last_paid_at: i64,
}

/// A router's commands unfinished since before a time.
#[derive(Clone, Copy, Debug)]
pub struct StuckCommands {
    /// The router.
    pub router_id: RouterId,
    /// How many.
    pub count: i64,
}

/// The alerts.
#[async_trait]
pub trait AlertStore: Send + Sync {
    /// One tenant's settings (the defaults, no webhook, when never set).
    async fn alert_settings(&self, tenant: TenantId) -> StoreResult<AlertSettings>;
    /// Every tenant that changed its settings, with them.
    async fn all_alert_settings(&self) -> StoreResult<Vec<(TenantId, AlertSettings)>>;
    /// Sets the tenant's thresholds.
    async fn set_thresholds(&self, tenant: TenantId, thresholds: Thresholds) -> StoreResult<()>;
    /// Sets (or with `None` removes) the tenant's webhook.
    async fn set_webhook(&self, tenant: TenantId, webhook: Option<&Webhook>) -> StoreResult<()>;
    /// Webhook secrets stored in clear (not yet sealed), with their tenants.
    async fn clear_webhook_secrets(&self) -> StoreResult<Vec<(TenantId, String)>>;
    /// Replaces `tenant`'s webhook secret `old` with `new` (sealed); 0 when it is no longer
    /// `old`.
    async fn reseal_webhook_secret(&self, tenant: TenantId, old: &str, new: &str) -> StoreResult<u64>;

    /// Opens an alert unless one is open for (tenant, kind, subject): the new alert, or
    /// `None` when one was already open (perhaps opened by another instance just now). Its
    /// deliveries (one per [`Channel`], due at `now_ms`) are recorded in the same
    /// transaction.
    async fn open_alert(&self, tenant: TenantId, kind: &str, subject: &str, detail: &str, now_ms: i64) -> StoreResult<Option<Alert>>;
    /// Closes an open alert: the closed alert, or `None` when it was closed already. The
    /// closing's deliveries are recorded in the same transaction.
    async fn close_alert(&self, id: Uuid, now_ms: i64) -> StoreResult<Option<Alert>>;
    /// Claims up to `limit` deliveries due at `now_ms` for one try each: their due time
    /// moves to `lease_until_ms` (so no other instance claims them meanwhile, and a try cut
    /// short by a crash is due again then) and their tries are counted.
    async fn claim_deliveries(&self, now_ms: i64, lease_until_ms: i64, limit: u32) -> StoreResult<Vec<DueDelivery>>;
    /// Records a try's `outcome`: the delivery is due again at `retry_at_ms`, or (`None`)
    /// finished at `now_ms`. The alert's summary of that change (what the page shows) is
    /// rewritten from its channels' outcomes.
    async fn finish_delivery(
        &self,
        id: Uuid,
        closing: bool,
        channel: Channel,
        outcome: &str,
        retry_at_ms: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<()>;
    /// Open alerts, of every tenant or of one, oldest first.
    async fn open_alerts(&self, tenant: Option<TenantId>) -> StoreResult<Vec<Alert>>;
    /// The tenant's closed alerts, most recently closed first, at most `limit`.
    async fn closed_alerts(&self, tenant: TenantId, limit: u32) -> StoreResult<Vec<Alert>>;

    /// Failed payments (state `failed`) updated since `since_ms`, by tenant and reason.
    async fn failures_since(&self, since_ms: i64) -> StoreResult<Vec<FailureCount>>;
    /// Each router's paid payments since `since_ms`: on how many days, and the last.
    async fn sales_since(&self, since_ms: i64) -> StoreResult<Vec<RouterSales>>;
    /// Routers with commands unfinished that were made before `before_ms`.
    async fn stuck_commands(&self, before_ms: i64) -> StoreResult<Vec<StuckCommands>>;
}
