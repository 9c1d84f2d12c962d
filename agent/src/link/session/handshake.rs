//! The start of a session: the hello in the protocol version the link speaks, the welcome,
//! and (from a protocol-2 cloud) the clock skew it lets the agent measure, kept for
//! expiries and reports and in the journal for the next start.

use jasiyo_shared::{AgentMessage, CLOCK_IN_STEP_MS, CloudMessage, Hello, Welcome, describe_skew as describe};
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::{debug, info, warn};

use super::{AGENT_VERSION, LinkError, Session, WELCOME_TIMEOUT, name};
use crate::clock::measure_skew;

/// The cloud's welcome, and the clock skew measured with it (protocol 2).
pub(super) struct Welcomed {
    pub(super) welcome: Welcome,
    /// The agent's clock minus the cloud's (ms), when the cloud sent its clock.
    pub(super) skew_ms: Option<i64>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<'_, S> {
    /// Sends the hello and waits for the welcome.
    pub(super) async fn handshake(&mut self) -> Result<Welcomed, LinkError> {
        let hello = Hello {
            protocol: self.link.protocol,
            agent_version: AGENT_VERSION.to_string(),
            journal_high: self.link.journal.high()?,
            journal_reset: self.link.journal_reset,
        };
        debug!(?hello, "saying hello");
        self.send(&AgentMessage::Hello(hello)).await?;
        let (welcome, cloud_ms) = tokio::time::timeout(WELCOME_TIMEOUT, self.await_welcome())
            .await
            .map_err(|_| LinkError::HandshakeTimeout(WELCOME_TIMEOUT))??;
        let skew_ms = cloud_ms.map(|cloud_ms| measure_skew(self.link.clock.local_ms(), cloud_ms));
        Ok(Welcomed { welcome, skew_ms })
    }

    /// Reads until the welcome or a rejection; heartbeats may come first, nothing else may.
    /// The welcome, with the cloud's clock (Unix ms) from a protocol-2 cloud.
    async fn await_welcome(&mut self) -> Result<(Welcome, Option<i64>), LinkError> {
        loop {
            match self.recv().await? {
                CloudMessage::Welcome(welcome) => return Ok((welcome, None)),
                CloudMessage::WelcomeAt(at) => return Ok((at.welcome(), Some(at.now_ms))),
                CloudMessage::Rejected(reason) => return Err(LinkError::Rejected(reason)),
                CloudMessage::Ping { nonce } => self.send(&AgentMessage::Pong { nonce }).await?,
                CloudMessage::Pong { .. } => {}
                other => return Err(LinkError::Protocol(format!("expected a welcome, got {}", name(&other)))),
            }
        }
    }

    /// Keeps a skew just measured: for expiries and reports from now on, and in the journal
    /// for a restart before the next welcome.
    pub(super) async fn on_skew(&mut self, skew_ms: i64) -> Result<(), LinkError> {
        let previous = self.link.clock.skew_ms();
        self.link.clock.set_skew_ms(skew_ms);
        if skew_ms.abs() > CLOCK_IN_STEP_MS {
            warn!(skew_ms, clock = %describe(skew_ms), "the router's clock is off; expiries and reports use the cloud's time (set up NTP on the router)");
        } else {
            info!(skew_ms, clock = %describe(skew_ms), "clock compared with the cloud's");
        }
        if (skew_ms - previous).abs() >= 1000 || self.link.journal.clock_skew_ms()?.is_none() {
            self.link.journal.off_thread(move |j| j.set_clock_skew_ms(skew_ms)).await?;
        }
        Ok(())
    }
}
