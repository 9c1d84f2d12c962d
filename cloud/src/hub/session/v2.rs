//! What only a protocol-2 agent sends: its clock skew and the data its users used. From an
//! agent that said protocol 1 these are a violation (it cannot know them), counted against
//! it and otherwise ignored.

use jasiyo_shared::UserUsage;

use super::{End, Session};

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
        tracing::debug!(skew_ms, "agent clock");
        Ok(())
    }

    /// Data used per hotspot user.
    pub(super) async fn on_usage(&mut self, usage: Vec<UserUsage>) -> Result<(), End> {
        if !self.speaks_v2("usage")? {
            return Ok(());
        }
        tracing::debug!(users = usage.len(), "agent usage");
        Ok(())
    }
}
