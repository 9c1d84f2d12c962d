//! Sequence numbers that went back: after a database restore or a failover to a replica
//! that lagged, a router's counter can be behind the commands its agent already holds. New
//! commands would then reuse numbers the agent knows under other command ids, and the agent
//! would take them for repeats. On every hello the agent reports its journal's highest
//! number and the counter is moved past it, so new commands get numbers it has never seen.
//! Commands numbered at or below it while the counter was behind are refused by the agent
//! as conflicts (recorded as failed with [`jasiyo_shared::SEQUENCE_CONFLICT`]), not
//! silently taken for others.
//!
//! What protocol 1 cannot tell apart: a result the agent still holds unacknowledged from
//! before the restore, for a number the cloud has since given to a new command, carries
//! only the number, so it would be stored as the new command's. Results naming their
//! command id need protocol 2.

use jasiyo_shared::{RouterId, Seq};

use super::Hub;
use crate::store::StoreResult;

/// The highest journal position believed: a larger one would be an agent trying to exhaust
/// its router's counter (stored as a signed 64-bit number).
const MAX_BELIEVED: u64 = 1 << 48;

/// Moves the router's sequence counter past `journal_high` if it is behind; returns whether
/// it was.
pub(super) async fn move_past(hub: &Hub, router: RouterId, journal_high: Seq) -> StoreResult<bool> {
    if journal_high.0 > MAX_BELIEVED {
        tracing::warn!(router = %router, journal_high = journal_high.0, "implausible journal position ignored");
        return Ok(false);
    }
    let moved = hub.store.advance_seq(router, journal_high).await?;
    if moved {
        tracing::warn!(
            router = %router,
            journal_high = journal_high.0,
            "the agent's journal is ahead of the database (restored or failed over?): new commands are numbered past it"
        );
    }
    Ok(moved)
}
