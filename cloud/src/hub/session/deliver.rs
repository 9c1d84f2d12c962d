//! Delivery: open commands past the cursor go to the agent until the window is full, in
//! order, each in the form the agent's protocol has; a voucher batch an older agent cannot
//! take is split first (split.rs), and a command too new for it in any form is finished
//! failed instead (too_new.rs).

use jasiyo_shared::{CloudMessage, Delivery, Seq};

use super::{End, Session, split, too_new};
use crate::store::now_ms;

impl Session<'_> {
    /// Sends open commands past the cursor until the window is full, if the router's token
    /// is still the one this session was opened with (checked at every delivery: a wake is
    /// also how a revocation or rotation elsewhere reaches this session).
    pub(super) async fn top_up(&mut self) -> Result<(), End> {
        while self.top_up_once().await? {}
        Ok(())
    }

    /// One [`Session::top_up`] round; `true` when a batch was split for an older agent
    /// (split.rs) and the commands that replaced it are to be read again.
    async fn top_up_once(&mut self) -> Result<bool, End> {
        let current = self.hub.store.router(self.router).await?;
        if !current.is_some_and(|r| r.revoked_at.is_none() && r.token_hash == self.token_hash) {
            return Err(End::TokenChanged);
        }
        let room = self.hub.config.window.saturating_sub(self.in_flight.len() as u32);
        if room == 0 {
            return Ok(false);
        }
        let commands = self.hub.store.open_commands(self.router, self.cursor, room).await?;
        let mut seqs: Vec<Seq> = Vec::with_capacity(commands.len());
        let mut split = None;
        // Send first, record after: the state is for people, and the write must not delay
        // the delivery (delivery is at-least-once whatever the record says).
        for stored in commands {
            if split::needed(&stored.command, self.protocol) {
                split = Some(stored.seq);
                break;
            }
            // A command newer than the agent's protocol with no older form is never sent: it
            // is finished here, failed, saying why, so the rest of the outbox flows (too_new.rs).
            if too_new::is_too_new(&stored.command, self.protocol) {
                self.finish_too_new(stored).await?;
                continue;
            }
            // An older agent gets the command in the form its protocol has (see `Command::for_protocol`).
            let delivery = Delivery { seq: stored.seq, id: stored.id, command: stored.command.for_protocol(self.protocol) };
            self.cursor = Some(stored.seq);
            self.in_flight.insert(stored.seq);
            self.enqueued.insert(stored.seq, stored.created_at);
            seqs.push(stored.seq);
            self.feed(&CloudMessage::Deliver(delivery)).await?;
        }
        if !seqs.is_empty() {
            self.flush().await?;
            self.hub.store.mark_delivered(self.router, &seqs, now_ms()).await?;
        }
        match split {
            Some(seq) => self.split(seq).await,
            None => Ok(false),
        }
    }
}
