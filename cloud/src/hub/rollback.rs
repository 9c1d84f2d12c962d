//! Sequence numbers that went back: after a database restore or a failover to a replica
//! that lagged, a router's counter can be behind the commands its agent already holds. New
//! commands would then reuse numbers the agent knows under other command ids, and the agent
//! would take them for repeats. On every hello the agent reports its journal's highest
//! number and the counter is moved past it, so new commands get numbers it has never seen.
//! Commands numbered at or below it while the counter was behind (between the restore and
//! the hello) are refused by the agent as conflicts ([`jasiyo_shared::SEQUENCE_CONFLICT`]),
//! not silently taken for others; the cloud then gives each a fresh number and delivers it
//! again ([`renumber`]), so a paid customer's user is still created.
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

/// The agent's journal position as its hello said it, if plausible: the session's start
/// moves the router's counter past it ([`crate::store::Store::routers_connected`]).
pub(super) fn believed(router: RouterId, journal_high: Option<Seq>) -> Option<Seq> {
    let high = journal_high?;
    if high.0 > MAX_BELIEVED {
        tracing::warn!(router = %router, journal_high = high.0, "implausible journal position ignored");
        return None;
    }
    Some(high)
}

/// Says that the counter was behind the agent's journal and was moved.
pub(super) fn moved(router: RouterId, journal_high: Seq) {
    tracing::warn!(
        router = %router,
        journal_high = journal_high.0,
        "the agent's journal is ahead of the database (restored or failed over?): new commands are numbered past it"
    );
}

/// The agent refused the command numbered `seq` as a conflict: it gets the router's next
/// number and is delivered again. Returns the new number (`None`: nothing unfinished there).
pub(super) async fn renumber(hub: &Hub, router: RouterId, seq: Seq) -> StoreResult<Option<Seq>> {
    let renumbered = hub.store.renumber_command(router, seq).await?;
    match renumbered {
        Some(new) => {
            tracing::warn!(router = %router, seq = seq.0, new = new.0, "a command numbered like one the agent holds is sent again under a new number")
        }
        None => tracing::warn!(router = %router, seq = seq.0, "sequence conflict for no unfinished command"),
    }
    Ok(renumbered)
}
