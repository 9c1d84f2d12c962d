//! The agent's own counters (protocol 3): kept when they arrive and written with the status
//! that follows them (so they share its write limit and its statement), then counted into
//! the fleet's metrics as the difference from the counters written before.

use jasiyo_shared::{AgentCounters, RouterStatus};

use super::{End, Session};
use crate::hub::HubEvent;
use crate::store::now_ms;

/// A session's counters: those waiting for their status, and the last ones written.
#[derive(Debug, Default)]
pub(super) struct Reported {
    /// Arrived, not yet written.
    pending: Option<AgentCounters>,
    /// Last written for this router (at the session's start: as the store had them).
    written: Option<AgentCounters>,
}

impl Reported {
    /// Counting from the counters the store has for the router.
    pub(super) fn from_store(written: Option<AgentCounters>) -> Reported {
        Reported { pending: None, written }
    }
}

impl Session<'_> {
    /// Counters from the agent, kept for the status that comes next.
    pub(super) fn on_counters(&mut self, counters: AgentCounters) -> Result<(), End> {
        if self.protocol < 3 || !counters.well_formed() {
            tracing::warn!(router = %self.router, protocol = self.protocol, "counters from an agent that may not send them, or malformed; ignored");
            return self.strike();
        }
        self.counters.pending = Some(counters);
        Ok(())
    }

    /// Writes a status with the counters that came before it, if any, and counts them.
    pub(super) async fn write_status(&mut self, status: &RouterStatus) -> Result<(), End> {
        let counters = self.counters.pending.take();
        self.hub.store.record_status(self.router, status, counters.as_ref(), now_ms()).await?;
        if let Some(counters) = counters {
            self.hub.metrics().agents().count(self.counters.written.as_ref(), &counters);
            self.counters.written = Some(counters);
        }
        self.hub.emit(HubEvent::Status(self.router));
        Ok(())
    }
}
