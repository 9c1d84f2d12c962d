//! The budgets a payment attempt spends. The caller's own (phone from this address, device,
//! address) are checked before anything is looked up; the shared ones (router, tenant,
//! platform) only once the attempt is valid and about to send a prompt, so requests that
//! could never prompt (an unknown plan, a phone already prompted) cannot spend a hotspot's
//! budget on its customers' behalf.
//!
//! Two tiers count the same keys ([`super::limits`] lists them and why):
//!
//! 1. in memory, per instance ([`RateLimits`](super::limits::RateLimits)): cheap, so a
//!    flood is refused without touching the database, and bounded whatever arrives;
//! 2. in the database ([`RateCounters`](crate::store::counters::RateCounters)): one upsert statement per attempt bumps every key's
//!    counter for its fixed window, so the limits hold across instances (PostgreSQL) and
//!    mean the same on one (SQLite). Rows carry their expiry and a background task deletes
//!    them, so the table stays as small as a window's keys. Fixed windows let a burst
//!    straddle two of them (up to twice a limit in a moment); the memory tier's sliding
//!    window bounds that per instance.
//!
//! The backoff after cancellations reads the payments themselves (also shared): a phone
//! whose owner cancelled more than `free_cancels` prompts started from one client address
//! in a day gets no new prompt from that address until a wait has passed, doubling with
//! each further cancellation up to `max_backoff`. Only the phone's owner can cancel a
//! prompt, so this is the owner saying "stop"; it is kept per address so that someone
//! else's spam cannot stop the owner paying from their own device elsewhere. (Someone
//! behind the same public address as the spammer, the same hotspot, shares its wait.)

use jasiyo_shared::RouterId;

use super::limits::{LimitHit, LimitKey, MINUTE};
use super::service::{Payments, PortalError};
use crate::model::TenantId;
use crate::store::counters::CounterHit;
use crate::store::{StoreError, now_ms};

/// How far back cancellations count.
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

impl Payments {
    /// Spends the caller's budgets of an attempt for `phone` from `ip` (and `device`) in
    /// this instance's memory, or says which one is spent: before anything is looked up.
    /// (They are counted in the shared tier with the others, in one statement, once the
    /// attempt is valid: [`Self::check_shared_budgets`].)
    pub(super) async fn check_attempt(&self, phone: &str, device: Option<&str>, ip: Option<&str>) -> Result<(), PortalError> {
        let keys = self.limits.keys_of(phone, device, ip);
        self.limits.check_keys(&keys).map_err(PortalError::RateLimited)?;
        match ip {
            Some(ip) => self.check_backoff(phone, ip).await,
            None => Ok(()),
        }
    }

    /// For an attempt that will send a prompt: spends the router's, its tenant's and the
    /// platform's budgets in memory, then every budget of the attempt (the caller's too) in
    /// the shared tier, in one statement.
    pub(super) async fn check_shared_budgets(
        &self,
        router: RouterId,
        tenant: TenantId,
        (phone, device, ip): (&str, Option<&str>, Option<&str>),
    ) -> Result<(), PortalError> {
        let config = *self.limits.config();
        let shared = [
            LimitKey::new(format!("r:{router}"), config.per_router, MINUTE, LimitHit::Router),
            LimitKey::new(format!("t:{tenant}"), config.per_tenant, MINUTE, LimitHit::Tenant),
            LimitKey::new("g".into(), config.global, MINUTE, LimitHit::Global),
        ];
        self.limits.check_keys(&shared).map_err(PortalError::RateLimited)?;
        let mut keys = self.limits.keys_of(phone, device, ip);
        keys.extend(shared);
        self.check_shared(&keys).await
    }

    /// The database tier: bumps every key's counter at once.
    async fn check_shared(&self, keys: &[LimitKey]) -> Result<(), PortalError> {
        let now = now_ms();
        let hits: Vec<CounterHit> = keys
            .iter()
            .map(|key| {
                let window = (key.window.as_millis() as i64).max(1);
                let start = now - now.rem_euclid(window);
                CounterHit { key: key.key.clone(), window_start: start, expires_at: start + window }
            })
            .collect();
        let totals = self.store.bump_counters(&hits).await?;
        match keys.iter().zip(totals).find(|(key, total)| *total > i64::try_from(key.limit).unwrap_or(i64::MAX)) {
            Some((key, _)) => Err(PortalError::RateLimited(key.hit)),
            None => Ok(()),
        }
    }

    /// The backoff after cancelled prompts to `phone` started from `ip`.
    async fn check_backoff(&self, phone: &str, ip: &str) -> Result<(), PortalError> {
        let config = self.limits.config();
        let now = now_ms();
        let (cancelled, last) = self.store.cancelled_prompts(phone, ip, now - DAY_MS).await?;
        let over = cancelled - i64::from(config.free_cancels);
        let Some(last) = last.filter(|_| over > 0) else { return Ok(()) };
        let doublings = (over - 1).min(20) as u32;
        let wait = config.cancel_backoff.saturating_mul(1 << doublings).min(config.max_backoff);
        if now < last + wait.as_millis() as i64 {
            tracing::info!(client = %ip, cancelled, "prompts to this phone from this address were cancelled; backing off");
            return Err(PortalError::RateLimited(LimitHit::Backoff));
        }
        Ok(())
    }

    /// Deletes counters whose windows have passed (run in the background, off the request
    /// path).
    pub async fn forget_old_counters(&self) -> Result<u64, StoreError> {
        self.store.forget_counters(now_ms()).await
    }
}
