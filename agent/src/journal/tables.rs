//! The journal's two other trees: the hotspot users the agent enforces, and its reports
//! until the cloud has stored them; and, in the default tree, the last clock skew measured
//! to the cloud (used until the next is measured, e.g. after a restart with the WAN down).

use jasiyo_shared::{AgentEvent, HotspotUser, Report, Seq, UnixTime};

use super::{Journal, JournalError, decode, encode, seq_of};

/// The default tree's key of the last clock skew measured (ms, big-endian i64).
const CLOCK_SKEW_KEY: &[u8] = b"clock_skew_ms";

impl Journal {
    /// The last clock skew to the cloud recorded (ms), if any.
    pub fn clock_skew_ms(&self) -> Result<Option<i64>, JournalError> {
        let bytes = self.db.get(CLOCK_SKEW_KEY)?;
        Ok(bytes.and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok()).map(i64::from_be_bytes))
    }

    /// Records the clock skew to the cloud just measured (flushed before returning).
    pub fn set_clock_skew_ms(&self, skew_ms: i64) -> Result<(), JournalError> {
        self.db.insert(CLOCK_SKEW_KEY, &skew_ms.to_be_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    /// Remembers a hotspot user this agent must keep on the router until its expiry
    /// (flushed before returning).
    pub fn put_entitlement(&self, user: &HotspotUser) -> Result<(), JournalError> {
        self.entitlements.insert(user.name.as_bytes(), encode(Seq(0), user)?)?;
        self.db.flush()?;
        Ok(())
    }

    /// [`Journal::put_entitlement`] for several users with one flush (a batch of vouchers
    /// costs one disk sync, not one per code). Returns what each replaced, in order.
    pub fn put_entitlements(&self, users: &[HotspotUser]) -> Result<Vec<Option<HotspotUser>>, JournalError> {
        let mut previous = Vec::with_capacity(users.len());
        for user in users {
            let old = self.entitlements.insert(user.name.as_bytes(), encode(Seq(0), user)?)?;
            previous.push(old.map(|bytes| decode(0, &bytes)).transpose()?);
        }
        self.db.flush()?;
        Ok(previous)
    }

    /// The hotspot user with this name, if this agent manages it.
    pub fn entitlement(&self, name: &str) -> Result<Option<HotspotUser>, JournalError> {
        self.entitlements.get(name.as_bytes())?.map(|bytes| decode(0, &bytes)).transpose()
    }

    /// Forgets a hotspot user (removed by the cloud or expired). Returns whether it was known.
    pub fn remove_entitlement(&self, name: &str) -> Result<bool, JournalError> {
        let existed = self.entitlements.remove(name.as_bytes())?.is_some();
        self.db.flush()?;
        Ok(existed)
    }

    /// Every hotspot user this agent must keep, by name.
    pub fn entitlements(&self) -> Result<Vec<HotspotUser>, JournalError> {
        self.entitlements.iter().map(|entry| decode(0, &entry?.1)).collect()
    }

    /// Stores a report for the cloud (flushed before returning).
    pub fn add_report(&self, at: UnixTime, event: AgentEvent) -> Result<Report, JournalError> {
        let id = self.db.generate_id()?;
        let report = Report { id, at, event };
        self.reports.insert(id.to_be_bytes(), encode(Seq(id), &report)?)?;
        self.db.flush()?;
        Ok(report)
    }

    /// Reports the cloud has not acknowledged, oldest first.
    pub fn unacked_reports(&self) -> Result<Vec<Report>, JournalError> {
        self.reports
            .iter()
            .map(|entry| {
                let (key, bytes) = entry?;
                decode(seq_of(&key), &bytes)
            })
            .collect()
    }

    /// The cloud stored this report.
    pub fn ack_report(&self, id: u64) -> Result<bool, JournalError> {
        Ok(self.reports.remove(id.to_be_bytes())?.is_some())
    }
}
