//! Data used per hotspot user, for a protocol-2 cloud: the totals that changed since they
//! were last sent on this connection (all of them on a new one), at most
//! [`MAX_USAGE_PER_MESSAGE`] per message. A user that has used nothing yet is not sent until
//! it has: a router loaded with 5,000 fresh voucher codes would otherwise send 25 messages
//! of zeros on every connection, which the cloud writes row by row. A device on the free
//! trial (`T-<MAC>`, whose counters are not read) is sent once per connection at zero: its
//! session is what the cloud counts.

use jasiyo_shared::{AgentMessage, MAX_USAGE_PER_MESSAGE, TRIAL_USER_PREFIX, UserUsage};
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::debug;

use super::{LinkError, Session};

impl<S: AsyncRead + AsyncWrite + Unpin> Session<'_, S> {
    /// Sends the counters that changed since this connection last sent them.
    pub(super) async fn send_usage(&mut self) -> Result<(), LinkError> {
        let current = self.link.usage.borrow_and_update().clone();
        let changed: Vec<UserUsage> = current
            .into_iter()
            .filter(|u| match self.usage_sent.get(&u.name).copied() {
                None if u.name.starts_with(TRIAL_USER_PREFIX) => true,
                sent => sent.unwrap_or((0, 0)) != (u.bytes_in, u.bytes_out),
            })
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        debug!(users = changed.len(), "reporting data used");
        for chunk in changed.chunks(MAX_USAGE_PER_MESSAGE) {
            self.feed(&AgentMessage::Usage(chunk.to_vec())).await?;
        }
        self.flush().await?;
        for u in changed {
            self.usage_sent.insert(u.name, (u.bytes_in, u.bytes_out));
        }
        Ok(())
    }
}
