//! Unsold codes past their batch's valid-until leave the routers: the cloud refuses them on
//! the portal at once, but the router itself would still log a device in with one through
//! its own login page. A job removes them a grace period after valid-until (time for a
//! use made on the router while the cloud was away to be reported; a code reported used is
//! in use, not unsold, and stays), in steps, through the routers' outboxes.

use std::sync::Arc;
use std::time::Duration;

use jasiyo_shared::Command;
use tokio_util::sync::CancellationToken;

use crate::hub::Hub;
use crate::model::VoucherCode;
use crate::store::{StoreResult, now_ms};

/// How long after valid-until an unsold code is removed from the routers.
pub const GRACE_SECS: i64 = 86_400;
/// Codes removed per step (each a command per router).
const STEP: u32 = 500;
/// How often the job looks.
const EVERY: Duration = Duration::from_secs(600);

/// One step: removes up to [`STEP`] expired unsold codes from their routers (as of `now_ms`)
/// and wakes those routers' sessions; how many codes.
pub async fn remove_expired_once(hub: &Hub, now_ms: i64) -> StoreResult<usize> {
    let removal = |code: &VoucherCode| vec![Command::RemoveHotspotUser { name: code.as_str().to_string() }];
    let (codes, routers) = hub.store().remove_expired_vouchers(now_ms / 1000 - GRACE_SECS, STEP, &removal, now_ms).await?;
    for router in &routers {
        hub.wake(*router);
    }
    if !codes.is_empty() {
        tracing::info!(codes = codes.len(), routers = routers.len(), "expired unsold vouchers removed from the routers");
    }
    Ok(codes.len())
}

/// Runs [`remove_expired_once`] every [`EVERY`] (and again at once while a step was full)
/// until `stop`.
pub async fn run(hub: Arc<Hub>, stop: CancellationToken) {
    let mut every = tokio::time::interval(EVERY);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = every.tick() => {}
        }
        loop {
            match remove_expired_once(&hub, now_ms()).await {
                Ok(n) if n == STEP as usize && !stop.is_cancelled() => continue,
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(%error, "could not remove expired vouchers");
                    break;
                }
            }
        }
    }
}
