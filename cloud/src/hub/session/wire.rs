//! A session's writes to the socket (queued and flushed in batches, never waiting on a
//! peer that stopped reading for longer than the link's silence limit) and its heartbeat.

use axum::extract::ws::Message;
use futures_util::SinkExt;
use jasiyo_shared::{CloudMessage, encode};

use super::{End, Session};

impl Session<'_> {
    /// Probes an agent that has gone quiet; ends the session of one silent too long.
    pub(super) async fn on_tick(&mut self) -> Result<(), End> {
        let silent = self.last_heard.elapsed();
        if silent >= self.hub.config.stale_after() {
            return Err(End::Silent);
        }
        if silent >= self.hub.config.heartbeat {
            // The agent pings every heartbeat; probe only when it has gone quiet.
            self.nonce += 1;
            self.send(&CloudMessage::Ping { nonce: self.nonce }).await?;
        }
        Ok(())
    }

    pub(super) async fn send(&mut self, message: &CloudMessage) -> Result<(), End> {
        self.feed(message).await?;
        self.flush().await
    }

    /// Queues a message; it goes out at the next [`Session::flush`] (or when the buffer
    /// fills), so a batch of deliveries or acknowledgements is one write to the socket.
    pub(super) async fn feed(&mut self, message: &CloudMessage) -> Result<(), End> {
        let frame = encode(message).map_err(End::Frame)?;
        let feed = self.socket.feed(Message::Binary(frame.into()));
        // A peer that stops reading must not hold the session for ever.
        match tokio::time::timeout(self.hub.config.stale_after(), feed).await {
            Ok(fed) => fed.map_err(End::Link),
            Err(_) => Err(End::Silent),
        }
    }

    pub(super) async fn flush(&mut self) -> Result<(), End> {
        match tokio::time::timeout(self.hub.config.stale_after(), self.socket.flush()).await {
            Ok(flushed) => flushed.map_err(End::Link),
            Err(_) => Err(End::Silent),
        }
    }
}
