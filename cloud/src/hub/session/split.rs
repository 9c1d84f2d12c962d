//! A batch of users in one command (protocol 4) met by an agent of an older protocol: the
//! outbox splits it into one command per user (see `store/sql/split.rs`), and delivery
//! goes on with those.

use jasiyo_shared::{Command, Seq};

use super::{End, Session};
use crate::store::now_ms;

/// Whether `command` must be split before an agent speaking `protocol` can take it.
pub(super) fn needed(command: &Command, protocol: u16) -> bool {
    matches!(command, Command::UpsertHotspotUsers { .. }) && protocol < command.protocol()
}

impl Session<'_> {
    /// Splits the batch numbered `seq`; `true` when there is something new to deliver.
    pub(super) async fn split(&mut self, seq: Seq) -> Result<bool, End> {
        let split = self.hub.store.split_command(self.router, seq, self.protocol, now_ms()).await?;
        match split {
            Some(split) => {
                tracing::info!(
                    router = %self.router,
                    seq = seq.0,
                    protocol = self.protocol,
                    first = split.first.0,
                    commands = split.count,
                    moved = split.moved,
                    "a batch of users was split into single commands for an agent of an older protocol"
                );
                Ok(true)
            }
            // Finished meanwhile (by another instance's session): read on past it.
            None => {
                self.cursor = Some(seq);
                Ok(true)
            }
        }
    }
}
