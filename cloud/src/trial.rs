//! The hotspot's free trial, the domain service: an owner turns it on (minutes once a day
//! per device) or off for one router; the setting is stored and the command that puts it on
//! the router's hotspot server profiles is enqueued in the same transaction. The router
//! enforces it (RouterOS `login-by=trial`); the portal offers it while it is on.

use jasiyo_shared::{Command, HotspotTrial, RouterId, Seq};

use crate::store::{Store, StoreError, now_ms};

/// The minutes an owner may give, and the default.
pub const TRIAL_MINUTES: std::ops::RangeInclusive<u32> = 1..=60;

/// Why the trial was not set.
#[derive(Debug, thiserror::Error)]
pub enum TrialError {
    /// Outside [`TRIAL_MINUTES`].
    #[error("a free trial lasts 1 to 60 minutes")]
    Minutes,
    /// No such router (or not this tenant's, or revoked).
    #[error("no such router")]
    NotFound,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Turns `router`'s trial on for `minutes` once a day per device, or off (`None`); the
/// command's sequence number in the router's outbox. Callers in this process wake the
/// router's session (`Hub::wake`); others reach it through the outbox watcher.
pub async fn set_trial(store: &dyn Store, router: RouterId, minutes: Option<u32>) -> Result<Seq, TrialError> {
    if minutes.is_some_and(|m| !TRIAL_MINUTES.contains(&m)) {
        return Err(TrialError::Minutes);
    }
    let found = store.router(router).await?.filter(|r| r.revoked_at.is_none()).ok_or(TrialError::NotFound)?;
    let command = Command::SetHotspotTrial { trial: minutes.map(HotspotTrial::daily) };
    let seq = store.set_trial(found.id, minutes, &command, now_ms()).await.map_err(|e| match e {
        StoreError::NotFound(_) => TrialError::NotFound,
        other => TrialError::Store(other),
    })?;
    tracing::info!(router = %router, minutes = ?minutes, seq = seq.0, "free trial set");
    Ok(seq)
}
