//! The hotspot's free trial per router: whether it is on (and how many minutes), set with
//! the command that puts it on the router in one transaction; and the devices seen on it,
//! counted once per router, device and day (the router enforces the trial; this is the
//! record of it, never a transaction).

use async_trait::async_trait;
use jasiyo_shared::{Command, MacAddress, RouterId, Seq};

use super::StoreResult;

/// Trial uses on one router.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrialUses {
    /// Devices on the trial since the asked time.
    pub recent: i64,
    /// Device-days on the trial ever.
    pub total: i64,
}

/// The free trial's settings and record.
#[async_trait]
pub trait TrialStore: Send + Sync {
    /// Sets the router's trial to `minutes` (`None`: off) and appends `command` to its
    /// outbox, in one transaction; the command's sequence number. `NotFound` when there is
    /// no such router.
    async fn set_trial(&self, router: RouterId, minutes: Option<u32>, command: &Command, now_ms: i64) -> StoreResult<Seq>;

    /// The router's trial minutes, `None` when off.
    async fn trial_minutes(&self, router: RouterId) -> StoreResult<Option<u32>>;

    /// Records the devices seen on the trial on `router` at `now_ms`, once per device and
    /// UTC day; how many were new.
    async fn record_trial_uses(&self, router: RouterId, macs: &[MacAddress], now_ms: i64) -> StoreResult<u64>;

    /// The router's trial uses: since `since_ms`, and ever.
    async fn trial_uses(&self, router: RouterId, since_ms: i64) -> StoreResult<TrialUses>;
}
