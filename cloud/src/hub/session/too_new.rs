//! Commands newer than the agent: a command whose protocol is above the agent's, with no
//! older form (see `Command::for_protocol`), is never sent to it. It is finished here as
//! failed, saying why, so that the owner sees it and the rest of the outbox flows.

use super::{End, Session, result_label};
use crate::hub::HubEvent;
use crate::model::StoredCommand;
use crate::store::now_ms;
use jasiyo_shared::Outcome;

/// Why a command was not sent to an agent of an older protocol.
pub fn too_new_message(needs: u16, agent: u16) -> String {
    format!("the router's agent speaks protocol {agent} and this command needs protocol {needs}: update the agent, then set it again")
}

/// Whether `command` is newer than an agent speaking `protocol` can take, in any form. (A
/// voucher batch is not: an older agent gets it split into single users, split.rs.)
pub fn is_too_new(command: &jasiyo_shared::Command, protocol: u16) -> bool {
    command.protocol() > protocol
        && command.clone().for_protocol(protocol).protocol() > protocol
        && !matches!(command, jasiyo_shared::Command::UpsertHotspotUsers { .. })
}

impl Session<'_> {
    /// Records `stored` failed, without sending it, and moves the cursor past it.
    pub(super) async fn finish_too_new(&mut self, stored: StoredCommand) -> Result<(), End> {
        self.cursor = Some(stored.seq);
        let outcome = Outcome::Failed { message: too_new_message(stored.command.protocol(), self.protocol) };
        let recorded = self.hub.store.record_result(self.router, stored.seq, &outcome, now_ms()).await?;
        tracing::warn!(
            seq = stored.seq.0,
            kind = stored.command.kind(),
            protocol = self.protocol,
            "command too new for the agent; not sent"
        );
        self.hub.metrics().hub().command_result(result_label(&outcome, recorded));
        self.hub.emit(HubEvent::Result(self.router, stored.seq));
        Ok(())
    }
}
