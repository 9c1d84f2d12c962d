//! A session's side of the write limits ([`crate::hub::AgentLimits`]): statuses kept back
//! or dropped, reports dropped, strikes counted.

use jasiyo_shared::{Report, RouterStatus};

use super::{End, Session};
use crate::hub::HubEvent;
use crate::hub::limits::StatusVerdict;

impl Session<'_> {
    /// The router's counters, locked for one decision.
    pub(super) fn limiter(&self) -> std::sync::MutexGuard<'_, crate::hub::limits::Limiter> {
        self.limiter.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes a status now, later (when it came too soon after the last) or not at all.
    pub(super) async fn on_status(&mut self, status: RouterStatus) -> Result<(), End> {
        let status = crate::hub::limits::capped_status(status);
        let verdict = self.limiter().status(&self.hub.limits, &status);
        match verdict {
            StatusVerdict::Write => {
                self.pending_status = None;
                self.write_status(&status).await?;
            }
            StatusVerdict::Later(due) => {
                tracing::debug!(router = %self.router, "status too soon after the last; written later");
                // Harmless (nothing is written), and an agent reconnecting quickly does it.
                self.pending_status = Some((status, due));
                self.hub.emit(HubEvent::Limited(self.router));
            }
            StatusVerdict::Drop => {
                tracing::warn!(router = %self.router, "status too large; dropped");
                self.strike()?;
            }
        }
        Ok(())
    }

    /// Whether a report may be written; one that may not is dropped unacknowledged.
    pub(super) fn report_allowed(&mut self, report: &Report) -> Result<bool, End> {
        let allowed = self.limiter().report(&self.hub.limits, report);
        if allowed {
            return Ok(true);
        }
        tracing::warn!(router = %self.router, report = report.id, "report over the limits; dropped unacknowledged");
        self.strike()?;
        Ok(false)
    }

    /// Writes the status kept back by the limits.
    pub(super) async fn write_pending_status(&mut self) -> Result<(), End> {
        if let Some((status, _)) = self.pending_status.take() {
            self.limiter().status_written(&self.hub.limits);
            self.write_status(&status).await?;
        }
        Ok(())
    }

    /// Counts something dropped, delayed or useless against the agent; too many end the
    /// session.
    pub(super) fn strike(&mut self) -> Result<(), End> {
        self.hub.emit(HubEvent::Limited(self.router));
        let struck = self.limiter().strike();
        struck.map_err(|_| {
            tracing::warn!(router = %self.router, "agent exceeds its write limits; closing the session");
            End::Abuse
        })
    }
}
