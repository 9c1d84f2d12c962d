//! Hotspot users as the owner's dashboard sees and changes them: each paid entitlement with
//! its router, plan, phone and the state of its command on the router; and the changes an
//! owner makes (extend, end now), each written with its router commands and a timeline
//! event in one transaction. Every query is scoped to the tenant in SQL.

use async_trait::async_trait;
use jasiyo_shared::{Command, RouterId, UserUsage};
use uuid::Uuid;

use super::StoreResult;
use crate::model::{CommandState, Entitlement, PaymentId, TenantId};

/// Which hotspot users a listing shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// On this router.
    pub router: Option<RouterId>,
    /// Only those not yet expired at this time (Unix seconds).
    pub active_at: Option<i64>,
    /// The user name (exact, upper-cased), the paying phone (`2547...`) or the device MAC.
    pub search: Option<String>,
}

/// A hotspot user with what the listing shows beside it.
#[derive(Clone, Debug)]
pub struct UserLine {
    /// The entitlement (user name, device, expiry, its commands).
    pub entitlement: Entitlement,
    /// The phone that paid.
    pub msisdn: String,
    /// The plan's name.
    pub plan_name: String,
    /// The router's name.
    pub router_name: String,
    /// The state of its latest command (`command_seq`) on the router, if still in the outbox.
    pub command: Option<CommandState>,
    /// That command's kind (`upsert_hotspot_user`, `remove_hotspot_user`).
    pub command_kind: Option<String>,
    /// The data it used, once its router reported it.
    pub usage: Option<DataUsed>,
}

/// A hotspot user's data, as its router counted it and its agent last reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DataUsed {
    /// Bytes from the user's devices (their upload; RouterOS `bytes-in`).
    pub bytes_in: u64,
    /// Bytes to the user's devices (their download; RouterOS `bytes-out`).
    pub bytes_out: u64,
    /// When it was reported (Unix ms).
    pub at: i64,
}

impl DataUsed {
    /// In words: "12.4 MB down, 1.1 MB up".
    pub fn describe(&self) -> String {
        format!("{} down, {} up", bytes_in_words(self.bytes_out), bytes_in_words(self.bytes_in))
    }
}

/// A byte count in words, in decimal units as phones and plans count them ("12.4 MB").
pub fn bytes_in_words(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// A change to a user: its new expiry (Unix seconds), the commands that carry it to the
/// router (the first becomes the entitlement's command), and the timeline event.
pub struct UserChange<'a> {
    /// The new expiry.
    pub expires_at: i64,
    /// The commands, in order.
    pub commands: &'a [Command],
    /// The timeline event's kind and words.
    pub event: (&'a str, &'a str),
}

/// The hotspot users.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// The tenant's hotspot users matching `filter`, newest first, after `(created_at, id)`.
    async fn tenant_users(
        &self,
        tenant: TenantId,
        filter: &UserFilter,
        after: Option<(i64, Uuid)>,
        limit: u32,
    ) -> StoreResult<Vec<UserLine>>;
    /// One of the tenant's hotspot users (another tenant's is `None`).
    async fn tenant_user(&self, tenant: TenantId, id: Uuid) -> StoreResult<Option<UserLine>>;
    /// Applies a change to one of the tenant's users; `None` if it is not the tenant's.
    async fn change_user(
        &self,
        tenant: TenantId,
        id: Uuid,
        change: &UserChange<'_>,
        now_ms: i64,
    ) -> StoreResult<Option<(PaymentId, Entitlement)>>;
    /// Records the data its users used, as `router`'s agent reported it: only `router`'s
    /// own users (of its tenant) are touched, a name it does not have changes nothing.
    /// An unused voucher code of a batch loaded on `router` that has traffic becomes in use
    /// (first used now: a login on the router itself). Returns how many users were updated.
    async fn record_usage(&self, router: RouterId, usage: &[UserUsage], now_ms: i64) -> StoreResult<u64>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_in_words() {
        assert_eq!(bytes_in_words(0), "0 B");
        assert_eq!(bytes_in_words(999), "999 B");
        assert_eq!(bytes_in_words(1_100_000), "1.1 MB");
        assert_eq!(bytes_in_words(12_400_000), "12.4 MB");
        assert_eq!(bytes_in_words(3_250_000_000), "3.2 GB");
        let used = DataUsed { bytes_in: 1_100_000, bytes_out: 12_400_000, at: 0 };
        assert_eq!(used.describe(), "12.4 MB down, 1.1 MB up");
    }
}
