//! What only a protocol-2 agent sends: its clock skew and the data its users used (with
//! the devices on the free trial, recorded as trial uses). From an
//! agent that said protocol 1 these are a violation (it cannot know them), counted against
//! it and otherwise ignored.

use jasiyo_shared::{MacAddress, TRIAL_USER_PREFIX, UserUsage};

use super::{End, Session};
use crate::hub::HubEvent;
use crate::store::now_ms;

/// The longest user name looked up (RouterOS names are short; ours are 6 characters).
const MAX_NAME_BYTES: usize = 64;

/// A skew that moved less than this since the last one written is not written again.
const SKEW_RESOLUTION_MS: i64 = 1000;

impl Session<'_> {
    /// Whether the agent said protocol 2 or later; a message it may not send is struck.
    fn speaks_v2(&mut self, what: &'static str) -> Result<bool, End> {
        if self.protocol >= 2 {
            return Ok(true);
        }
        tracing::warn!(router = %self.router, what, protocol = self.protocol, "protocol-2 message from an agent that said protocol 1; ignored");
        self.strike()?;
        Ok(false)
    }

    /// The agent's clock minus the cloud's.
    pub(super) async fn on_clock(&mut self, skew_ms: i64) -> Result<(), End> {
        if !self.speaks_v2("clock")? {
            return Ok(());
        }
        // An agent measures its skew at the welcome and repeats it with each status: one
        // write per session, unless it changes (which a well-behaved agent's does not
        // until it reconnects, so a change counts against it).
        if self.skew_written.is_some_and(|written| (written - skew_ms).abs() < SKEW_RESOLUTION_MS) {
            return Ok(());
        }
        if self.skew_written.is_some() {
            self.strike()?;
        }
        self.hub.store.record_clock_skew(self.router, skew_ms, now_ms()).await?;
        self.skew_written = Some(skew_ms);
        let clock = crate::model::describe_skew(skew_ms);
        if skew_ms.abs() > crate::model::CLOCK_IN_STEP_MS {
            tracing::warn!(router = %self.router, skew_ms, %clock, "router clock is off");
        } else {
            tracing::debug!(skew_ms, %clock, "router clock");
        }
        self.hub.emit(HubEvent::Clock(self.router));
        Ok(())
    }

    /// Data used per hotspot user.
    pub(super) async fn on_usage(&mut self, usage: Vec<UserUsage>) -> Result<(), End> {
        if !self.speaks_v2("usage")? {
            return Ok(());
        }
        let allowed = self.limiter().usage(usage.len());
        if !allowed {
            tracing::warn!(router = %self.router, users = usage.len(), "data usage over the limits; dropped");
            return self.strike();
        }
        // A name longer than any hotspot user's is no user of ours: not looked up.
        let usage: Vec<UserUsage> = usage.into_iter().filter(|u| u.name.len() <= MAX_NAME_BYTES).collect();
        // Devices on the free trial (`T-<MAC>`): recorded as trial uses, not users of ours.
        let (trial, usage): (Vec<UserUsage>, Vec<UserUsage>) = usage.into_iter().partition(|u| u.name.starts_with(TRIAL_USER_PREFIX));
        let macs: Vec<MacAddress> = trial.iter().filter_map(|u| u.name[TRIAL_USER_PREFIX.len()..].parse().ok()).collect();
        if !macs.is_empty() {
            let new = self.hub.store.record_trial_uses(self.router, &macs, now_ms()).await?;
            tracing::debug!(devices = macs.len(), new, "devices on the free trial");
        }
        let updated = self.hub.store.record_usage(self.router, &usage, now_ms()).await?;
        tracing::debug!(users = usage.len(), updated, "data used");
        self.hub.emit(HubEvent::Usage(self.router));
        Ok(())
    }
}
