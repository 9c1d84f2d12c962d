//! The journal's two other trees: the hotspot users the agent enforces, and its reports
//! until the cloud has stored them.

use jasiyo_shared::{AgentEvent, HotspotUser, Report, Seq, UnixTime};

use super::{Journal, JournalError, decode, encode, seq_of};

impl Journal {
    /// Remembers a hotspot user this agent must keep on the router until its expiry
    /// (flushed before returning).
    pub fn put_entitlement(&self, user: &HotspotUser) -> Result<(), JournalError> {
        self.entitlements.insert(user.name.as_bytes(), encode(Seq(0), user)?)?;
        self.db.flush()?;
        Ok(())
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
